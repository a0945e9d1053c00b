package nn

import "github.com/shoshin-ml/shoshin/autograd"

// LSTM is a multi-layer long short-term memory layer (PyTorch's nn.LSTM):
// gates i, f, g, o packed in that order, parameters named weight_ih_l0,
// weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse for the backward
// direction, all drawn from U(−1/√hidden, 1/√hidden), so PyTorch
// state_dicts load as they are. Inputs are time-major [T, B, input] unless
// Config.BatchFirst; the output has hidden (or 2·hidden when
// bidirectional) features per step.
//
// Each layer and direction runs the fused op autograd.LSTM: one matrix
// product for the input projection of every step, one per step for the
// recurrence, the gates in one pass, and the same in the backward pass.
// A stack of one direction (without dropout while training) runs as one
// autograd.LSTMStack, whose layers form a wavefront across cores.
//
// Forward runs from a zero state and returns the output sequence, so an
// LSTM composes with other modules; ForwardWith also takes an initial state
// and sequence lengths and returns the final state. Dropout between layers
// applies only in training mode and never to inference-mode inputs;
// training mode is for one goroutine at a time.
//
// The field Weights holds the RecurrentParams of each layer and direction
// in PyTorch's order (layer 0, layer 0 reverse, layer 1, ...).
type LSTM struct {
	recurrentStack
}

// NewLSTM returns an LSTM mapping input features to hidden units per step,
// shaped by cfg. Options: WithoutBias, WithSeed, WithSource, WithRand (the generator
// also seeds the dropout masks' own, checkpointable one; see RNGState).
func NewLSTM(input, hidden int, cfg RNNConfig, opts ...Option) *LSTM {
	return &LSTM{newRecurrentStack("NewLSTM", cellLSTM, input, hidden, cfg, opts)}
}

// Forward returns the output sequence for x from a zero initial state.
func (l *LSTM) Forward(x *autograd.Var) *autograd.Var {
	out, _ := l.ForwardWith(x, LSTMState{}, nil)
	return out
}

// ForwardWith runs x from the initial state init (zero value: zeros; H and
// C are [layers·directions, B, hidden], either may be nil) and returns the
// output sequence and the final state (PyTorch's h_n and c_n). lengths,
// when not nil, gives each sequence's length ≤ T: later steps are padding,
// as with PyTorch's packed sequences (their outputs are zero, they change
// no state and receive no gradient, and the reverse direction starts at
// each sequence's own last step).
func (l *LSTM) ForwardWith(x *autograd.Var, init LSTMState, lengths []int) (*autograd.Var, LSTMState) {
	if l.hidden == 0 {
		panic(unbuilt("LSTM", "NewLSTM"))
	}
	out, h, c := l.run("LSTM.ForwardWith", x, init.H, init.C, lengths)
	return out, LSTMState{H: h, C: c}
}

// String describes the layer, like "LSTM(64 → 256, layers=2)".
func (l *LSTM) String() string { return l.describe("LSTM") }
