package optim

import (
	"fmt"
	"math"
)

// PlateauMode says whether a monitored metric should go down or up.
type PlateauMode int

// Plateau modes.
const (
	// Min treats a lower metric as better (a loss).
	Min PlateauMode = iota
	// Max treats a higher metric as better (an accuracy).
	Max
)

// ThresholdMode says how ReduceLROnPlateau measures a significant
// improvement.
type ThresholdMode int

// Threshold modes.
const (
	// Rel needs an improvement by a fraction Threshold of the best value.
	Rel ThresholdMode = iota
	// Abs needs an improvement by Threshold itself.
	Abs
)

// PlateauConfig configures NewReduceLROnPlateau. Zero fields take PyTorch's
// defaults: Mode Min, Factor 0.1, Patience 10, Threshold 1e-4,
// ThresholdMode Rel, Cooldown 0, MinLR 0, Eps 1e-8. Use Zero for an
// explicit zero Patience or Threshold.
type PlateauConfig struct {
	Mode PlateauMode
	// Factor multiplies the learning rate on a reduction; it must be < 1.
	Factor float64
	// Patience is the number of epochs without improvement tolerated; the
	// learning rate drops on the next one.
	Patience int
	// Threshold is the smallest improvement that counts.
	Threshold     float64
	ThresholdMode ThresholdMode
	// Cooldown is the number of epochs after a reduction during which bad
	// epochs are not counted.
	Cooldown int
	// MinLR is the floor below which the learning rate is never reduced.
	MinLR float64
	// Eps is the smallest change worth making: a reduction smaller than
	// Eps is skipped.
	Eps float64
}

// ReduceLROnPlateau lowers the learning rate when a metric has stopped
// improving, with PyTorch's semantics. On each Step(metric):
//
//	if metric is better than best (by Threshold, see ThresholdMode):
//	    best ← metric; bad ← 0
//	else:
//	    bad ← bad + 1
//	if in cooldown: cooldown ← cooldown − 1; bad ← 0
//	if bad > Patience:
//	    lr ← max(lr·Factor, MinLR)   (skipped if the change is ≤ Eps)
//	    cooldown ← Cooldown; bad ← 0
//
// "Better" is metric < best·(1−Threshold) in Min/Rel mode, metric < best −
// Threshold in Min/Abs, metric > best·(1+Threshold) in Max/Rel and metric >
// best + Threshold in Max/Abs. A NaN metric is never better.
type ReduceLROnPlateau struct {
	opt   LRSetter
	cfg   PlateauConfig
	state PlateauState
}

// PlateauState is the resumable state of a ReduceLROnPlateau.
type PlateauState struct {
	Best            float64 // best metric so far (±Inf before the first Step)
	NumBadEpochs    int     // epochs since the last improvement
	CooldownCounter int     // cooldown epochs left
	Epoch           int     // number of Steps taken
}

// NewReduceLROnPlateau returns a ReduceLROnPlateau driving opt. It panics on
// an invalid configuration.
func NewReduceLROnPlateau(opt LRSetter, cfg PlateauConfig) *ReduceLROnPlateau {
	const op = "NewReduceLROnPlateau"
	cfg.Factor = resolve(op, "Factor", cfg.Factor, 0.1)
	cfg.Patience = resolve(op, "Patience", cfg.Patience, 10)
	cfg.Threshold = resolve(op, "Threshold", cfg.Threshold, 1e-4)
	cfg.Cooldown = resolve(op, "Cooldown", cfg.Cooldown, 0)
	cfg.MinLR = resolve(op, "MinLR", cfg.MinLR, 0)
	cfg.Eps = resolve(op, "Eps", cfg.Eps, 1e-8)
	if cfg.Factor >= 1 {
		panic(fmt.Sprintf("optim.NewReduceLROnPlateau: Factor %v must be < 1", cfg.Factor))
	}
	if cfg.Mode != Min && cfg.Mode != Max {
		panic(fmt.Sprintf("optim.NewReduceLROnPlateau: unknown mode %d", cfg.Mode))
	}
	if cfg.ThresholdMode != Rel && cfg.ThresholdMode != Abs {
		panic(fmt.Sprintf("optim.NewReduceLROnPlateau: unknown threshold mode %d", cfg.ThresholdMode))
	}
	r := &ReduceLROnPlateau{opt: opt, cfg: cfg}
	r.state.Best = r.worst()
	return r
}

func (r *ReduceLROnPlateau) worst() float64 {
	if r.cfg.Mode == Min {
		return math.Inf(1)
	}
	return math.Inf(-1)
}

// Config returns the configuration with defaults filled in.
func (r *ReduceLROnPlateau) Config() PlateauConfig { return r.cfg }

// State returns the resumable state.
func (r *ReduceLROnPlateau) State() PlateauState { return r.state }

// SetState restores a state returned by State.
func (r *ReduceLROnPlateau) SetState(s PlateauState) { r.state = s }

// LR returns the optimizer's current learning rate.
func (r *ReduceLROnPlateau) LR() float32 { return r.opt.LR() }

// Step records the epoch's metric and lowers the learning rate if the
// metric has not improved for more than Patience epochs.
func (r *ReduceLROnPlateau) Step(metric float64) {
	s := &r.state
	s.Epoch++
	if r.better(metric) {
		s.Best = metric
		s.NumBadEpochs = 0
	} else {
		s.NumBadEpochs++
	}
	if s.CooldownCounter > 0 {
		s.CooldownCounter--
		s.NumBadEpochs = 0
	}
	if s.NumBadEpochs > r.cfg.Patience {
		old := float64(r.opt.LR())
		lr := math.Max(old*r.cfg.Factor, r.cfg.MinLR)
		if old-lr > r.cfg.Eps {
			r.opt.SetLR(float32(lr))
		}
		s.CooldownCounter = r.cfg.Cooldown
		s.NumBadEpochs = 0
	}
}

func (r *ReduceLROnPlateau) better(a float64) bool {
	best, th := r.state.Best, r.cfg.Threshold
	switch {
	case r.cfg.Mode == Min && r.cfg.ThresholdMode == Rel:
		return a < best*(1-th)
	case r.cfg.Mode == Min:
		return a < best-th
	case r.cfg.ThresholdMode == Rel:
		return a > best*(th+1)
	default:
		return a > best+th
	}
}

// fields returns the configuration and state of r, as saved.
func (r *ReduceLROnPlateau) fields() []schedField {
	c, s := r.cfg, r.state
	return []schedField{
		{"mode", float64(c.Mode)}, {"factor", c.Factor}, {"patience", float64(c.Patience)},
		{"threshold", c.Threshold}, {"threshold_mode", float64(c.ThresholdMode)},
		{"cooldown", float64(c.Cooldown)}, {"min_lr", c.MinLR}, {"eps", c.Eps},
		{"best", s.Best}, {"num_bad_epochs", float64(s.NumBadEpochs)},
		{"cooldown_counter", float64(s.CooldownCounter)}, {"epoch", float64(s.Epoch)},
	}
}

// plateauConfigFields is the number of configuration fields in fields.
const plateauConfigFields = 8

// MarshalBinary returns the schedule's configuration and state (see
// PlateauState). The learning rate itself belongs to the optimizer's
// state.
func (r *ReduceLROnPlateau) MarshalBinary() ([]byte, error) {
	return encodeSched("ReduceLROnPlateau", r.fields()), nil
}

// UnmarshalBinary restores a state saved by MarshalBinary into a
// ReduceLROnPlateau built with the same configuration. It checks that the
// state could have been reached: Best is not NaN (and is the worst value,
// ±Inf, before the first Step), NumBadEpochs lies in [0, Patience] and
// does not exceed Epoch, CooldownCounter lies in [0, Cooldown], and the
// counts are integers. On error nothing changes. It leaves the
// optimizer's learning rate alone.
func (r *ReduceLROnPlateau) UnmarshalBinary(data []byte) error {
	const kind = "ReduceLROnPlateau"
	vals, err := decodeSched(kind, data, r.fields(), plateauConfigFields)
	if err != nil {
		return err
	}
	v := vals[plateauConfigFields:]
	best := v[0]
	if math.IsNaN(best) {
		return fmt.Errorf("optim: load %s state: best is NaN", kind)
	}
	bad, err := loadCount(kind, "num_bad_epochs", v[1], r.cfg.Patience)
	if err != nil {
		return err
	}
	cool, err := loadCount(kind, "cooldown_counter", v[2], r.cfg.Cooldown)
	if err != nil {
		return err
	}
	epoch, err := loadCount(kind, "epoch", v[3], min(maxEpoch, math.MaxInt))
	if err != nil {
		return err
	}
	if bad > epoch {
		return fmt.Errorf("optim: load %s state: num_bad_epochs %d exceeds epoch %d", kind, bad, epoch)
	}
	if epoch == 0 && (best != r.worst() || cool != 0) {
		return fmt.Errorf("optim: load %s state: best %v and cooldown_counter %d before the first step, want %v and 0",
			kind, best, cool, r.worst())
	}
	r.state = PlateauState{Best: best, NumBadEpochs: bad, CooldownCounter: cool, Epoch: epoch}
	return nil
}
