package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// LSTMState is the state of an LSTM: the hidden state H and the cell state
// C. For an LSTMCell both are [B, hidden]; for an LSTM layer they are
// [layers·directions, B, hidden], ordered like PyTorch's h_n and c_n
// (layer 0 forward, layer 0 reverse, layer 1 forward, ...). The zero value
// (nil H and C) stands for an all-zero initial state.
type LSTMState struct {
	H, C *autograd.Var
}

// RNNState is the state of an RNN or GRU: the hidden state H, shaped like
// LSTMState.H. The zero value stands for an all-zero initial state.
type RNNState struct {
	H *autograd.Var
}

// RecurrentParams are the parameters of one recurrent cell, or of one layer
// and direction of a recurrent layer, in PyTorch's layout: WeightIH is
// [G·hidden, input], WeightHH is [G·hidden, hidden], BiasIH and BiasHH are
// [G·hidden] (nil when built WithoutBias), with G gates packed along the
// first axis: 4 for an LSTM (i, f, g, o), 3 for a GRU (r, z, n), 1 for an
// RNN.
type RecurrentParams struct {
	WeightIH, WeightHH *Param
	BiasIH, BiasHH     *Param
}

// newRecurrentParams draws the weights of one cell from U(−1/√hidden,
// 1/√hidden), as PyTorch does for every recurrent parameter, in PyTorch's
// registration order. suffix follows the PyTorch names ("" for a cell,
// "_l0", "_l1_reverse", ...).
func newRecurrentParams(gates, input, hidden int, suffix string, noBias bool, r *rand.Rand) RecurrentParams {
	bound := 1 / math.Sqrt(float64(hidden))
	mk := func(name string, shape ...int) *Param {
		t := tensor.Zeros(shape...)
		fillUniform(t, r, bound)
		return NewParam(name+suffix, t)
	}
	p := RecurrentParams{
		WeightIH: mk("weight_ih", gates*hidden, input),
		WeightHH: mk("weight_hh", gates*hidden, hidden),
	}
	if !noBias {
		p.BiasIH = mk("bias_ih", gates*hidden)
		p.BiasHH = mk("bias_hh", gates*hidden)
	}
	return p
}

// weights returns the cell's parameters as the fused op takes them.
func (p RecurrentParams) weights() autograd.RecurrentWeights {
	return autograd.RecurrentWeights{IH: p.WeightIH.Var, HH: p.WeightHH.Var, BiasIH: varOf(p.BiasIH), BiasHH: varOf(p.BiasHH)}
}

// params lists the present parameters in PyTorch's order.
func (p RecurrentParams) params() []*Param {
	return params(p.WeightIH, p.WeightHH, p.BiasIH, p.BiasHH)
}

// sizes returns the input and hidden sizes.
func (p RecurrentParams) sizes() (input, hidden int) {
	return p.WeightIH.Value().Dim(1), p.WeightHH.Value().Dim(1)
}

// cellKind names the maths of a recurrent cell.
type cellKind int

const (
	cellRNN cellKind = iota
	cellLSTM
	cellGRU
)

var cellGates = [...]int{cellRNN: 1, cellLSTM: 4, cellGRU: 3}

// stepInput checks a cell's input [B, input] and returns it as a one-step
// sequence [1, B, input].
func stepInput(op string, x *autograd.Var, input int) *autograd.Var {
	xs := x.Shape()
	if len(xs) != 2 || xs[1] != input {
		panic(fmt.Sprintf("nn.%s: input has shape %v, want [B, %d]", op, xs, input))
	}
	return autograd.Reshape(x, 1, xs[0], xs[1])
}

// LSTMCell is one step of a long short-term memory network (PyTorch's
// nn.LSTMCell, same parameter names weight_ih, weight_hh, bias_ih,
// bias_hh and gate order i, f, g, o):
//
//	st = cell.Step(x, st) // x [B, input]; st.H, st.C [B, hidden]
//
// It computes exactly what one step of an LSTM layer computes (both run the
// same fused op), so a loop of Steps reproduces the layer.
type LSTMCell struct {
	RecurrentParams
}

// NewLSTMCell returns an LSTMCell mapping input features to hidden units,
// with every parameter drawn from U(−1/√hidden, 1/√hidden). Options:
// WithoutBias, WithSeed, WithSource, WithRand.
func NewLSTMCell(input, hidden int, opts ...Option) *LSTMCell {
	checkSizes("NewLSTMCell", input, hidden)
	c := newConfig(opts)
	return &LSTMCell{newRecurrentParams(4, input, hidden, "", c.noBias, c.rng)}
}

// Step advances the state st (zero value: zeros) by one input x [B, input]
// and returns the new state.
func (c *LSTMCell) Step(x *autograd.Var, st LSTMState) LSTMState {
	if c.WeightIH == nil {
		panic(unbuilt("LSTMCell", "NewLSTMCell"))
	}
	in, _ := c.sizes()
	_, h, cc := autograd.LSTM(stepInput("LSTMCell.Step", x, in), st.H, st.C, c.weights(), autograd.RecurrentOptions{})
	return LSTMState{H: h, C: cc}
}

// Forward returns the hidden state after one step from a zero state.
func (c *LSTMCell) Forward(x *autograd.Var) *autograd.Var { return c.Step(x, LSTMState{}).H }

// Params returns weight_ih, weight_hh, bias_ih and bias_hh.
func (c *LSTMCell) Params() []*Param { return c.params() }

// String describes the cell, like "LSTMCell(10 → 20)".
func (c *LSTMCell) String() string { return cellString("LSTMCell", c.RecurrentParams, "") }

// GRUCell is one step of a gated recurrent unit (PyTorch's nn.GRUCell,
// same names and gate order r, z, n; the reset gate multiplies
// W_hn h + b_hn):
//
//	st = cell.Step(x, st) // x [B, input]; st.H [B, hidden]
type GRUCell struct {
	RecurrentParams
}

// NewGRUCell returns a GRUCell mapping input features to hidden units, with
// every parameter drawn from U(−1/√hidden, 1/√hidden). Options:
// WithoutBias, WithSeed, WithSource, WithRand.
func NewGRUCell(input, hidden int, opts ...Option) *GRUCell {
	checkSizes("NewGRUCell", input, hidden)
	c := newConfig(opts)
	return &GRUCell{newRecurrentParams(3, input, hidden, "", c.noBias, c.rng)}
}

// Step advances the state st (zero value: zeros) by one input x [B, input]
// and returns the new state.
func (c *GRUCell) Step(x *autograd.Var, st RNNState) RNNState {
	if c.WeightIH == nil {
		panic(unbuilt("GRUCell", "NewGRUCell"))
	}
	in, _ := c.sizes()
	_, h := autograd.GRU(stepInput("GRUCell.Step", x, in), st.H, c.weights(), autograd.RecurrentOptions{})
	return RNNState{H: h}
}

// Forward returns the hidden state after one step from a zero state.
func (c *GRUCell) Forward(x *autograd.Var) *autograd.Var { return c.Step(x, RNNState{}).H }

// Params returns weight_ih, weight_hh, bias_ih and bias_hh.
func (c *GRUCell) Params() []*Param { return c.params() }

// String describes the cell, like "GRUCell(10 → 20)".
func (c *GRUCell) String() string { return cellString("GRUCell", c.RecurrentParams, "") }

// RNNCell is one step of an Elman network, h' = tanh(W_ih x + b_ih +
// W_hh h + b_hh) or the same with ReLU (PyTorch's nn.RNNCell):
//
//	st = cell.Step(x, st) // x [B, input]; st.H [B, hidden]
type RNNCell struct {
	RecurrentParams
	// ReLU selects max(0, ·) instead of tanh.
	ReLU bool
}

// NewRNNCell returns an RNNCell mapping input features to hidden units with
// the nonlinearity "tanh" (or "") or "relu", every parameter drawn from
// U(−1/√hidden, 1/√hidden). Options: WithoutBias, WithSeed, WithSource, WithRand.
func NewRNNCell(input, hidden int, nonlinearity string, opts ...Option) *RNNCell {
	checkSizes("NewRNNCell", input, hidden)
	relu := parseNonlinearity("NewRNNCell", nonlinearity)
	c := newConfig(opts)
	return &RNNCell{RecurrentParams: newRecurrentParams(1, input, hidden, "", c.noBias, c.rng), ReLU: relu}
}

// Step advances the state st (zero value: zeros) by one input x [B, input]
// and returns the new state.
func (c *RNNCell) Step(x *autograd.Var, st RNNState) RNNState {
	if c.WeightIH == nil {
		panic(unbuilt("RNNCell", "NewRNNCell"))
	}
	in, _ := c.sizes()
	_, h := autograd.RNN(stepInput("RNNCell.Step", x, in), st.H, c.weights(), autograd.RecurrentOptions{ReLU: c.ReLU})
	return RNNState{H: h}
}

// Forward returns the hidden state after one step from a zero state.
func (c *RNNCell) Forward(x *autograd.Var) *autograd.Var { return c.Step(x, RNNState{}).H }

// Params returns weight_ih, weight_hh, bias_ih and bias_hh.
func (c *RNNCell) Params() []*Param { return c.params() }

// String describes the cell, like "RNNCell(10 → 20, relu)".
func (c *RNNCell) String() string {
	extra := ""
	if c.ReLU {
		extra = ", relu"
	}
	return cellString("RNNCell", c.RecurrentParams, extra)
}

func cellString(kind string, p RecurrentParams, extra string) string {
	if p.WeightIH == nil {
		return kind + "(unbuilt)"
	}
	in, h := p.sizes()
	if p.BiasIH == nil {
		extra += ", no bias"
	}
	return fmt.Sprintf("%s(%d → %d%s)", kind, in, h, extra)
}

func checkSizes(op string, input, hidden int) {
	if input < 1 || hidden < 1 {
		panic(fmt.Sprintf("nn.%s: sizes must be positive, got input=%d hidden=%d", op, input, hidden))
	}
}

func parseNonlinearity(op, s string) (relu bool) {
	switch s {
	case "", "tanh":
		return false
	case "relu":
		return true
	}
	panic(fmt.Sprintf("nn.%s: nonlinearity %q, want \"tanh\" or \"relu\"", op, s))
}
