package optim

import (
	"math"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/nn"
)

// AdamConfig configures NewAdam. Zero fields take PyTorch's defaults:
// LR 1e-3, Beta1 0.9, Beta2 0.999, Eps 1e-8, WeightDecay 0, AMSGrad false.
// Use Zero for an explicit zero (Beta1: optim.Zero).
type AdamConfig struct {
	LR          float32
	Beta1       float32
	Beta2       float32
	Eps         float32
	WeightDecay float32
	// AMSGrad divides by the running maximum of the second moment instead
	// of the second moment itself.
	AMSGrad bool
}

// AdamWConfig configures NewAdamW. Zero fields take PyTorch's defaults:
// LR 1e-3, Beta1 0.9, Beta2 0.999, Eps 1e-8, WeightDecay 1e-2, AMSGrad
// false. Use Zero for an explicit zero (WeightDecay: optim.Zero).
type AdamWConfig AdamConfig

// Adam is the Adam optimizer (Kingma & Ba) with bias correction, optional
// AMSGrad and coupled (L2) weight decay; AdamW is the same type with
// decoupled weight decay. With gradient g, parameter p, learning rate γ,
// betas β₁, β₂, epsilon ε, weight decay λ and t the parameter's step count
// (starting at 1), one step is, as PyTorch documents it:
//
//	g ← g + λ·p                 (Adam only)
//	p ← p − γ·λ·p               (AdamW only)
//	m ← β₁·m + (1−β₁)·g
//	v ← β₂·v + (1−β₂)·g²
//	v̂ ← max(v̂, v)               (AMSGrad; v̂ replaces v below)
//	p ← p − γ/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)
//
// Its state slots are "exp_avg" (m), "exp_avg_sq" (v) and, with AMSGrad,
// "max_exp_avg_sq" (v̂).
type Adam struct {
	*base
	cfg       AdamConfig
	decoupled bool
	job       *adamJob
}

// adamJob is one parameter's update spread over the worker pool in blocks
// of eight floats (the kernel's vector width, so that the split gives the
// same sums as one call). Its chunk function is bound once, when the job
// is made, so that a step allocates nothing.
type adamJob struct {
	p, g, m, v []float32
	a          kernel.AdamParams
	shrink     float32 // AdamW's decoupled decay, applied to each chunk first
	run        func(lo, hi int)
}

// adamParallel is the parameter size from which an update is split
// across the pool: below it the update takes less than a hand-off costs.
const adamParallel = 1 << 15

func newAdamJob() *adamJob {
	j := new(adamJob)
	j.run = func(lo, hi int) {
		lo, hi = lo*8, min(hi*8, len(j.p))
		if j.shrink != 1 {
			shrinkBy(j.shrink, j.p[lo:hi])
		}
		kernel.Adam(j.p[lo:hi], j.g[lo:hi], j.m[lo:hi], j.v[lo:hi], j.a)
	}
	return j
}

// shrinkBy multiplies every element of p by s (AdamW's decoupled weight
// decay).
func shrinkBy(s float32, p []float32) {
	for i := range p {
		p[i] *= s
	}
}

// adamStep multiplies p by shrink (when it is not 1), then runs kernel.Adam
// over it, chunk by chunk across the pool when p is large: every element
// gets the same operations in the same order either way.
func (o *Adam) adamStep(p, g, m, v []float32, a kernel.AdamParams, shrink float32) {
	n := len(p)
	if n < adamParallel || parallel.Workers() < 2 {
		if shrink != 1 {
			shrinkBy(shrink, p)
		}
		kernel.Adam(p, g, m, v, a)
		return
	}
	if o.job == nil {
		o.job = newAdamJob()
	}
	j := o.job
	j.p, j.g, j.m, j.v, j.a, j.shrink = p, g[:n], m[:n], v[:n], a, shrink
	parallel.For((n+7)/8, adamParallel/16, j.run)
	j.p, j.g, j.m, j.v = nil, nil, nil, nil
}

// NewAdam returns an Adam optimizer over params, with optional groups (see
// Group). It panics on an invalid configuration.
func NewAdam(params []*nn.Param, cfg AdamConfig, groups ...Group) *Adam {
	return newAdam("NewAdam", "adam", params, cfg, 0, false, groups)
}

// NewAdamW returns an AdamW optimizer (Loshchilov & Hutter): Adam whose
// weight decay shrinks the parameters directly instead of being added to
// the gradient. It panics on an invalid configuration.
func NewAdamW(params []*nn.Param, cfg AdamWConfig, groups ...Group) *Adam {
	return newAdam("NewAdamW", "adamw", params, AdamConfig(cfg), 1e-2, true, groups)
}

func newAdam(op, algo string, params []*nn.Param, cfg AdamConfig, defWD float32, decoupled bool, groups []Group) *Adam {
	cfg.LR = resolve(op, "LR", cfg.LR, 1e-3)
	cfg.Beta1 = resolve(op, "Beta1", cfg.Beta1, 0.9)
	cfg.Beta2 = resolve(op, "Beta2", cfg.Beta2, 0.999)
	cfg.Eps = resolve(op, "Eps", cfg.Eps, 1e-8)
	cfg.WeightDecay = resolve(op, "WeightDecay", cfg.WeightDecay, defWD)
	if cfg.Beta1 >= 1 || cfg.Beta2 >= 1 {
		panic("optim." + op + ": betas must be in [0, 1)")
	}
	o := &Adam{cfg: cfg, decoupled: decoupled}
	slots := []string{"exp_avg", "exp_avg_sq"}
	if cfg.AMSGrad {
		slots = append(slots, "max_exp_avg_sq")
	}
	o.base = newBase(op, algo, params, groups, cfg.LR, cfg.WeightDecay, slots, make([]float32, len(slots)), o)
	return o
}

// Config returns the configuration with defaults filled in.
func (o *Adam) Config() AdamConfig { return o.cfg }

func (o *Adam) update(lr, wd float32, st *paramState, p, g []float32) {
	n := len(p)
	g = g[:n]
	m, v := st.slots[0][:n], st.slots[1][:n]
	b1, b2, eps := o.cfg.Beta1, o.cfg.Beta2, o.cfg.Eps
	t := float64(st.step)
	bc1 := 1 - math.Pow(float64(b1), t)
	bc2sqrt := math.Sqrt(1 - math.Pow(float64(b2), t))
	stepSize := float32(float64(lr) / bc1)
	invBC2 := float32(1 / bc2sqrt)
	c1, c2 := 1-b1, 1-b2
	shrink := float32(1)
	if o.decoupled {
		if wd != 0 {
			shrink = 1 - lr*wd
		}
		wd = 0
	}
	if o.cfg.AMSGrad {
		if shrink != 1 {
			shrinkBy(shrink, p)
		}
		vmax := st.slots[2][:n]
		for i, gi := range g {
			gi += wd * p[i]
			mi := b1*m[i] + c1*gi
			vi := b2*v[i] + c2*gi*gi
			m[i], v[i] = mi, vi
			vm := max(vmax[i], vi)
			vmax[i] = vm
			p[i] -= stepSize * (mi / (sqrt32(vm)*invBC2 + eps))
		}
		return
	}
	o.adamStep(p, g, m, v, kernel.AdamParams{Beta1: b1, Beta2: b2, StepSize: stepSize, InvBC2: invBC2, Eps: eps, WeightDecay: wd}, shrink)
}
