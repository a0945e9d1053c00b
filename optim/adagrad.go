package optim

import "github.com/shoshin-ml/shoshin/nn"

// AdagradConfig configures NewAdagrad. Zero fields take PyTorch's defaults:
// LR 1e-2, LRDecay 0, WeightDecay 0, InitialAccumulatorValue 0, Eps 1e-10.
// Use Zero for an explicit zero.
type AdagradConfig struct {
	LR                      float32
	LRDecay                 float32
	WeightDecay             float32
	InitialAccumulatorValue float32
	Eps                     float32
}

// Adagrad is the Adagrad optimizer (Duchi et al.). With gradient g,
// parameter p, learning rate γ, learning-rate decay η, weight decay λ,
// epsilon ε and t the parameter's step count (starting at 1), one step is,
// as PyTorch documents it:
//
//	g ← g + λ·p
//	γ̃ ← γ / (1 + (t−1)·η)
//	s ← s + g²                  (s starts at InitialAccumulatorValue)
//	p ← p − γ̃·g / (√s + ε)
//
// Its state slot is "sum" (s).
type Adagrad struct {
	*base
	cfg AdagradConfig
}

// NewAdagrad returns an Adagrad optimizer over params, with optional groups
// (see Group). It panics on an invalid configuration.
func NewAdagrad(params []*nn.Param, cfg AdagradConfig, groups ...Group) *Adagrad {
	const op = "NewAdagrad"
	cfg.LR = resolve(op, "LR", cfg.LR, 1e-2)
	cfg.LRDecay = resolve(op, "LRDecay", cfg.LRDecay, 0)
	cfg.WeightDecay = resolve(op, "WeightDecay", cfg.WeightDecay, 0)
	cfg.InitialAccumulatorValue = resolve(op, "InitialAccumulatorValue", cfg.InitialAccumulatorValue, 0)
	cfg.Eps = resolve(op, "Eps", cfg.Eps, 1e-10)
	o := &Adagrad{cfg: cfg}
	o.base = newBase(op, "adagrad", params, groups, cfg.LR, cfg.WeightDecay,
		[]string{"sum"}, []float32{cfg.InitialAccumulatorValue}, o)
	return o
}

// Config returns the configuration with defaults filled in.
func (o *Adagrad) Config() AdagradConfig { return o.cfg }

func (o *Adagrad) update(lr, wd float32, st *paramState, p, g []float32) {
	n := len(p)
	g = g[:n]
	s := st.slots[0][:n]
	clr := float32(float64(lr) / (1 + float64(st.step-1)*float64(o.cfg.LRDecay)))
	eps := o.cfg.Eps
	for i, gi := range g {
		gi += wd * p[i]
		si := s[i] + gi*gi
		s[i] = si
		p[i] -= clr * (gi / (sqrt32(si) + eps))
	}
}
