package optim

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// model returns a small "layer": a [3,4] weight and a [3] bias with seeded
// random values.
func model(seed uint64) []*nn.Param {
	r := rand.New(rand.NewPCG(seed, 1))
	return []*nn.Param{
		{Var: autograd.NewVar(tensor.RandN(r, 0, 1, 3, 4)), Name: "0.weight"},
		{Var: autograd.NewVar(tensor.RandN(r, 0, 1, 3)), Name: "0.bias"},
	}
}

// clone returns params with the same names and copies of their values.
func clone(params []*nn.Param) []*nn.Param {
	out := make([]*nn.Param, len(params))
	for i, p := range params {
		out[i] = &nn.Param{Var: autograd.NewVar(p.Value().Clone()), Name: p.Name}
	}
	return out
}

// trainSteps sets a deterministic gradient that depends on the parameters
// and the step number, then steps, for steps from..to-1.
func trainSteps(opt Optimizer, params []*nn.Param, from, to int) {
	for step := from; step < to; step++ {
		for _, p := range params {
			v := p.Value().Data()
			g := make([]float32, len(v))
			for i, x := range v {
				g[i] = 0.5*x + 0.1*float32(step)*float32(i%3-1)
			}
			setGrad(p, g...)
		}
		opt.Step()
	}
}

type optCase struct {
	name  string
	build func([]*nn.Param) Optimizer
}

// allOptimizers covers every algorithm and every state slot.
var allOptimizers = []optCase{
	{"sgd", func(p []*nn.Param) Optimizer { return NewSGD(p, SGDConfig{LR: 0.01}) }},
	{"sgd nesterov", func(p []*nn.Param) Optimizer {
		return NewSGD(p, SGDConfig{LR: 0.01, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3}, SplitDecay(p)...)
	}},
	{"adam amsgrad", func(p []*nn.Param) Optimizer { return NewAdam(p, AdamConfig{LR: 0.01, AMSGrad: true}) }},
	{"adamw", func(p []*nn.Param) Optimizer { return NewAdamW(p, AdamWConfig{LR: 0.01}, SplitDecay(p)...) }},
	{"rmsprop", func(p []*nn.Param) Optimizer {
		return NewRMSprop(p, RMSpropConfig{LR: 0.01, Momentum: 0.5, Centered: true})
	}},
	{"adagrad", func(p []*nn.Param) Optimizer { return NewAdagrad(p, AdagradConfig{LR: 0.1, LRDecay: 0.01}) }},
}

// TestResumeBitForBit saves the state after N steps, loads it into a fresh
// optimizer over parameters restored to the same values, continues M steps
// and requires exactly the parameters of an uninterrupted N+M-step run.
func TestResumeBitForBit(t *testing.T) {
	const n, m = 5, 4
	for _, c := range allOptimizers {
		t.Run(c.name, func(t *testing.T) {
			ref := model(7)
			refOpt := c.build(ref)
			trainSteps(refOpt, ref, 0, n+m)

			for _, viaFile := range []bool{false, true} {
				params := model(7)
				opt := c.build(params)
				trainSteps(opt, params, 0, n)
				opt.SetLR(opt.LR() * 0.5) // the learning rate is part of the state
				var buf bytes.Buffer
				path := filepath.Join(t.TempDir(), "opt.safetensors")
				if viaFile {
					require.NoError(t, SaveFile(opt, path))
				} else {
					require.NoError(t, opt.SaveState(&buf))
				}

				resumed := clone(params)
				opt2 := c.build(resumed)
				if viaFile {
					require.NoError(t, LoadFile(opt2, path))
				} else {
					require.NoError(t, opt2.LoadState(&buf))
				}
				require.Equal(t, opt.LR(), opt2.LR())
				opt2.SetLR(opt2.LR() * 2)
				trainSteps(opt2, resumed, n, n+m)
				for i := range ref {
					require.Equal(t, ref[i].Value().Data(), resumed[i].Value().Data(), "param %s (file %v)", ref[i].Name, viaFile)
				}
			}
		})
	}
}

func TestStateDictRoundTrip(t *testing.T) {
	params := model(1)
	opt := NewAdam(params, AdamConfig{LR: 0.01})
	trainSteps(opt, params, 0, 3)
	s, err := opt.StateDict()
	require.NoError(t, err)
	require.Equal(t, "adam", s.Algorithm)
	require.Len(t, s.Params, 2)
	require.Equal(t, "0.bias", s.Params[0].Name)
	require.Equal(t, int64(3), s.Params[1].Step)
	require.Equal(t, []int{3, 4}, s.Params[1].Slots["exp_avg_sq"].Shape())

	// The snapshot is a copy: later steps do not change it.
	before := s.Params[1].Slots["exp_avg"].Clone()
	trainSteps(opt, params, 3, 4)
	require.Equal(t, before.Data(), s.Params[1].Slots["exp_avg"].Data())

	// Loading also copies.
	opt2 := NewAdam(clone(params), AdamConfig{LR: 0.01})
	require.NoError(t, opt2.LoadStateDict(s))
	s.Params[1].Slots["exp_avg"].Data()[0] = 42
	s2, err := opt2.StateDict()
	require.NoError(t, err)
	require.Equal(t, before.Data(), s2.Params[1].Slots["exp_avg"].Data())
}

func TestLoadStateErrors(t *testing.T) {
	params := model(1)
	opt := NewAdam(params, AdamConfig{})
	trainSteps(opt, params, 0, 2)
	good, err := opt.StateDict()
	require.NoError(t, err)

	edit := func(f func(s *State)) *State {
		s, err := opt.StateDict()
		require.NoError(t, err)
		f(s)
		return s
	}
	cases := []struct {
		name string
		s    *State
		want string
	}{
		{"nil", nil, "nil State"},
		{"algorithm", edit(func(s *State) { s.Algorithm = "sgd" }), `state is for "sgd", optimizer is "adam"`},
		{"unknown param", edit(func(s *State) { s.Params[0].Name = "1.bias" }), `no parameter named "1.bias"`},
		{"shape", edit(func(s *State) { s.Params[0].Slots["exp_avg"] = tensor.Zeros(4) }), `"exp_avg" of parameter "0.bias" has shape [4], want [3]`},
		{"missing slot", edit(func(s *State) {
			delete(s.Params[0].Slots, "exp_avg_sq")
			s.Params[0].Slots["max_exp_avg_sq"] = tensor.Zeros(3)
		}), `parameter "0.bias" has no "exp_avg_sq" (has [exp_avg max_exp_avg_sq])`},
		{"extra slot", edit(func(s *State) { s.Params[0].Slots["max_exp_avg_sq"] = tensor.Zeros(3) }), `has slots [exp_avg exp_avg_sq max_exp_avg_sq], adam wants [exp_avg exp_avg_sq]`},
		{"step", edit(func(s *State) { s.Params[0].Step = 0 }), `step count 0, want 1..9007199254740992`},
		{"twice", edit(func(s *State) { s.Params[1] = s.Params[0] }), `parameter "0.bias" appears twice`},
	}
	fresh := NewAdam(clone(params), AdamConfig{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := fresh.LoadStateDict(c.s)
			require.ErrorContains(t, err, c.want)
			s, err := fresh.StateDict()
			require.NoError(t, err)
			require.Empty(t, s.Params, "a failed load must leave the optimizer unchanged")
		})
	}
	require.NoError(t, fresh.LoadStateDict(good))
}

func TestLoadStateFileErrors(t *testing.T) {
	params := model(1)
	opt := NewRMSprop(params, RMSpropConfig{Momentum: 0.9})
	trainSteps(opt, params, 0, 2)
	var buf bytes.Buffer
	require.NoError(t, opt.SaveState(&buf))

	encode := func(ts []nn.NamedTensor, md map[string]string) *bytes.Buffer {
		var b bytes.Buffer
		require.NoError(t, nn.WriteTensors(&b, ts, md))
		return &b
	}
	w := nn.NamedTensor{Name: "opt.0.bias.square_avg", Value: tensor.Zeros(3)}
	md := map[string]string{"optim.algorithm": "rmsprop", "optim.lr": "0.01", "opt.0.bias.step": "2"}
	cases := []struct {
		name string
		r    *bytes.Buffer
		want string
	}{
		{"truncated", bytes.NewBuffer(buf.Bytes()[:buf.Len()-5]), "optim: load state: nn: read tensors: safetensors:"},
		{"model file", encode([]nn.NamedTensor{w}, nil), `no "optim.algorithm" metadata: not an optimizer state`},
		{"other slots", bytes.NewBuffer(bytes.Clone(buf.Bytes())), ""},
		{"bad lr", encode(nil, map[string]string{"optim.algorithm": "rmsprop", "optim.lr": "fast"}), `metadata "optim.lr" = "fast": want a number`},
		{"bad step", encode(nil, map[string]string{"optim.algorithm": "rmsprop", "optim.lr": "1", "opt.x.step": "-3"}), `metadata "opt.x.step" = "-3": want a step count >= 1`},
		{"no step", encode([]nn.NamedTensor{w}, map[string]string{"optim.algorithm": "rmsprop", "optim.lr": "1"}), `tensor "opt.0.bias.square_avg": no step count "opt.0.bias.step" in the metadata`},
		{"bad name", encode([]nn.NamedTensor{{Name: "weight", Value: tensor.Ones(1)}}, md), `tensor "weight": want a name of the form opt.<param>.<slot>`},
		{"missing slot", encode([]nn.NamedTensor{w}, md), `parameter "0.bias" has slots [square_avg], rmsprop wants [square_avg momentum_buffer]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o Optimizer = NewRMSprop(clone(params), RMSpropConfig{Momentum: 0.9})
			if c.name == "other slots" {
				o = NewRMSprop(clone(params), RMSpropConfig{})
				c.want = `parameter "0.bias" has slots [momentum_buffer square_avg], rmsprop wants [square_avg]`
			}
			require.ErrorContains(t, o.LoadState(c.r), c.want)
		})
	}

	path := filepath.Join(t.TempDir(), "missing.safetensors")
	require.ErrorContains(t, LoadFile(opt, path), "missing.safetensors")
}

func TestStateNeedsUniqueNames(t *testing.T) {
	a, b := newParam("w", 1), newParam("w", 2)
	opt := NewSGD([]*nn.Param{a, b}, SGDConfig{})
	_, err := opt.StateDict()
	require.ErrorContains(t, err, `two parameters are named "w"`)
	require.ErrorContains(t, opt.SaveState(&bytes.Buffer{}), `two parameters are named "w"`)
	opt = NewSGD([]*nn.Param{newParam("", 1)}, SGDConfig{})
	_, err = opt.StateDict()
	require.ErrorContains(t, err, "has no name")
}
