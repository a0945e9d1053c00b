package nn

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/shoshin-ml/shoshin/autograd"
)

// RNNConfig shapes a recurrent layer (RNN, LSTM or GRU). The zero value is
// PyTorch's default: one layer, one direction, time-major input.
type RNNConfig struct {
	// Layers is the number of stacked layers (PyTorch's num_layers); 0
	// means 1. Layer l > 0 reads the output of layer l − 1.
	Layers int
	// Bidirectional adds a second set of layers that read each sequence
	// backwards; the two directions' outputs are concatenated, so the
	// output has 2·hidden features.
	Bidirectional bool
	// BatchFirst makes inputs and outputs [B, T, features] instead of
	// PyTorch's default time-major [T, B, features]. States are
	// [layers·directions, B, hidden] either way, as in PyTorch.
	BatchFirst bool
	// Dropout is the probability of zeroing each output of every layer
	// but the last while training (PyTorch's dropout), in [0, 1).
	Dropout float32
	// Nonlinearity is "tanh" (the default, also "") or "relu"; only RNN
	// uses it.
	Nonlinearity string
}

// recurrentStack is the machinery shared by RNN, LSTM and GRU: a stack of
// layers, each with one or two directions, every one running the fused
// recurrent op of its kind.
type recurrentStack struct {
	trainFlag
	kind   cellKind
	input  int
	hidden int
	cfg    RNNConfig
	relu   bool
	// Weights holds each layer's and direction's parameters, in PyTorch's
	// order: layer 0 forward, layer 0 reverse (bidirectional only), layer
	// 1 forward, ...
	Weights []RecurrentParams
	// drop draws the masks of the dropout between layers from its own
	// PCG, whose state RNGState saves.
	drop *Dropout
}

func newRecurrentStack(op string, kind cellKind, input, hidden int, cfg RNNConfig, opts []Option) recurrentStack {
	checkSizes(op, input, hidden)
	if cfg.Layers < 0 {
		panic(fmt.Sprintf("nn.%s: %d layers", op, cfg.Layers))
	}
	if cfg.Layers == 0 {
		cfg.Layers = 1
	}
	if cfg.Dropout < 0 || cfg.Dropout >= 1 {
		panic(fmt.Sprintf("nn.%s: dropout %v outside [0, 1)", op, cfg.Dropout))
	}
	relu := parseNonlinearity(op, cfg.Nonlinearity)
	if kind != cellRNN && cfg.Nonlinearity != "" {
		panic(fmt.Sprintf("nn.%s: Nonlinearity applies only to RNN", op))
	}
	c := newConfig(opts)
	s := recurrentStack{kind: kind, input: input, hidden: hidden, cfg: cfg, relu: relu}
	dirs := s.directions()
	for l := 0; l < cfg.Layers; l++ {
		in := input
		if l > 0 {
			in = dirs * hidden
		}
		for d := 0; d < dirs; d++ {
			suffix := fmt.Sprintf("_l%d", l)
			if d == 1 {
				suffix += "_reverse"
			}
			s.Weights = append(s.Weights, newRecurrentParams(cellGates[kind], in, hidden, suffix, c.noBias, c.rng))
		}
	}
	// The dropout masks come from a PCG seeded from the layer's generator
	// after the weights, so that RNGState can save it whatever generator
	// the layer was given.
	src := rand.NewPCG(c.rng.Uint64(), c.rng.Uint64())
	s.drop = &Dropout{P: cfg.Dropout, rng: rand.New(src), src: src}
	return s
}

func (s *recurrentStack) directions() int {
	if s.cfg.Bidirectional {
		return 2
	}
	return 1
}

// Params returns every layer's weight_ih, weight_hh, bias_ih and bias_hh,
// named like PyTorch's (weight_ih_l0, ..., bias_hh_l1_reverse).
func (s *recurrentStack) Params() []*Param {
	var ps []*Param
	for _, w := range s.Weights {
		ps = append(ps, w.params()...)
	}
	return ps
}

// RNGState returns the state of the generator that draws the dropout masks
// between layers (see the package's RNGState).
func (s *recurrentStack) RNGState() ([]byte, error) { return s.drop.RNGState() }

// SetRNGState restores a state returned by RNGState into the dropout
// generator.
func (s *recurrentStack) SetRNGState(state []byte) error { return s.drop.SetRNGState(state) }

// Config returns the layer's configuration, with Layers filled in.
func (s *recurrentStack) Config() RNNConfig { return s.cfg }

// run is the sequence loop shared by the three layers. x is the user's
// input (batch-first or not), h0 and c0 the optional initial states
// [layers·directions, B, hidden].
func (s *recurrentStack) run(op string, x, h0, c0 *autograd.Var, lengths []int) (out, hN, cN *autograd.Var) {
	xs := x.Shape()
	if len(xs) != 3 || xs[2] != s.input {
		layout := "[T, B, %d]"
		if s.cfg.BatchFirst {
			layout = "[B, T, %d]"
		}
		panic(fmt.Sprintf("nn.%s: input has shape %v, want "+layout, op, xs, s.input))
	}
	if s.cfg.BatchFirst {
		x = autograd.SwapLeadingAxes(x) // (B, T, F) -> (T, B, F)
	}
	B := x.Shape()[1]
	dirs := s.directions()
	nst := s.cfg.Layers * dirs
	for i, st := range []*autograd.Var{h0, c0} {
		if st != nil && (st.Value().Rank() != 3 || st.Shape()[0] != nst || st.Shape()[1] != B || st.Shape()[2] != s.hidden) {
			name := [...]string{"H", "C"}[i]
			panic(fmt.Sprintf("nn.%s: initial state %s has shape %v, want [%d, %d, %d]", op, name, st.Shape(), nst, B, s.hidden))
		}
	}
	if lengths != nil && len(lengths) != B {
		panic(fmt.Sprintf("nn.%s: %d lengths for a batch of %d", op, len(lengths), B))
	}
	// pick returns layer-direction k's slice [B, hidden] of a state.
	pick := func(st *autograd.Var, k int) *autograd.Var {
		if st == nil {
			return nil
		}
		if nst == 1 {
			return autograd.Reshape(st, B, s.hidden)
		}
		return autograd.Reshape(autograd.Slice(st, 0, k, k+1), B, s.hidden)
	}
	// A stack over a sequence runs as one fused op; one step at a time
	// (decoding) gains nothing from the wavefront and takes the layers in
	// turn.
	if dirs == 1 && s.cfg.Layers > 1 && x.Shape()[0] > 1 && (s.cfg.Dropout == 0 || s.eval || x.Inference()) {
		return s.runStack(x, h0, c0, lengths, pick)
	}
	hs := make([]*autograd.Var, 0, nst)
	var cs []*autograd.Var
	seq := x // (T, B, F)
	for l := 0; l < s.cfg.Layers; l++ {
		if l > 0 && s.cfg.Dropout > 0 && !s.eval && !x.Inference() {
			seq = autograd.Dropout(seq, s.cfg.Dropout, s.drop.rng)
		}
		outs := make([]*autograd.Var, dirs)
		for d := 0; d < dirs; d++ {
			k := l*dirs + d
			w := s.Weights[k].weights()
			opt := autograd.RecurrentOptions{Lengths: lengths, Reverse: d == 1, ReLU: s.relu}
			var h, c *autograd.Var
			switch s.kind {
			case cellLSTM:
				outs[d], h, c = autograd.LSTM(seq, pick(h0, k), pick(c0, k), w, opt) // (T, B, H), (B, H), (B, H)
				cs = append(cs, c)
			case cellGRU:
				outs[d], h = autograd.GRU(seq, pick(h0, k), w, opt)
			default:
				outs[d], h = autograd.RNN(seq, pick(h0, k), w, opt)
			}
			hs = append(hs, h)
		}
		seq = outs[0]
		if dirs == 2 {
			seq = autograd.Concat(2, outs[0], outs[1]) // (T, B, 2H)
		}
	}
	out = seq
	if s.cfg.BatchFirst {
		out = autograd.SwapLeadingAxes(out) // (T, B, F) -> (B, T, F)
	}
	hN = autograd.Stack(0, hs...) // (layers·dirs, B, H)
	if cs != nil {
		cN = autograd.Stack(0, cs...)
	}
	return out, hN, cN
}

// runStack runs a one-direction stack without dropout between layers as
// one fused op (autograd.LSTMStack, GRUStack, RNNStack), whose layers run
// as a wavefront across cores; x is time-major.
func (s *recurrentStack) runStack(x, h0, c0 *autograd.Var, lengths []int, pick func(*autograd.Var, int) *autograd.Var) (out, hN, cN *autograd.Var) {
	L := s.cfg.Layers
	var wbuf [4]autograd.RecurrentWeights // the stack keeps no reference to ws
	ws := wbuf[:0]
	for l := range L {
		ws = append(ws, s.Weights[l].weights())
	}
	states := func(st *autograd.Var) []*autograd.Var {
		if st == nil {
			return nil
		}
		vs := make([]*autograd.Var, L)
		for l := range vs {
			vs[l] = pick(st, l)
		}
		return vs
	}
	opt := autograd.RecurrentOptions{Lengths: lengths, ReLU: s.relu}
	var hs, cs []*autograd.Var
	switch s.kind {
	case cellLSTM:
		out, hs, cs = autograd.LSTMStack(x, states(h0), states(c0), ws, opt) // (T, B, H), L × (B, H), L × (B, H)
	case cellGRU:
		out, hs = autograd.GRUStack(x, states(h0), ws, opt)
	default:
		out, hs = autograd.RNNStack(x, states(h0), ws, opt)
	}
	if s.cfg.BatchFirst {
		out = autograd.SwapLeadingAxes(out) // (T, B, F) -> (B, T, F)
	}
	hN = autograd.Stack(0, hs...) // (layers, B, H)
	if cs != nil {
		cN = autograd.Stack(0, cs...)
	}
	return out, hN, cN
}

func (s *recurrentStack) describe(kind string) string {
	if s.hidden == 0 {
		return kind + "(unbuilt)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s(%d → %d", kind, s.input, s.hidden)
	if s.cfg.Layers > 1 {
		fmt.Fprintf(&b, ", layers=%d", s.cfg.Layers)
	}
	if s.cfg.Bidirectional {
		b.WriteString(", bidirectional")
	}
	if s.cfg.BatchFirst {
		b.WriteString(", batch first")
	}
	if s.cfg.Dropout > 0 {
		fmt.Fprintf(&b, ", dropout=%g", s.cfg.Dropout)
	}
	if s.relu {
		b.WriteString(", relu")
	}
	if s.Weights[0].BiasIH == nil {
		b.WriteString(", no bias")
	}
	b.WriteString(")")
	return b.String()
}

// RNN is a multi-layer Elman recurrent layer (PyTorch's nn.RNN): every step
// computes h' = tanh(W_ih x + b_ih + W_hh h + b_hh), or ReLU with
// Nonlinearity "relu". Parameters are named weight_ih_l0, weight_hh_l0,
// bias_ih_l0, bias_hh_l0, ..._reverse for the backward direction, so
// PyTorch state_dicts load as they are. Inputs are time-major [T, B, input]
// unless Config.BatchFirst; the output has hidden (or 2·hidden when
// bidirectional) features per step.
//
// Forward runs from a zero state and returns the output sequence, so an
// RNN composes with other modules; ForwardWith also takes an initial state
// and sequence lengths and returns the final state. Dropout between layers
// applies only in training mode and never to inference-mode inputs;
// training mode is for one goroutine at a time.
//
// The field Weights holds the RecurrentParams of each layer and direction
// in PyTorch's order (layer 0, layer 0 reverse, layer 1, ...).
type RNN struct {
	recurrentStack
}

// NewRNN returns an RNN mapping input features to hidden units per step,
// shaped by cfg, with every parameter drawn from U(−1/√hidden, 1/√hidden).
// Options: WithoutBias, WithSeed, WithSource, WithRand (the generator
// also seeds the dropout masks' own, checkpointable one; see RNGState).
func NewRNN(input, hidden int, cfg RNNConfig, opts ...Option) *RNN {
	return &RNN{newRecurrentStack("NewRNN", cellRNN, input, hidden, cfg, opts)}
}

// Forward returns the output sequence for x from a zero initial state.
func (r *RNN) Forward(x *autograd.Var) *autograd.Var {
	out, _ := r.ForwardWith(x, RNNState{}, nil)
	return out
}

// ForwardWith runs x from the initial state init (zero value: zeros; H is
// [layers·directions, B, hidden]) and returns the output sequence and the
// final state. lengths, when not nil, gives each sequence's length ≤ T:
// later steps are padding, as with PyTorch's packed sequences (their
// outputs are zero, they change no state and receive no gradient, and the
// reverse direction starts at each sequence's own last step).
func (r *RNN) ForwardWith(x *autograd.Var, init RNNState, lengths []int) (*autograd.Var, RNNState) {
	if r.hidden == 0 {
		panic(unbuilt("RNN", "NewRNN"))
	}
	out, h, _ := r.run("RNN.ForwardWith", x, init.H, nil, lengths)
	return out, RNNState{H: h}
}

// String describes the layer, like "RNN(10 → 20, layers=2, relu)".
func (r *RNN) String() string { return r.describe("RNN") }
