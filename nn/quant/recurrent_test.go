package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// maxDiff returns the largest |a − b|, or +Inf when the lengths differ.
func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var w float64
	for i := range a {
		w = max(w, math.Abs(float64(a[i]-b[i])))
	}
	return w
}

// recurrentCase is one shape of TestRecurrentMatchesFloat.
type recurrentCase struct {
	b, t, in, h int
	cfg         nn.RNNConfig
	lengths     []int
	init        bool // a random initial state
	noBias      bool
}

var recurrentCases = []recurrentCase{
	{b: 1, t: 1, in: 5, h: 7},
	{b: 3, t: 7, in: 4, h: 17, cfg: nn.RNNConfig{Layers: 2}},
	{b: 3, t: 7, in: 9, h: 33, cfg: nn.RNNConfig{Bidirectional: true, BatchFirst: true}},
	{b: 3, t: 7, in: 6, h: 7, cfg: nn.RNNConfig{Layers: 2, Bidirectional: true}, lengths: []int{7, 3, 1}, init: true},
	{b: 1, t: 7, in: 3, h: 17, cfg: nn.RNNConfig{Layers: 2, BatchFirst: true}, init: true, noBias: true},
	{b: 3, t: 1, in: 33, h: 33, cfg: nn.RNNConfig{Layers: 3}},
}

// recurrentTol bounds |int8 − float| on the outputs and final states of
// recurrentCases (inputs and initial states N(0, 1), PyTorch's default
// initialisation). Measured worst: 0.008 (c_n of a 3-layer LSTM).
const recurrentTol = 0.03

// TestRecurrentMatchesFloat runs quantised LSTMs and GRUs against the
// float layers at awkward sizes (batch 1 and 3, 1 and 7 steps, hidden 7,
// 17 and 33, stacked, bidirectional, batch-first, no bias, sequence
// lengths, initial states): outputs and final states (h_n, and c_n for an
// LSTM) must agree within recurrentTol, and padded steps must be exactly
// zero as in the float layer.
func TestRecurrentMatchesFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i, c := range recurrentCases {
		for _, kind := range []string{"LSTM", "GRU"} {
			t.Run(fmt.Sprintf("%s/%d", kind, i), func(t *testing.T) {
				opts := []nn.Option{nn.WithSeed(uint64(i + 1))}
				if c.noBias {
					opts = append(opts, nn.WithoutBias())
				}
				shape := []int{c.t, c.b, c.in}
				if c.cfg.BatchFirst {
					shape = []int{c.b, c.t, c.in}
				}
				x := autograd.NoGrad(randTensor(rng, shape...))
				layers, dirs := max(c.cfg.Layers, 1), 1
				if c.cfg.Bidirectional {
					dirs = 2
				}
				var h0, c0 *autograd.Var
				if c.init {
					h0 = autograd.NoGrad(randTensor(rng, layers*dirs, c.b, c.h))
					c0 = autograd.NoGrad(randTensor(rng, layers*dirs, c.b, c.h))
				}
				var want, got []*autograd.Var
				var q nn.Module
				if kind == "LSTM" {
					f := nn.NewLSTM(c.in, c.h, c.cfg, opts...)
					qm, err := Quantize(f)
					require.NoError(t, err)
					ql := qm.(*LSTM)
					q = ql
					y, st := f.ForwardWith(x, nn.LSTMState{H: h0, C: c0}, c.lengths)
					want = []*autograd.Var{y, st.H, st.C}
					y, st = ql.ForwardWith(x, nn.LSTMState{H: h0, C: c0}, c.lengths)
					got = []*autograd.Var{y, st.H, st.C}
				} else {
					f := nn.NewGRU(c.in, c.h, c.cfg, opts...)
					qm, err := Quantize(f)
					require.NoError(t, err)
					qg := qm.(*GRU)
					q = qg
					y, st := f.ForwardWith(x, nn.RNNState{H: h0}, c.lengths)
					want = []*autograd.Var{y, st.H}
					y, st = qg.ForwardWith(x, nn.RNNState{H: h0}, c.lengths)
					got = []*autograd.Var{y, st.H}
				}
				for k := range want {
					require.Equal(t, want[k].Shape(), got[k].Shape(), "%v output %d", q, k)
					d := maxDiff(want[k].Value().Data(), got[k].Value().Data())
					t.Logf("%v output %d: max |int8 − float| %.4g", q, k, d)
					require.LessOrEqual(t, d, recurrentTol, "%v output %d", q, k)
				}
				for j, v := range want[0].Value().Data() { // padding stays exactly zero
					if v == 0 {
						require.Zero(t, got[0].Value().Data()[j], "%v output %d", q, j)
					}
				}
				// Forward is ForwardWith from a zero state.
				if !c.init && c.lengths == nil {
					require.Equal(t, got[0].Value().Data(), q.Forward(x).Value().Data())
				}
			})
		}
	}
}

// TestRecurrentInsideModels quantises an LSTM and a GRU where they sit in
// a model (a Sequential, a Residual), with the Dense after them, and
// checks that every recurrent and dense layer was converted.
func TestRecurrentInsideModels(t *testing.T) {
	m := nn.NewSequential(
		nn.NewLSTM(4, 8, nn.RNNConfig{BatchFirst: true}, nn.WithSeed(1)),
		nn.NewResidual(nn.NewGRU(8, 8, nn.RNNConfig{BatchFirst: true}, nn.WithSeed(2))),
		nn.NewDense(8, 3, nn.WithSeed(3)),
	)
	q, err := Quantize(m)
	require.NoError(t, err)
	s := q.(*nn.Sequential)
	require.IsType(t, &LSTM{}, s.Layer(0))
	require.IsType(t, &GRU{}, s.Layer(1).(*nn.Residual).F)
	require.IsType(t, &Dense{}, s.Layer(2))
	x := autograd.NoGrad(randTensor(rand.New(rand.NewPCG(1, 1)), 2, 5, 4))
	want, got := m.Forward(x).Value().Data(), q.Forward(x).Value().Data()
	require.LessOrEqual(t, maxDiff(want, got), 0.05)
	require.Empty(t, q.Params())
}

// TestRecurrentErrors: shape errors name the layer and both shapes, and a
// taped input is refused.
func TestRecurrentErrors(t *testing.T) {
	q := NewLSTM(nn.NewLSTM(4, 5, nn.RNNConfig{Layers: 2}, nn.WithSeed(1)))
	x := autograd.NoGrad(tensor.Zeros(3, 2, 4))
	require.PanicsWithValue(t, "quant.LSTM.Forward: input has shape [3 2 5], want [T, B, 4]", func() {
		q.Forward(autograd.NoGrad(tensor.Zeros(3, 2, 5)))
	})
	require.PanicsWithValue(t, "quant.LSTM.ForwardWith: initial state C has shape [1 2 5], want [2, 2, 5]", func() {
		q.ForwardWith(x, nn.LSTMState{C: autograd.NoGrad(tensor.Zeros(1, 2, 5))}, nil)
	})
	require.PanicsWithValue(t, "quant.LSTM.ForwardWith: length 4 of sequence 1 outside [0, 3]", func() {
		q.ForwardWith(x, nn.LSTMState{}, []int{3, 4})
	})
	require.Panics(t, func() { q.Forward(autograd.NewVar(tensor.Zeros(3, 2, 4))) })
	_, err := Quantize(&nn.GRU{})
	require.ErrorContains(t, err, "GRU is not built")
}

// encoder is a program's own module holding a recurrent layer, which
// Quantize cannot rebuild.
type encoder struct {
	rnn  nn.Module
	head *nn.Dense
}

func (e *encoder) Forward(x *autograd.Var) *autograd.Var { return e.head.Forward(e.rnn.Forward(x)) }
func (e *encoder) Params() []*nn.Param {
	return append(nn.Prefix("rnn", e.rnn.Params()), nn.Prefix("head", e.head.Params())...)
}
func (e *encoder) Children() []nn.Module { return []nn.Module{e.rnn, e.head} }

// TestRecurrentInsideOwnModule: an LSTM or GRU inside a module of the
// program's own type (even inside a Sequential) is an error naming it, not
// a layer silently left float32; the module's code can quantise it with
// NewLSTM, and then Quantize accepts the model.
func TestRecurrentInsideOwnModule(t *testing.T) {
	lstm := nn.NewLSTM(4, 8, nn.RNNConfig{}, nn.WithSeed(1))
	m := nn.NewSequential(&encoder{rnn: lstm, head: nn.NewDense(8, 2, nn.WithSeed(2))}, nn.NewDense(2, 2, nn.WithSeed(3)))
	_, err := Quantize(m)
	require.EqualError(t, err, "quant.Quantize: a *quant.encoder holds an *nn.LSTM, which Quantize cannot replace (it rebuilds only nn.Sequential and nn.Residual); quantise it in the module's own code with quant.NewLSTM or quant.NewGRU")
	_, err = Quantize(&encoder{rnn: nn.NewGRU(4, 8, nn.RNNConfig{}), head: nn.NewDense(8, 2)})
	require.ErrorContains(t, err, "a *quant.encoder holds an *nn.GRU")

	x := autograd.NoGrad(randTensor(rand.New(rand.NewPCG(1, 1)), 3, 2, 4))
	want := m.Forward(x).Value().Data()
	m.Layer(0).(*encoder).rnn = NewLSTM(lstm)
	q, err := Quantize(m)
	require.NoError(t, err)
	require.LessOrEqual(t, maxDiff(want, q.Forward(x).Value().Data()), 0.05)
}

// TestConcurrentPredictRecurrent runs Predict of an int8 LSTM and GRU
// model from several goroutines at once, each with its own batch size:
// with every row quantised on its own, each sequence's outputs are the
// same bits whatever batch it runs in (and the race detector sees the
// shared layers only read).
func TestConcurrentPredictRecurrent(t *testing.T) {
	q, err := Quantize(nn.NewSequential(
		nn.NewLSTM(3, 9, nn.RNNConfig{Layers: 2, Bidirectional: true, BatchFirst: true}, nn.WithSeed(1)),
		nn.NewGRU(18, 5, nn.RNNConfig{BatchFirst: true}, nn.WithSeed(2)),
		nn.NewFlatten(),
		nn.NewDense(6*5, 2, nn.WithSeed(3)),
	))
	require.NoError(t, err)
	x := randTensor(rand.New(rand.NewPCG(4, 4)), 17, 6, 3)
	requireConcurrentPredict(t, q, x, 17)
}

// TestQuantizeRecurrentTooLarge: a recurrent layer whose int32 sums could
// overflow is an error naming it, not a layer silently kept in float32.
func TestQuantizeRecurrentTooLarge(t *testing.T) {
	_, err := Quantize(nn.NewSequential(nn.NewGRU(maxIn+1, 1, nn.RNNConfig{})))
	require.ErrorContains(t, err, "GRU(131073 → 1) is too large for int8")
	require.ErrorContains(t, err, "(layer 0)")
}
