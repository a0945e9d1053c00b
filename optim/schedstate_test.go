package optim

import (
	"bytes"
	"encoding"
	"math"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/stretchr/testify/require"
)

// stateful is a schedule with a savable state.
type stateful interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// runSched is one way of building an optimizer and a schedule, stepping
// the schedule once per epoch (feeding ReduceLROnPlateau a metric that
// stalls, so that it reduces).
type runSched struct {
	name  string
	build func(opt Optimizer) stateful
	step  func(s stateful, epoch int)
}

// plateauMetric improves for three epochs and then stalls.
func plateauMetric(epoch int) float64 { return 1 / float64(min(epoch, 3)+1) }

var scheduleRuns = []runSched{
	{"StepLR", func(o Optimizer) stateful { return NewStepLR(o, 3, 0.5) }, func(s stateful, _ int) { s.(Scheduler).Step() }},
	{"ExponentialLR", func(o Optimizer) stateful { return NewExponentialLR(o, 0.8) }, func(s stateful, _ int) { s.(Scheduler).Step() }},
	{"CosineAnnealingLR", func(o Optimizer) stateful { return NewCosineAnnealingLR(o, 7, 1e-4) }, func(s stateful, _ int) { s.(Scheduler).Step() }},
	{"WarmupCosine", func(o Optimizer) stateful {
		return NewWarmupCosine(o, WarmupCosineConfig{Warmup: 3, Total: 9, EtaMin: 1e-4})
	}, func(s stateful, _ int) { s.(Scheduler).Step() }},
	{"ReduceLROnPlateau", func(o Optimizer) stateful {
		return NewReduceLROnPlateau(o, PlateauConfig{Patience: 1, Factor: 0.5, Cooldown: 1})
	}, func(s stateful, e int) { s.(*ReduceLROnPlateau).Step(plateauMetric(e)) }},
}

// buildRun builds the optimizer (with a second group at twice the rate)
// and schedule the same way every time.
func buildRun(r runSched, params []*nn.Param) (Optimizer, stateful) {
	opt := NewAdamW(params[:1], AdamWConfig{LR: 0.02}, Group{Params: params[1:], LR: 0.04})
	return opt, r.build(opt)
}

// epochs trains epochs from..to-1, two optimizer steps each, stepping the
// schedule after each epoch, and returns the learning rate of each epoch.
func epochs(r runSched, opt Optimizer, s stateful, params []*nn.Param, from, to int) []float32 {
	var lrs []float32
	for e := from; e < to; e++ {
		lrs = append(lrs, opt.LR())
		trainSteps(opt, params, 2*e, 2*e+2)
		r.step(s, e)
	}
	return lrs
}

// TestScheduleResumeBitForBit runs N epochs with a schedule, saves the
// optimizer and schedule states, builds a fresh optimizer and schedule the
// same way, loads both (in either order), continues M epochs, and requires
// the learning rates and parameters of an uninterrupted N+M-epoch run.
func TestScheduleResumeBitForBit(t *testing.T) {
	const n, m = 5, 6
	for _, r := range scheduleRuns {
		t.Run(r.name, func(t *testing.T) {
			ref := model(11)
			refOpt, refSched := buildRun(r, ref)
			want := epochs(r, refOpt, refSched, ref, 0, n+m)

			for _, schedFirst := range []bool{false, true} {
				params := model(11)
				opt, sched := buildRun(r, params)
				got := epochs(r, opt, sched, params, 0, n)
				var optState bytes.Buffer
				require.NoError(t, opt.SaveState(&optState))
				schedState, err := sched.MarshalBinary()
				require.NoError(t, err)

				resumed := clone(params)
				opt2, sched2 := buildRun(r, resumed)
				if schedFirst {
					require.NoError(t, sched2.UnmarshalBinary(schedState))
					require.NoError(t, opt2.LoadState(&optState))
				} else {
					require.NoError(t, opt2.LoadState(&optState))
					require.NoError(t, sched2.UnmarshalBinary(schedState))
				}
				require.Equal(t, opt.LR(), opt2.LR())
				got = append(got, epochs(r, opt2, sched2, resumed, n, n+m)...)
				require.Equal(t, want, got, "learning rates (schedule state loaded first: %v)", schedFirst)
				for i := range ref {
					require.Equal(t, ref[i].Value().Data(), resumed[i].Value().Data(), "param %s", ref[i].Name)
				}
			}
			// The run must actually change the rate, or the test proves little.
			require.NotEqual(t, want[0], want[len(want)-1])
		})
	}
}

// TestScheduleBuiltAfterLoadStartsFromInitialLR: a schedule built after
// loading an optimizer state takes the run's initial rate as its base,
// not the decayed rate the state was saved at, and so matches the
// uninterrupted run when moved to the saved epoch.
func TestScheduleBuiltAfterLoadStartsFromInitialLR(t *testing.T) {
	params := model(5)
	opt := NewSGD(params, SGDConfig{LR: 0.1, Momentum: 0.9})
	sched := NewExponentialLR(opt, 0.5)
	for range 3 {
		trainSteps(opt, params, 0, 1)
		sched.Step()
	}
	require.Equal(t, float32(0.0125), opt.LR())
	var buf bytes.Buffer
	require.NoError(t, opt.SaveState(&buf))

	// The resumed optimizer is even built with another rate: the state wins.
	opt2 := NewSGD(clone(params), SGDConfig{LR: 0.7, Momentum: 0.9})
	require.NoError(t, opt2.LoadState(&buf))
	lr, ok := opt2.InitialLR()
	require.True(t, ok)
	require.Equal(t, float32(0.1), lr)
	sched2 := NewExponentialLR(opt2, 0.5)
	require.Equal(t, float32(0.1), sched2.BaseLR())
	sched2.SetEpoch(3)
	require.Equal(t, float32(0.0125), opt2.LR())
	sched.Step()
	sched2.Step()
	require.Equal(t, opt.LR(), opt2.LR())

	// Without a schedule no initial rate is recorded, and the first
	// schedule records the rate in force, as PyTorch's setdefault does.
	opt3 := NewSGD(clone(params), SGDConfig{LR: 0.1})
	_, ok = opt3.InitialLR()
	require.False(t, ok)
	opt3.SetLR(0.05)
	s3 := NewStepLR(opt3, 1, 0.5)
	require.Equal(t, float32(0.05), s3.BaseLR())
	lr, ok = opt3.InitialLR()
	require.True(t, ok)
	require.Equal(t, float32(0.05), lr)
	st, err := opt3.StateDict()
	require.NoError(t, err)
	require.True(t, st.HasInitialLR)
	// Loading a state without an initial rate forgets the recorded one.
	plain, err := NewSGD(clone(params), SGDConfig{LR: 0.3}).StateDict()
	require.NoError(t, err)
	require.NoError(t, opt3.LoadStateDict(plain))
	_, ok = opt3.InitialLR()
	require.False(t, ok)
}

func TestScheduleStateErrors(t *testing.T) {
	box := func() *lrBox { return &lrBox{lr: 0.1} }
	src := NewStepLR(box(), 3, 0.5)
	src.SetEpoch(4)
	good, err := src.MarshalBinary()
	require.NoError(t, err)
	plat := NewReduceLROnPlateau(box(), PlateauConfig{Patience: 2, Cooldown: 1})
	for _, m := range []float64{1, 2, 2, 2} {
		plat.Step(m)
	}
	goodPlat, err := plat.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, PlateauState{Best: 1, NumBadEpochs: 0, CooldownCounter: 1, Epoch: 4}, plat.State())

	// withField re-encodes a state with one field changed.
	withField := func(kind string, fields []schedField, name string, v float64) []byte {
		return encodeSched(kind, setField(fields, name, v))
	}
	stepFields := src.fields()
	platFields := plat.fields()
	cases := []struct {
		name   string
		target func() stateful
		data   []byte
		want   string
	}{
		{"empty", func() stateful { return NewStepLR(box(), 3, 0.5) }, nil, "not a schedule state"},
		{"truncated", func() stateful { return NewStepLR(box(), 3, 0.5) }, good[:len(good)-3], `field "epoch" truncated`},
		{"trailing", func() stateful { return NewStepLR(box(), 3, 0.5) }, append(bytes.Clone(good), 0), "1 bytes after the last field"},
		{"other kind", func() stateful { return NewExponentialLR(box(), 0.5) }, good, "load ExponentialLR state: the state is for a StepLR"},
		{"other config", func() stateful { return NewStepLR(box(), 2, 0.5) }, good, "step_size is 3 in the state but 2 in this schedule"},
		{"other gamma", func() stateful { return NewStepLR(box(), 3, 0.25) }, good, "gamma is 0.5 in the state but 0.25"},
		{"base Inf", func() stateful { return NewStepLR(box(), 3, 0.5) }, withField("StepLR", stepFields, "base_lr", math.Inf(1)), "base_lr is +Inf"},
		{"base negative", func() stateful { return NewStepLR(box(), 3, 0.5) }, withField("StepLR", stepFields, "base_lr", -1), "base_lr is -1"},
		{"epoch negative", func() stateful { return NewStepLR(box(), 3, 0.5) }, withField("StepLR", stepFields, "epoch", -1), "epoch is -1, want an integer"},
		{"epoch fraction", func() stateful { return NewStepLR(box(), 3, 0.5) }, withField("StepLR", stepFields, "epoch", 2.5), "epoch is 2.5"},
		{"epoch huge", func() stateful { return NewStepLR(box(), 3, 0.5) }, withField("StepLR", stepFields, "epoch", 1e300), "epoch is 1e+300"},
		{"field name", func() stateful { return NewStepLR(box(), 3, 0.5) }, encodeSched("StepLR", []schedField{{"step", 3}, {"gamma", 0.5}, {"base_lr", 0.1}, {"epoch", 1}}), `field 0 is "step", want "step_size"`},
		{"plateau config", func() stateful { return NewReduceLROnPlateau(box(), PlateauConfig{Patience: 3, Cooldown: 1}) }, goodPlat, "patience is 2 in the state but 3"},
		{"plateau best NaN", func() stateful { return NewReduceLROnPlateau(box(), PlateauConfig{Patience: 2, Cooldown: 1}) }, withField("ReduceLROnPlateau", platFields, "best", math.NaN()), "best is NaN"},
		{"plateau bad epochs", func() stateful { return NewReduceLROnPlateau(box(), PlateauConfig{Patience: 2, Cooldown: 1}) }, withField("ReduceLROnPlateau", platFields, "num_bad_epochs", 3), "num_bad_epochs is 3, want an integer in [0, 2]"},
		{"plateau cooldown", func() stateful { return NewReduceLROnPlateau(box(), PlateauConfig{Patience: 2, Cooldown: 1}) }, withField("ReduceLROnPlateau", platFields, "cooldown_counter", 2), "cooldown_counter is 2, want an integer in [0, 1]"},
		{"plateau bad > epoch", func() stateful { return NewReduceLROnPlateau(box(), PlateauConfig{Patience: 2, Cooldown: 1}) }, withField("ReduceLROnPlateau", setField(platFields, "epoch", 1), "num_bad_epochs", 2), "num_bad_epochs 2 exceeds epoch 1"},
		{"plateau epoch 0", func() stateful { return NewReduceLROnPlateau(box(), PlateauConfig{Patience: 2, Cooldown: 1}) }, withField("ReduceLROnPlateau", setField(platFields, "epoch", 0), "cooldown_counter", 0), "before the first step"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.target()
			before, err := s.MarshalBinary()
			require.NoError(t, err)
			require.ErrorContains(t, s.UnmarshalBinary(c.data), c.want)
			after, err := s.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, before, after, "a failed load must change nothing")
		})
	}

	// The good states load, and set the learning rate of the restored epoch.
	o := box()
	dst := NewStepLR(o, 3, 0.5)
	require.NoError(t, dst.UnmarshalBinary(good))
	require.Equal(t, 4, dst.Epoch())
	require.Equal(t, float32(0.05), o.LR())
	p2 := NewReduceLROnPlateau(box(), PlateauConfig{Patience: 2, Cooldown: 1})
	require.NoError(t, p2.UnmarshalBinary(goodPlat))
	require.Equal(t, plat.State(), p2.State())
}

// setField returns a copy of fields with one value changed.
func setField(fields []schedField, name string, v float64) []schedField {
	fs := append([]schedField(nil), fields...)
	for i := range fs {
		if fs[i].name == name {
			fs[i].value = v
		}
	}
	return fs
}

// FuzzScheduleState feeds arbitrary bytes to the schedules' UnmarshalBinary:
// never a panic, nothing changed on error, and a loaded state saves and
// loads again to the same state.
func FuzzScheduleState(f *testing.F) {
	build := []func(LRSetter) stateful{
		func(o LRSetter) stateful { return NewStepLR(o, 3, 0.5) },
		func(o LRSetter) stateful { return NewWarmupCosine(o, WarmupCosineConfig{Warmup: 2, Total: 8}) },
		func(o LRSetter) stateful { return NewReduceLROnPlateau(o, PlateauConfig{Patience: 2, Cooldown: 1}) },
	}
	for _, b := range build {
		s := b(&lrBox{lr: 0.1})
		if p, ok := s.(*ReduceLROnPlateau); ok {
			p.Step(1)
			p.Step(2)
		} else {
			s.(Scheduler).Step()
		}
		data, err := s.MarshalBinary()
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range build {
			o := &lrBox{lr: 0.1}
			s := b(o)
			before, err := s.MarshalBinary()
			require.NoError(t, err)
			lr := o.LR()
			if err := s.UnmarshalBinary(data); err != nil {
				after, err := s.MarshalBinary()
				require.NoError(t, err)
				require.Equal(t, before, after)
				require.Equal(t, lr, o.LR())
				continue
			}
			require.False(t, math.IsNaN(float64(o.LR())) || math.IsInf(float64(o.LR()), 0), "lr %v", o.LR())
			saved, err := s.MarshalBinary()
			require.NoError(t, err)
			s2 := b(&lrBox{lr: 0.1})
			require.NoError(t, s2.UnmarshalBinary(saved))
			again, err := s2.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, saved, again)
		}
	})
}
