package optim

import (
	"math"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/stretchr/testify/require"
)

// The tests in this file run three steps of each optimizer on two small
// parameters with fixed gradients and compare against the update rule
// written out in float64.

var (
	p0 = [][]float64{{1.0, -2.0, 0.5}, {0.25, -0.75}}
	// grads[t][k] is the gradient of parameter k at step t+1. The second
	// step's gradient is much smaller than the first so that AMSGrad's
	// running maximum differs from the second moment.
	grads = [][][]float64{
		{{0.5, -1.5, 2.0}, {3.0, -0.1}},
		{{0.01, 0.02, -0.03}, {-0.02, 0.001}},
		{{-0.2, 0.7, 1.0}, {0.4, -0.3}},
	}
)

func f32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// ref is a float64 reference optimizer: it updates p in place given the
// gradient g of one parameter, its state s (allocated by the caller, zero)
// and the step count t (from 1).
type ref func(t int, p, g []float64, s [][]float64)

// checkRule runs opt (built over fresh parameters) and r side by side for
// three steps and compares the parameters after each step.
func checkRule(t *testing.T, build func([]*nn.Param) Optimizer, r ref, nslots int, init float64) {
	t.Helper()
	params := []*nn.Param{newParam("a", f32s(p0[0])...), newParam("b", f32s(p0[1])...)}
	opt := build(params)
	want := make([][]float64, len(p0))
	state := make([][][]float64, len(p0))
	for k := range p0 {
		want[k] = append([]float64(nil), p0[k]...)
		state[k] = make([][]float64, nslots)
		for j := range state[k] {
			state[k][j] = make([]float64, len(p0[k]))
			for i := range state[k][j] {
				state[k][j][i] = init
			}
		}
	}
	for step := 1; step <= 3; step++ {
		for k, p := range params {
			setGrad(p, f32s(grads[step-1][k])...)
			r(step, want[k], grads[step-1][k], state[k])
		}
		opt.Step()
		for k, p := range params {
			requireClose(t, want[k], p.Value().Data(), 1e-6, "step %d param %d", step, k)
		}
	}
}

func TestSGDRule(t *testing.T) {
	cases := []struct {
		name string
		cfg  SGDConfig
	}{
		{"plain", SGDConfig{LR: 0.1}},
		{"weight decay", SGDConfig{LR: 0.1, WeightDecay: 0.1}},
		{"momentum", SGDConfig{LR: 0.1, Momentum: 0.9}},
		{"dampening", SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.5, WeightDecay: 0.01}},
		{"nesterov", SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lr, mu, tau, wd := float64(c.cfg.LR), float64(c.cfg.Momentum), float64(c.cfg.Dampening), float64(c.cfg.WeightDecay)
			r := func(step int, p, g []float64, s [][]float64) {
				for i := range p {
					d := g[i] + wd*p[i]
					if mu != 0 {
						if step == 1 {
							s[0][i] = d
						} else {
							s[0][i] = mu*s[0][i] + (1-tau)*d
						}
						if c.cfg.Nesterov {
							d += mu * s[0][i]
						} else {
							d = s[0][i]
						}
					}
					p[i] -= lr * d
				}
			}
			checkRule(t, func(ps []*nn.Param) Optimizer { return NewSGD(ps, c.cfg) }, r, 1, 0)
		})
	}
}

// adamRef is Adam's rule; decoupled selects AdamW.
func adamRef(lr, b1, b2, eps, wd float64, amsgrad, decoupled bool) ref {
	return func(step int, p, g []float64, s [][]float64) {
		m, v := s[0], s[1]
		bc1 := 1 - math.Pow(b1, float64(step))
		bc2 := 1 - math.Pow(b2, float64(step))
		for i := range p {
			gi := g[i]
			if decoupled {
				p[i] -= lr * wd * p[i]
			} else {
				gi += wd * p[i]
			}
			m[i] = b1*m[i] + (1-b1)*gi
			v[i] = b2*v[i] + (1-b2)*gi*gi
			vv := v[i]
			if amsgrad {
				s[2][i] = math.Max(s[2][i], v[i])
				vv = s[2][i]
			}
			p[i] -= lr / bc1 * m[i] / (math.Sqrt(vv)/math.Sqrt(bc2) + eps)
		}
	}
}

func TestAdamRule(t *testing.T) {
	cases := []struct {
		name    string
		cfg     AdamConfig
		b1, wd  float64
		nslots  int
		adamW   bool
		amsgrad bool
	}{
		{name: "defaults", cfg: AdamConfig{}, b1: 0.9, nslots: 2},
		{name: "lr and L2", cfg: AdamConfig{LR: 0.01, WeightDecay: 0.1}, b1: 0.9, wd: 0.1, nslots: 2},
		{name: "beta1 zero", cfg: AdamConfig{LR: 0.01, Beta1: Zero}, b1: 0, nslots: 2},
		{name: "amsgrad", cfg: AdamConfig{LR: 0.01, AMSGrad: true}, b1: 0.9, nslots: 3, amsgrad: true},
		{name: "adamw default decay", cfg: AdamConfig{LR: 0.01}, b1: 0.9, wd: 0.01, nslots: 2, adamW: true},
		{name: "adamw amsgrad", cfg: AdamConfig{LR: 0.01, WeightDecay: 0.1, AMSGrad: true}, b1: 0.9, wd: 0.1, nslots: 3, adamW: true, amsgrad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lr := float64(float32(1e-3))
			if c.cfg.LR != 0 {
				lr = float64(c.cfg.LR)
			}
			r := adamRef(lr, float64(float32(c.b1)), float64(float32(0.999)), float64(float32(1e-8)), float64(float32(c.wd)), c.amsgrad, c.adamW)
			checkRule(t, func(ps []*nn.Param) Optimizer {
				if c.adamW {
					return NewAdamW(ps, AdamWConfig(c.cfg))
				}
				return NewAdam(ps, c.cfg)
			}, r, c.nslots, 0)
		})
	}
}

// TestAdamBiasCorrection checks that Adam's first step moves every
// coordinate by almost exactly lr, whatever the gradient's scale: without
// bias correction it would move by lr·(1−β₁)/√(1−β₂) ≈ 3.16·lr.
func TestAdamBiasCorrection(t *testing.T) {
	p := newParam("p", 0, 0, 0)
	opt := NewAdam([]*nn.Param{p}, AdamConfig{LR: 0.01})
	setGrad(p, 1e-3, -5, 1e3)
	opt.Step()
	requireClose(t, []float64{-0.01, 0.01, -0.01}, p.Value().Data(), 1e-4, "first step")
}

// TestAdamWDecoupled shows the difference between L2 regularisation in Adam
// and AdamW's decoupled decay: with a zero gradient, AdamW only shrinks the
// weights by lr·λ, while Adam+L2 normalises the decay term and moves every
// weight by about lr towards zero.
func TestAdamWDecoupled(t *testing.T) {
	pw := newParam("p", 2, -4)
	pa := newParam("p", 2, -4)
	adamW := NewAdamW([]*nn.Param{pw}, AdamWConfig{LR: 0.1, WeightDecay: 0.1})
	adam := NewAdam([]*nn.Param{pa}, AdamConfig{LR: 0.1, WeightDecay: 0.1})
	setGrad(pw, 0, 0)
	setGrad(pa, 0, 0)
	adamW.Step()
	adam.Step()
	requireClose(t, []float64{2 * (1 - 0.01), -4 * (1 - 0.01)}, pw.Value().Data(), 1e-6, "AdamW")
	requireClose(t, []float64{2 - 0.1, -4 + 0.1}, pa.Value().Data(), 1e-6, "Adam+L2")
}

func TestRMSpropRule(t *testing.T) {
	cases := []struct {
		name string
		cfg  RMSpropConfig
	}{
		{"defaults", RMSpropConfig{}},
		{"alpha eps decay", RMSpropConfig{LR: 0.05, Alpha: 0.9, Eps: 1e-6, WeightDecay: 0.1}},
		{"momentum", RMSpropConfig{LR: 0.01, Momentum: 0.9}},
		{"centered", RMSpropConfig{LR: 0.01, Centered: true}},
		{"centered momentum", RMSpropConfig{LR: 0.01, Momentum: 0.5, Centered: true, WeightDecay: 0.01}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := NewRMSprop(nil, c.cfg)
			full := o.Config()
			lr, alpha, eps, wd, mu := float64(full.LR), float64(full.Alpha), float64(full.Eps), float64(full.WeightDecay), float64(full.Momentum)
			r := func(step int, p, g []float64, s [][]float64) {
				v, b, a := s[0], s[1], s[2]
				for i := range p {
					gi := g[i] + wd*p[i]
					v[i] = alpha*v[i] + (1-alpha)*gi*gi
					var d float64
					if c.cfg.Centered {
						a[i] = alpha*a[i] + (1-alpha)*gi
						d = math.Sqrt(v[i]-a[i]*a[i]) + eps
					} else {
						d = math.Sqrt(v[i]) + eps
					}
					if mu > 0 {
						b[i] = mu*b[i] + gi/d
						p[i] -= lr * b[i]
					} else {
						p[i] -= lr * gi / d
					}
				}
			}
			checkRule(t, func(ps []*nn.Param) Optimizer { return NewRMSprop(ps, c.cfg) }, r, 3, 0)
		})
	}
}

func TestAdagradRule(t *testing.T) {
	cases := []struct {
		name string
		cfg  AdagradConfig
	}{
		{"defaults", AdagradConfig{}},
		{"lr decay", AdagradConfig{LR: 0.1, LRDecay: 0.5}},
		{"initial accumulator", AdagradConfig{LR: 0.1, InitialAccumulatorValue: 0.1, WeightDecay: 0.1}},
		{"eps", AdagradConfig{LR: 0.1, Eps: 1e-3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			full := NewAdagrad(nil, c.cfg).Config()
			lr, eta, wd, eps := float64(full.LR), float64(full.LRDecay), float64(full.WeightDecay), float64(full.Eps)
			r := func(step int, p, g []float64, s [][]float64) {
				clr := lr / (1 + float64(step-1)*eta)
				for i := range p {
					gi := g[i] + wd*p[i]
					s[0][i] += gi * gi
					p[i] -= clr * gi / (math.Sqrt(s[0][i]) + eps)
				}
			}
			checkRule(t, func(ps []*nn.Param) Optimizer { return NewAdagrad(ps, c.cfg) }, r, 1, float64(full.InitialAccumulatorValue))
		})
	}
}

func TestDefaults(t *testing.T) {
	require.Equal(t, SGDConfig{LR: 1e-3}, NewSGD(nil, SGDConfig{}).Config())
	require.Equal(t, AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, NewAdam(nil, AdamConfig{}).Config())
	require.Equal(t, AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-2}, NewAdamW(nil, AdamWConfig{}).Config())
	require.Equal(t, AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, NewAdamW(nil, AdamWConfig{WeightDecay: Zero}).Config())
	require.Equal(t, RMSpropConfig{LR: 1e-2, Alpha: 0.99, Eps: 1e-8}, NewRMSprop(nil, RMSpropConfig{}).Config())
	require.Equal(t, AdagradConfig{LR: 1e-2, Eps: 1e-10}, NewAdagrad(nil, AdagradConfig{}).Config())
}

func TestInvalidConfigPanics(t *testing.T) {
	require.PanicsWithValue(t, "optim.NewAdam: LR must be >= 0 (use optim.Zero for an explicit zero), got -0.5", func() {
		NewAdam(nil, AdamConfig{LR: -0.5})
	})
	require.Panics(t, func() { NewAdam(nil, AdamConfig{Beta2: 1}) })
	require.Panics(t, func() { NewSGD(nil, SGDConfig{Nesterov: true}) })
	require.Panics(t, func() { NewSGD(nil, SGDConfig{Momentum: 0.9, Dampening: 0.1, Nesterov: true}) })
	p := newParam("p", 1)
	require.PanicsWithValue(t, `optim.NewSGD: param "p" appears in more than one group`, func() {
		NewSGD(nil, SGDConfig{}, Group{Params: []*nn.Param{p}}, Group{Params: []*nn.Param{p}})
	})
	require.Panics(t, func() { NewSGD([]*nn.Param{nil}, SGDConfig{}) })
}

func TestSkipsParamsWithoutGrad(t *testing.T) {
	a, b := newParam("a", 1), newParam("b", 1)
	opt := NewAdam([]*nn.Param{a, b}, AdamConfig{LR: 0.1})
	setGrad(a, 1)
	opt.Step()
	require.Equal(t, []float32{1}, b.Value().Data())
	require.NotEqual(t, float32(1), a.Value().Data()[0])
	s, err := opt.StateDict()
	require.NoError(t, err)
	require.Len(t, s.Params, 1)
	require.Equal(t, "a", s.Params[0].Name)
}
