package nn

import "github.com/shoshin-ml/shoshin/autograd"

// GRU is a multi-layer gated recurrent unit layer (PyTorch's nn.GRU): gates
// r, z, n packed in that order, with the reset gate applied to
// W_hn h + b_hn as PyTorch does, and parameters named weight_ih_l0,
// weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse, all drawn from
// U(−1/√hidden, 1/√hidden), so PyTorch state_dicts load as they are.
// Inputs are time-major [T, B, input] unless Config.BatchFirst; the output
// has hidden (or 2·hidden when bidirectional) features per step.
//
// Each layer and direction runs the fused op autograd.GRU (a stack of one
// direction without dropout while training: autograd.GRUStack, whose layers
// form a wavefront across cores). Forward runs
// from a zero state and returns the output sequence; ForwardWith also takes
// an initial state and sequence lengths and returns the final state.
// Dropout between layers applies only in training mode and never to
// inference-mode inputs; training mode is for one goroutine at a time.
//
// The field Weights holds the RecurrentParams of each layer and direction
// in PyTorch's order (layer 0, layer 0 reverse, layer 1, ...).
type GRU struct {
	recurrentStack
}

// NewGRU returns a GRU mapping input features to hidden units per step,
// shaped by cfg. Options: WithoutBias, WithSeed, WithSource, WithRand (the generator
// also seeds the dropout masks' own, checkpointable one; see RNGState).
func NewGRU(input, hidden int, cfg RNNConfig, opts ...Option) *GRU {
	return &GRU{newRecurrentStack("NewGRU", cellGRU, input, hidden, cfg, opts)}
}

// Forward returns the output sequence for x from a zero initial state.
func (g *GRU) Forward(x *autograd.Var) *autograd.Var {
	out, _ := g.ForwardWith(x, RNNState{}, nil)
	return out
}

// ForwardWith runs x from the initial state init (zero value: zeros; H is
// [layers·directions, B, hidden]) and returns the output sequence and the
// final state (PyTorch's h_n). lengths, when not nil, gives each
// sequence's length ≤ T: later steps are padding, as with PyTorch's packed
// sequences (their outputs are zero, they change no state and receive no
// gradient, and the reverse direction starts at each sequence's own last
// step).
func (g *GRU) ForwardWith(x *autograd.Var, init RNNState, lengths []int) (*autograd.Var, RNNState) {
	if g.hidden == 0 {
		panic(unbuilt("GRU", "NewGRU"))
	}
	out, h, _ := g.run("GRU.ForwardWith", x, init.H, nil, lengths)
	return out, RNNState{H: h}
}

// String describes the layer, like "GRU(64 → 128, bidirectional)".
func (g *GRU) String() string { return g.describe("GRU") }
