package optim

import (
	"math"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/stretchr/testify/require"
)

// lrBox is the smallest LRSetter.
type lrBox struct{ lr float32 }

func (b *lrBox) LR() float32      { return b.lr }
func (b *lrBox) SetLR(lr float32) { b.lr = lr }

// The tables below are PyTorch's closed forms evaluated by hand, one value
// per epoch starting at epoch 0 (the value in force after construction).
func TestSchedules(t *testing.T) {
	cases := []struct {
		name  string
		build func(LRSetter) Scheduler
		want  []float64
	}{
		{"StepLR", func(o LRSetter) Scheduler { return NewStepLR(o, 3, 0.5) },
			// 0.1 · 0.5^⌊e/3⌋
			[]float64{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025}},
		{"StepLR default gamma", func(o LRSetter) Scheduler { return NewStepLR(o, 2, 0) },
			[]float64{0.1, 0.1, 0.01, 0.01, 0.001}},
		{"ExponentialLR", func(o LRSetter) Scheduler { return NewExponentialLR(o, 0.9) },
			// 0.1 · 0.9^e
			[]float64{0.1, 0.09, 0.081, 0.0729, 0.06561}},
		{"CosineAnnealingLR", func(o LRSetter) Scheduler { return NewCosineAnnealingLR(o, 4, 0.01) },
			// 0.01 + 0.09·(1 + cos(π·e/4))/2; past T_max the cosine rises again.
			[]float64{0.1, 0.08681981, 0.055, 0.02318019, 0.01, 0.02318019, 0.055}},
		{"WarmupCosine", func(o LRSetter) Scheduler {
			return NewWarmupCosine(o, WarmupCosineConfig{Warmup: 2, Total: 6})
		},
			// 0.1·(1/3 + (2/3)·e/2) for e < 2, then 0.1·(1 + cos(π·(e−2)/4))/2, then 0.
			[]float64{0.03333333, 0.06666667, 0.1, 0.08535534, 0.05, 0.01464466, 0, 0}},
		{"WarmupCosine from zero", func(o LRSetter) Scheduler {
			return NewWarmupCosine(o, WarmupCosineConfig{Warmup: 4, Total: 6, StartFactor: Zero, EtaMin: 0.02})
		},
			// 0.1·e/4 for e < 4, then 0.02 + 0.08·(1 + cos(π·(e−4)/2))/2.
			[]float64{0, 0.025, 0.05, 0.075, 0.1, 0.06, 0.02, 0.02}},
		{"WarmupCosine no warm-up", func(o LRSetter) Scheduler {
			return NewWarmupCosine(o, WarmupCosineConfig{Total: 2})
		},
			[]float64{0.1, 0.05, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := &lrBox{lr: 0.1}
			s := c.build(o)
			for e, want := range c.want {
				if e > 0 {
					s.Step()
				}
				require.InDeltaf(t, want, o.LR(), 1e-6*want+1e-9, "epoch %d", e)
				require.Equal(t, o.LR(), s.LR(), "epoch %d", e)
			}
		})
	}
}

func TestScheduleSetEpoch(t *testing.T) {
	o := &lrBox{lr: 0.1}
	s := NewStepLR(o, 3, 0.5)
	s.SetEpoch(7)
	require.Equal(t, 7, s.Epoch())
	require.Equal(t, float32(0.025), o.LR())
	require.Equal(t, float32(0.1), s.BaseLR())
	s.Step()
	require.Equal(t, 8, s.Epoch())
	require.Panics(t, func() { s.SetEpoch(-1) })
}

func TestScheduleDrivesGroups(t *testing.T) {
	a, b := newParam("a", 0), newParam("b", 0)
	opt := NewSGD([]*nn.Param{a}, SGDConfig{LR: 0.1}, Group{Params: []*nn.Param{b}, LR: 0.2})
	s := NewExponentialLR(opt, 0.5)
	s.Step()
	setGrad(a, 1)
	setGrad(b, 1)
	opt.Step()
	require.Equal(t, []float32{-0.05}, a.Value().Data())
	require.Equal(t, []float32{-0.1}, b.Value().Data())
}

func TestScheduleInvalid(t *testing.T) {
	o := &lrBox{lr: 1}
	require.Panics(t, func() { NewStepLR(o, 0, 0.1) })
	require.Panics(t, func() { NewExponentialLR(o, 0) })
	require.Panics(t, func() { NewCosineAnnealingLR(o, 0, 0) })
	require.Panics(t, func() { NewWarmupCosine(o, WarmupCosineConfig{Warmup: 3, Total: 3}) })
}

func TestReduceLROnPlateau(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name    string
		cfg     PlateauConfig
		metrics []float64
		want    []float64 // learning rate after each Step
	}{
		{
			// Patience 2: the third bad epoch reduces. Cooldown 1: the epoch
			// after a reduction is not counted. MinLR floors the rate, and a
			// reduction that changes nothing is skipped.
			name:    "min cooldown floor",
			cfg:     PlateauConfig{Factor: 0.5, Patience: 2, Cooldown: 1, MinLR: 0.02},
			metrics: []float64{1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9},
			want:    []float64{0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02, 0.02},
		},
		{
			// Max mode, absolute threshold 0.1, patience 0: any epoch that
			// does not beat the best by 0.1 reduces at once.
			name:    "max abs",
			cfg:     PlateauConfig{Mode: Max, ThresholdMode: Abs, Threshold: 0.1, Patience: Zero},
			metrics: []float64{0.5, 0.55, 0.7, 0.75, 0.9},
			want:    []float64{0.1, 0.01, 0.01, 0.001, 0.001},
		},
		{
			// Relative threshold 1e-4: 0.99995 is not an improvement on 1,
			// 0.9998 is. A NaN metric is never better.
			name:    "min rel",
			cfg:     PlateauConfig{Patience: 1},
			metrics: []float64{1, 0.99995, 0.9998, 0.9998, nan, 0.5, 0.6},
			want:    []float64{0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01},
		},
		{
			name:    "max rel",
			cfg:     PlateauConfig{Mode: Max, Patience: Zero, Factor: 0.5},
			metrics: []float64{2, 2.0001, 2.001},
			want:    []float64{0.1, 0.05, 0.05},
		},
		{
			name:    "default patience 10",
			cfg:     PlateauConfig{},
			metrics: []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			want:    []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := &lrBox{lr: 0.1}
			r := NewReduceLROnPlateau(o, c.cfg)
			for i, m := range c.metrics {
				r.Step(m)
				require.InDeltaf(t, c.want[i], r.LR(), 1e-7*c.want[i], "after step %d (metric %v)", i+1, m)
			}
			require.Equal(t, len(c.metrics), r.State().Epoch)
		})
	}
}

func TestReduceLROnPlateauState(t *testing.T) {
	o := &lrBox{lr: 0.1}
	r := NewReduceLROnPlateau(o, PlateauConfig{Patience: 1, Cooldown: 2})
	require.True(t, math.IsInf(r.State().Best, 1))
	for _, m := range []float64{1, 2, 3} {
		r.Step(m)
	}
	st := r.State()
	require.Equal(t, PlateauState{Best: 1, NumBadEpochs: 0, CooldownCounter: 2, Epoch: 3}, st)

	r2 := NewReduceLROnPlateau(&lrBox{lr: 0.01}, PlateauConfig{Patience: 1, Cooldown: 2})
	r2.SetState(st)
	for _, m := range []float64{2, 2, 2, 2} {
		r.Step(m)
		r2.Step(m)
	}
	require.Equal(t, r.State(), r2.State())
	require.InDelta(t, 0.001, r2.LR(), 1e-10)
}

func TestReduceLROnPlateauInvalid(t *testing.T) {
	o := &lrBox{lr: 1}
	require.Panics(t, func() { NewReduceLROnPlateau(o, PlateauConfig{Factor: 1}) })
	require.Panics(t, func() { NewReduceLROnPlateau(o, PlateauConfig{Mode: 7}) })
	require.Panics(t, func() { NewReduceLROnPlateau(o, PlateauConfig{Patience: -3}) })
}
