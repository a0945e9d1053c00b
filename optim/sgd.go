package optim

import "github.com/shoshin-ml/shoshin/nn"

// SGDConfig configures NewSGD. Zero fields take PyTorch's defaults:
// LR 1e-3, Momentum 0, Dampening 0, WeightDecay 0, Nesterov false.
type SGDConfig struct {
	LR          float32
	Momentum    float32
	Dampening   float32
	WeightDecay float32
	// Nesterov uses Nesterov momentum; it needs Momentum > 0 and
	// Dampening 0.
	Nesterov bool
}

// SGD is stochastic gradient descent with optional momentum, dampening,
// Nesterov momentum and (coupled, L2) weight decay. With gradient g,
// parameter p, learning rate γ, momentum μ, dampening τ and weight decay λ,
// one step is, as PyTorch documents it:
//
//	g ← g + λ·p
//	if μ ≠ 0:
//	    b ← g                       on the first step
//	    b ← μ·b + (1−τ)·g           afterwards
//	    g ← g + μ·b  (Nesterov)  or  g ← b
//	p ← p − γ·g
//
// Its state slot is "momentum_buffer" (only when μ ≠ 0).
type SGD struct {
	*base
	cfg SGDConfig
}

// NewSGD returns an SGD optimizer over params, with optional groups (see
// Group). It panics on an invalid configuration.
func NewSGD(params []*nn.Param, cfg SGDConfig, groups ...Group) *SGD {
	const op = "NewSGD"
	cfg.LR = resolve(op, "LR", cfg.LR, 1e-3)
	cfg.Momentum = resolve(op, "Momentum", cfg.Momentum, 0)
	cfg.Dampening = resolve(op, "Dampening", cfg.Dampening, 0)
	cfg.WeightDecay = resolve(op, "WeightDecay", cfg.WeightDecay, 0)
	if cfg.Nesterov && (cfg.Momentum == 0 || cfg.Dampening != 0) {
		panic("optim.NewSGD: Nesterov momentum requires Momentum > 0 and Dampening 0")
	}
	o := &SGD{cfg: cfg}
	var slots []string
	if cfg.Momentum != 0 {
		slots = []string{"momentum_buffer"}
	}
	o.base = newBase(op, "sgd", params, groups, cfg.LR, cfg.WeightDecay, slots, make([]float32, len(slots)), o)
	return o
}

// Config returns the configuration with defaults filled in.
func (o *SGD) Config() SGDConfig { return o.cfg }

func (o *SGD) update(lr, wd float32, st *paramState, p, g []float32) {
	g = g[:len(p)]
	mu := o.cfg.Momentum
	if mu == 0 {
		for i, gi := range g {
			p[i] -= lr * (gi + wd*p[i])
		}
		return
	}
	buf := st.slots[0][:len(p)]
	if st.step == 1 {
		for i, gi := range g {
			d := gi + wd*p[i]
			buf[i] = d
			if o.cfg.Nesterov {
				d += mu * d
			}
			p[i] -= lr * d
		}
		return
	}
	damp := 1 - o.cfg.Dampening
	if o.cfg.Nesterov {
		for i, gi := range g {
			d := gi + wd*p[i]
			b := mu*buf[i] + damp*d
			buf[i] = b
			p[i] -= lr * (d + mu*b)
		}
		return
	}
	for i, gi := range g {
		d := gi + wd*p[i]
		b := mu*buf[i] + damp*d
		buf[i] = b
		p[i] -= lr * b
	}
}
