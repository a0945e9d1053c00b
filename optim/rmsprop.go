package optim

import (
	"math"

	"github.com/shoshin-ml/shoshin/nn"
)

// RMSpropConfig configures NewRMSprop. Zero fields take PyTorch's defaults:
// LR 1e-2, Alpha 0.99, Eps 1e-8, WeightDecay 0, Momentum 0, Centered
// false. Use Zero for an explicit zero.
type RMSpropConfig struct {
	LR          float32
	Alpha       float32
	Eps         float32
	WeightDecay float32
	Momentum    float32
	// Centered normalises by an estimate of the gradient's variance
	// instead of its uncentered second moment.
	Centered bool
}

// RMSprop is the RMSprop optimizer (Hinton). With gradient g, parameter p,
// learning rate γ, smoothing constant α, epsilon ε, weight decay λ and
// momentum μ, one step is, as PyTorch documents it:
//
//	g ← g + λ·p
//	v ← α·v + (1−α)·g²
//	if centered:  a ← α·a + (1−α)·g;  d ← √(v − a²) + ε
//	otherwise:    d ← √v + ε
//	if μ > 0:     b ← μ·b + g/d;  p ← p − γ·b
//	otherwise:    p ← p − γ·g/d
//
// Its state slots are "square_avg" (v), "momentum_buffer" (b, when μ > 0)
// and "grad_avg" (a, when centered).
type RMSprop struct {
	*base
	cfg            RMSpropConfig
	iBuf, iGradAvg int // slot indices, -1 when absent
}

// NewRMSprop returns an RMSprop optimizer over params, with optional groups
// (see Group). It panics on an invalid configuration.
func NewRMSprop(params []*nn.Param, cfg RMSpropConfig, groups ...Group) *RMSprop {
	const op = "NewRMSprop"
	cfg.LR = resolve(op, "LR", cfg.LR, 1e-2)
	cfg.Alpha = resolve(op, "Alpha", cfg.Alpha, 0.99)
	cfg.Eps = resolve(op, "Eps", cfg.Eps, 1e-8)
	cfg.WeightDecay = resolve(op, "WeightDecay", cfg.WeightDecay, 0)
	cfg.Momentum = resolve(op, "Momentum", cfg.Momentum, 0)
	o := &RMSprop{cfg: cfg, iBuf: -1, iGradAvg: -1}
	slots := []string{"square_avg"}
	if cfg.Momentum > 0 {
		o.iBuf = len(slots)
		slots = append(slots, "momentum_buffer")
	}
	if cfg.Centered {
		o.iGradAvg = len(slots)
		slots = append(slots, "grad_avg")
	}
	o.base = newBase(op, "rmsprop", params, groups, cfg.LR, cfg.WeightDecay, slots, make([]float32, len(slots)), o)
	return o
}

// Config returns the configuration with defaults filled in.
func (o *RMSprop) Config() RMSpropConfig { return o.cfg }

func (o *RMSprop) update(lr, wd float32, st *paramState, p, g []float32) {
	n := len(p)
	g = g[:n]
	v := st.slots[0][:n]
	alpha, c, eps, mu := o.cfg.Alpha, 1-o.cfg.Alpha, o.cfg.Eps, o.cfg.Momentum
	switch {
	case o.iBuf < 0 && o.iGradAvg < 0:
		for i, gi := range g {
			gi += wd * p[i]
			vi := alpha*v[i] + c*gi*gi
			v[i] = vi
			p[i] -= lr * (gi / (sqrt32(vi) + eps))
		}
	case o.iGradAvg < 0:
		b := st.slots[o.iBuf][:n]
		for i, gi := range g {
			gi += wd * p[i]
			vi := alpha*v[i] + c*gi*gi
			v[i] = vi
			bi := mu*b[i] + gi/(sqrt32(vi)+eps)
			b[i] = bi
			p[i] -= lr * bi
		}
	default:
		a := st.slots[o.iGradAvg][:n]
		var b []float32
		if o.iBuf >= 0 {
			b = st.slots[o.iBuf][:n]
		}
		for i, gi := range g {
			gi += wd * p[i]
			vi := alpha*v[i] + c*gi*gi
			ai := alpha*a[i] + c*gi
			v[i], a[i] = vi, ai
			d := sqrt32(vi-ai*ai) + eps
			if b != nil {
				bi := mu*b[i] + gi/d
				b[i] = bi
				p[i] -= lr * bi
			} else {
				p[i] -= lr * (gi / d)
			}
		}
	}
}

// sqrt32 is a correctly rounded float32 square root.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
