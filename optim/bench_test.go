package optim

import (
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// benchOptimizers are the configurations benchmarked and checked for
// allocations: every algorithm on its most expensive path.
var benchOptimizers = []optCase{
	{"SGD", func(p []*nn.Param) Optimizer { return NewSGD(p, SGDConfig{LR: 1e-3}) }},
	{"SGDMomentum", func(p []*nn.Param) Optimizer {
		return NewSGD(p, SGDConfig{LR: 1e-3, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4})
	}},
	{"Adam", func(p []*nn.Param) Optimizer { return NewAdam(p, AdamConfig{}) }},
	{"AdamAMSGrad", func(p []*nn.Param) Optimizer { return NewAdam(p, AdamConfig{AMSGrad: true}) }},
	{"AdamW", func(p []*nn.Param) Optimizer { return NewAdamW(p, AdamWConfig{}) }},
	{"RMSprop", func(p []*nn.Param) Optimizer { return NewRMSprop(p, RMSpropConfig{}) }},
	{"RMSpropCenteredMomentum", func(p []*nn.Param) Optimizer {
		return NewRMSprop(p, RMSpropConfig{Momentum: 0.9, Centered: true})
	}},
	{"Adagrad", func(p []*nn.Param) Optimizer { return NewAdagrad(p, AdagradConfig{}) }},
}

// benchParams returns a 1000×1000 weight and a 1000 bias with gradients.
func benchParams(n int) []*nn.Param {
	r := rand.New(rand.NewPCG(1, 2))
	w := &nn.Param{Var: autograd.NewVar(tensor.RandN(r, 0, 0.1, n, n)), Name: "weight"}
	b := &nn.Param{Var: autograd.NewVar(tensor.RandN(r, 0, 0.1, n)), Name: "bias"}
	for _, p := range []*nn.Param{w, b} {
		p.BackwardWith(tensor.RandN(r, 0, 1, p.Shape()...))
	}
	return []*nn.Param{w, b}
}

// BenchmarkStep measures one Step over 1M+1000 float32 parameters.
func BenchmarkStep(b *testing.B) {
	for _, c := range benchOptimizers {
		b.Run(c.name, func(b *testing.B) {
			params := benchParams(1000)
			opt := c.build(params)
			opt.Step() // create the state
			n := params[0].Value().Size() + params[1].Value().Size()
			b.ReportAllocs()
			b.SetBytes(int64(4 * n))
			b.ResetTimer()
			for b.Loop() {
				opt.Step()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/param")
		})
	}
}

// BenchmarkClipGradNorm measures clipping 1M+1000 gradients.
func BenchmarkClipGradNorm(b *testing.B) {
	params := benchParams(1000)
	b.ReportAllocs()
	for b.Loop() {
		ClipGradNorm(params, 1)
	}
}

// TestStepAllocatesNothing checks that Step allocates nothing once every
// parameter's state exists.
func TestStepAllocatesNothing(t *testing.T) {
	for _, c := range benchOptimizers {
		params := benchParams(8)
		opt := c.build(params)
		opt.Step()
		require.Zero(t, testalloc.PerRun(10, opt.Step), c.name)
	}
	params := benchParams(8)
	require.Zero(t, testalloc.PerRun(10, func() { ClipGradNorm(params, 0.1) }))
	require.Zero(t, testalloc.PerRun(10, func() { ClipGradValue(params, 0.1) }))
}
