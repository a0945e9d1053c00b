package optim

import (
	"bytes"
	"math"
	"strconv"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/stretchr/testify/require"
)

// TestLoadStateRejectsValuesThatWreckTheNextStep loads states whose
// numbers would turn the next step into NaN, Inf or an overflowed step
// count. Each must be refused with an error naming the value, and leave
// the optimizer exactly as it was.
func TestLoadStateRejectsValuesThatWreckTheNextStep(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	type mk func() (Optimizer, []*nn.Param)
	adam := func() (Optimizer, []*nn.Param) {
		p := model(1)
		return NewAdam(p, AdamConfig{LR: 0.01, AMSGrad: true}), p
	}
	adagrad := func() (Optimizer, []*nn.Param) { p := model(1); return NewAdagrad(p, AdagradConfig{}), p }
	rmsprop := func() (Optimizer, []*nn.Param) {
		p := model(1)
		return NewRMSprop(p, RMSpropConfig{Momentum: 0.9, Centered: true}), p
	}
	set := func(slot string, i int, v float32) func(*State) {
		return func(s *State) { s.Params[1].Slots[slot].Data()[i] = v } // "0.weight"
	}
	cases := []struct {
		name  string
		build mk
		edit  func(*State)
		want  string
	}{
		{"lr +Inf", adam, func(s *State) { s.LR = inf }, "learning rate +Inf, want a finite number >= 0"},
		{"lr NaN", adam, func(s *State) { s.LR = nan }, "learning rate NaN"},
		{"lr negative", adam, func(s *State) { s.LR = -0.5 }, "learning rate -0.5"},
		{"initial lr +Inf", adam, func(s *State) { s.InitialLR, s.HasInitialLR = inf, true }, "initial learning rate +Inf"},
		{"step MaxInt64", adam, func(s *State) { s.Params[0].Step = math.MaxInt64 }, `parameter "0.bias": step count 9223372036854775807, want 1..9007199254740992`},
		{"step past MaxStep", adam, func(s *State) { s.Params[0].Step = MaxStep + 1 }, "step count 9007199254740993"},
		{"step negative", adam, func(s *State) { s.Params[0].Step = -4 }, "step count -4"},
		{"negative second moment", adam, set("exp_avg_sq", 5, -1e-3), `parameter "0.weight": "exp_avg_sq"[5] is -0.001, want >= 0`},
		{"NaN second moment", adam, set("exp_avg_sq", 2, nan), `parameter "0.weight": "exp_avg_sq"[2] is NaN, want a finite number`},
		{"Inf first moment", adam, set("exp_avg", 0, -inf), `"exp_avg"[0] is -Inf`},
		{"max below moment", adam, set("max_exp_avg_sq", 3, 0), `"max_exp_avg_sq"[3] is 0, below "exp_avg_sq"[3]`},
		{"adagrad sum", adagrad, set("sum", 7, -2), `"sum"[7] is -2, want >= 0`},
		{"rmsprop square_avg", rmsprop, set("square_avg", 1, -1), `"square_avg"[1] is -1`},
		{"rmsprop momentum NaN", rmsprop, set("momentum_buffer", 4, nan), `"momentum_buffer"[4] is NaN`},
		{"rmsprop grad_avg Inf", rmsprop, set("grad_avg", 0, inf), `"grad_avg"[0] is +Inf`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, params := c.build()
			trainSteps(src, params, 0, 3)
			bad, err := src.StateDict()
			require.NoError(t, err)
			c.edit(bad)

			dst, dparams := c.build()
			trainSteps(dst, dparams, 0, 1)
			dst.SetLR(0.125)
			dst.(InitialLRHolder).SetInitialLR(0.25)
			before, err := dst.StateDict()
			require.NoError(t, err)

			err = dst.LoadStateDict(bad)
			require.ErrorContains(t, err, c.want)
			after, err := dst.StateDict()
			require.NoError(t, err)
			require.Equal(t, before, after, "a failed load must change nothing")
			require.Equal(t, float32(0.125), dst.LR())
		})
	}

	// The boundary itself loads.
	src, params := adam()
	trainSteps(src, params, 0, 2)
	s, err := src.StateDict()
	require.NoError(t, err)
	s.Params[0].Step = MaxStep
	dst, _ := adam()
	require.NoError(t, dst.LoadStateDict(s))
}

// The same values arriving through a file: the text metadata "+Inf" and a
// step of MaxInt64 parse, and must then be refused.
func TestLoadStateFileRejectsBadNumbers(t *testing.T) {
	params := model(1)
	opt := NewAdam(params, AdamConfig{})
	trainSteps(opt, params, 0, 2)
	s, err := opt.StateDict()
	require.NoError(t, err)
	encode := func(md map[string]string, vsq float32) *bytes.Buffer {
		full := map[string]string{"optim.algorithm": "adam", "optim.lr": "0.001", "opt.0.bias.step": "2"}
		for k, v := range md {
			full[k] = v
		}
		vs := s.Params[0].Slots["exp_avg_sq"].Clone()
		vs.Data()[1] = vsq
		var b bytes.Buffer
		require.NoError(t, nn.WriteTensors(&b, []nn.NamedTensor{
			{Name: "opt.0.bias.exp_avg", Value: s.Params[0].Slots["exp_avg"]},
			{Name: "opt.0.bias.exp_avg_sq", Value: vs},
		}, full))
		return &b
	}
	for _, c := range []struct {
		md   map[string]string
		vsq  float32
		want string
	}{
		{map[string]string{"optim.lr": "+Inf"}, 1, "learning rate +Inf"},
		{map[string]string{"optim.lr": "NaN"}, 1, "learning rate NaN"},
		{map[string]string{"optim.initial_lr": "-1"}, 1, "initial learning rate -1"},
		{map[string]string{"optim.initial_lr": "soon"}, 1, `metadata "optim.initial_lr" = "soon": want a number`},
		{map[string]string{"opt.0.bias.step": strconv.FormatInt(math.MaxInt64, 10)}, 1, "step count 9223372036854775807"},
		{nil, -3, `"exp_avg_sq"[1] is -3`},
		{nil, float32(math.NaN()), `"exp_avg_sq"[1] is NaN`},
	} {
		fresh := NewAdam(clone(params), AdamConfig{})
		require.ErrorContains(t, fresh.LoadState(encode(c.md, c.vsq)), c.want)
		got, err := fresh.StateDict()
		require.NoError(t, err)
		require.Empty(t, got.Params)
		require.Equal(t, float32(1e-3), fresh.LR())
	}
	// And the untouched encoding loads.
	require.NoError(t, NewAdam(clone(params), AdamConfig{}).LoadState(encode(nil, 1)))
}

// checkLoadedState restates, independently of the loader, what a loaded
// state must satisfy.
func checkLoadedState(t *testing.T, s *State) {
	t.Helper()
	finite := func(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }
	require.True(t, finite(s.LR) && s.LR >= 0, "lr %v", s.LR)
	if s.HasInitialLR {
		require.True(t, finite(s.InitialLR) && s.InitialLR >= 0, "initial lr %v", s.InitialLR)
	}
	for _, ps := range s.Params {
		require.True(t, ps.Step >= 1 && ps.Step <= MaxStep, "%s step %d", ps.Name, ps.Step)
		for slot, v := range ps.Slots {
			for i, x := range v.Data() {
				require.True(t, finite(x), "%s %s[%d] = %v", ps.Name, slot, i, x)
				if slot == "exp_avg_sq" || slot == "max_exp_avg_sq" || slot == "square_avg" || slot == "sum" {
					require.GreaterOrEqual(t, x, float32(0), "%s %s[%d]", ps.Name, slot, i)
				}
			}
		}
		if m, ok := ps.Slots["max_exp_avg_sq"]; ok {
			for i, x := range m.Data() {
				require.GreaterOrEqual(t, x, ps.Slots["exp_avg_sq"].Data()[i])
			}
		}
	}
}
