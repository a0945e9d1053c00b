package optim

import (
	"encoding"
	"fmt"
	"math"
)

// Scheduler changes an optimizer's learning rate as training goes on. Call
// Step once per epoch, after the epoch's optimizer steps, like PyTorch's
// scheduler.step(); LR returns the learning rate now in force.
//
// Construction takes the base LR and sets the epoch-0 value. The base LR
// is the optimizer's initial learning rate when it keeps one (every
// Optimizer of this package does; see InitialLRHolder), which is how a
// schedule built after loading an optimizer state starts from the run's
// initial rate and not from the decayed one; otherwise it is the
// optimizer's learning rate, which is then recorded as the initial one.
// Every value is computed in closed form from the base LR and the epoch
// count, so a schedule never drifts and can be resumed with SetEpoch, or
// exactly with its saved state: every schedule of this package implements
// encoding.BinaryMarshaler and encoding.BinaryUnmarshaler. A schedule may
// just as well be stepped once per batch, counting "epochs" in batches.
type Scheduler interface {
	Step()
	LR() float32
}

// schedule is the epoch counter and optimizer link shared by the
// closed-form schedules; at maps an epoch to a learning rate.
type schedule struct {
	opt    LRSetter
	kind   string       // type name, for saved states
	config []schedField // configuration, for saved states
	base   float64
	epoch  int
	at     func(base float64, epoch int) float64
}

func newSchedule(opt LRSetter, kind string, config []schedField, at func(base float64, epoch int) float64) *schedule {
	base := opt.LR()
	if h, ok := opt.(InitialLRHolder); ok {
		if lr, ok := h.InitialLR(); ok {
			base = lr
		} else {
			h.SetInitialLR(base)
		}
	}
	s := &schedule{opt: opt, kind: kind, config: config, base: float64(base), at: at}
	s.SetEpoch(0)
	return s
}

// Step advances one epoch and sets the optimizer's learning rate for it.
func (s *schedule) Step() { s.SetEpoch(s.epoch + 1) }

// LR returns the learning rate for the current epoch.
func (s *schedule) LR() float32 { return float32(s.at(s.base, s.epoch)) }

// Epoch returns the number of Steps taken so far.
func (s *schedule) Epoch() int { return s.epoch }

// BaseLR returns the base learning rate: the optimizer's initial learning
// rate (see Scheduler), as taken at construction or restored by
// UnmarshalBinary.
func (s *schedule) BaseLR() float32 { return float32(s.base) }

// SetEpoch jumps to epoch e (to resume training) and sets the optimizer's
// learning rate for it. It panics if e is negative.
func (s *schedule) SetEpoch(e int) {
	if e < 0 {
		panic(fmt.Sprintf("optim: schedule epoch %d is negative", e))
	}
	s.epoch = e
	s.opt.SetLR(s.LR())
}

// StepLR multiplies the learning rate by Gamma every StepSize epochs:
//
//	lr(e) = base · γ^⌊e / StepSize⌋
type StepLR struct{ *schedule }

// NewStepLR returns a StepLR schedule driving opt. A zero gamma selects
// PyTorch's default 0.1. It panics unless stepSize > 0 and gamma >= 0.
func NewStepLR(opt LRSetter, stepSize int, gamma float64) *StepLR {
	if stepSize <= 0 {
		panic(fmt.Sprintf("optim.NewStepLR: stepSize %d must be positive", stepSize))
	}
	gamma = resolve("NewStepLR", "gamma", gamma, 0.1)
	cfg := []schedField{{"step_size", float64(stepSize)}, {"gamma", gamma}}
	return &StepLR{newSchedule(opt, "StepLR", cfg, func(base float64, e int) float64 {
		return base * math.Pow(gamma, float64(e/stepSize))
	})}
}

// ExponentialLR multiplies the learning rate by Gamma every epoch:
//
//	lr(e) = base · γ^e
type ExponentialLR struct{ *schedule }

// NewExponentialLR returns an ExponentialLR schedule driving opt. It panics
// unless gamma > 0.
func NewExponentialLR(opt LRSetter, gamma float64) *ExponentialLR {
	if !(gamma > 0) {
		panic(fmt.Sprintf("optim.NewExponentialLR: gamma %v must be positive", gamma))
	}
	cfg := []schedField{{"gamma", gamma}}
	return &ExponentialLR{newSchedule(opt, "ExponentialLR", cfg, func(base float64, e int) float64 {
		return base * math.Pow(gamma, float64(e))
	})}
}

// CosineAnnealingLR anneals the learning rate from base to etaMin along a
// half cosine over tMax epochs (PyTorch's CosineAnnealingLR, closed form):
//
//	lr(e) = η_min + (base − η_min) · (1 + cos(π·e/T_max)) / 2
//
// Past T_max the cosine continues, rising again, as in PyTorch.
type CosineAnnealingLR struct{ *schedule }

// NewCosineAnnealingLR returns a CosineAnnealingLR schedule driving opt. It
// panics unless tMax > 0 and etaMin >= 0.
func NewCosineAnnealingLR(opt LRSetter, tMax int, etaMin float64) *CosineAnnealingLR {
	if tMax <= 0 || etaMin < 0 {
		panic(fmt.Sprintf("optim.NewCosineAnnealingLR: need tMax > 0 and etaMin >= 0, got %d and %v", tMax, etaMin))
	}
	cfg := []schedField{{"t_max", float64(tMax)}, {"eta_min", etaMin}}
	return &CosineAnnealingLR{newSchedule(opt, "CosineAnnealingLR", cfg, func(base float64, e int) float64 {
		return cosine(base, etaMin, float64(e)/float64(tMax))
	})}
}

func cosine(base, etaMin, frac float64) float64 {
	return etaMin + (base-etaMin)*(1+math.Cos(math.Pi*frac))/2
}

// WarmupCosineConfig configures NewWarmupCosine.
type WarmupCosineConfig struct {
	// Warmup is the number of warm-up epochs (may be 0).
	Warmup int
	// Total is the epoch at which the cosine reaches EtaMin; it must
	// exceed Warmup.
	Total int
	// StartFactor is the fraction of the base LR used at epoch 0. Zero
	// selects PyTorch LinearLR's default 1/3; use Zero to start from 0.
	StartFactor float64
	// EtaMin is the final learning rate (default 0).
	EtaMin float64
}

// WarmupCosine ramps the learning rate linearly for Warmup epochs, then
// anneals it along a half cosine until Total, like PyTorch's
// SequentialLR(LinearLR(StartFactor, Warmup), CosineAnnealingLR(Total −
// Warmup, EtaMin), milestones=[Warmup]):
//
//	lr(e) = base · (f + (1−f)·e/W)                                   e < W
//	lr(e) = η_min + (base − η_min) · (1 + cos(π·(e−W)/(T−W))) / 2    W ≤ e ≤ T
//	lr(e) = η_min                                                    e > T
//
// Unlike a bare cosine it stays at EtaMin after Total.
type WarmupCosine struct{ *schedule }

// NewWarmupCosine returns a WarmupCosine schedule driving opt. It panics on
// an invalid configuration.
func NewWarmupCosine(opt LRSetter, cfg WarmupCosineConfig) *WarmupCosine {
	const op = "NewWarmupCosine"
	f := resolve(op, "StartFactor", cfg.StartFactor, 1.0/3)
	etaMin := resolve(op, "EtaMin", cfg.EtaMin, 0)
	w, t := cfg.Warmup, cfg.Total
	if w < 0 || t <= w || f > 1 {
		panic(fmt.Sprintf("optim.NewWarmupCosine: need 0 <= Warmup < Total and StartFactor <= 1, got Warmup %d, Total %d, StartFactor %v", w, t, f))
	}
	conf := []schedField{{"warmup", float64(w)}, {"total", float64(t)}, {"start_factor", f}, {"eta_min", etaMin}}
	return &WarmupCosine{newSchedule(opt, "WarmupCosine", conf, func(base float64, e int) float64 {
		switch {
		case e < w:
			return base * (f + (1-f)*float64(e)/float64(w))
		case e > t:
			return etaMin
		}
		return cosine(base, etaMin, float64(e-w)/float64(t-w))
	})}
}

var (
	_ encoding.BinaryMarshaler   = (*StepLR)(nil)
	_ encoding.BinaryUnmarshaler = (*StepLR)(nil)
	_ encoding.BinaryMarshaler   = (*ExponentialLR)(nil)
	_ encoding.BinaryUnmarshaler = (*ExponentialLR)(nil)
	_ encoding.BinaryMarshaler   = (*CosineAnnealingLR)(nil)
	_ encoding.BinaryUnmarshaler = (*CosineAnnealingLR)(nil)
	_ encoding.BinaryMarshaler   = (*WarmupCosine)(nil)
	_ encoding.BinaryUnmarshaler = (*WarmupCosine)(nil)
	_ encoding.BinaryMarshaler   = (*ReduceLROnPlateau)(nil)
	_ encoding.BinaryUnmarshaler = (*ReduceLROnPlateau)(nil)
)
