package nn_test

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

func randT(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandN(rand.New(rand.NewPCG(seed, 3)), 0, 1, shape...)
}

// TestRecurrentInit checks PyTorch's initialisation: every parameter,
// biases included, uniform in ±1/√hidden and spread over that range.
func TestRecurrentInit(t *testing.T) {
	const hidden = 16
	bound := float32(1 / math.Sqrt(hidden))
	mods := []nn.Module{
		nn.NewLSTM(8, hidden, nn.RNNConfig{Layers: 2, Bidirectional: true}, nn.WithSeed(1)),
		nn.NewGRU(8, hidden, nn.RNNConfig{}, nn.WithSeed(2)),
		nn.NewRNN(8, hidden, nn.RNNConfig{}, nn.WithSeed(3)),
		nn.NewLSTMCell(8, hidden, nn.WithSeed(4)),
		nn.NewGRUCell(8, hidden, nn.WithSeed(5)),
		nn.NewRNNCell(8, hidden, "tanh", nn.WithSeed(6)),
	}
	for _, m := range mods {
		for _, p := range m.Params() {
			v := p.Value()
			require.LessOrEqual(t, tensor.MaxAll(v), bound, p.Name)
			require.GreaterOrEqual(t, tensor.MinAll(v), -bound, p.Name)
			require.Greater(t, tensor.MaxAll(v)-tensor.MinAll(v), bound, "%s spans less than half the range", p.Name)
		}
	}
}

// TestRecurrentGradThroughLayers checks the gradient of a two-layer
// bidirectional LSTM and GRU with lengths and a batch-first input against
// central differences, with respect to the input and the initial state.
func TestRecurrentGradThroughLayers(t *testing.T) {
	cfg := nn.RNNConfig{Layers: 2, Bidirectional: true, BatchFirst: true}
	lstm := nn.NewLSTM(3, 2, cfg, nn.WithSeed(7))
	gru := nn.NewGRU(3, 2, cfg, nn.WithSeed(8))
	lengths := []int{4, 2}
	x, h0, c0 := randT(1, 2, 4, 3), randT(2, 4, 2, 2), randT(3, 4, 2, 2)
	res, err := autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var {
		out, st := lstm.ForwardWith(xs[0], nn.LSTMState{H: xs[1], C: xs[2]}, lengths)
		return autograd.Concat(0, autograd.Reshape(out, -1), autograd.Reshape(st.H, -1), autograd.Reshape(st.C, -1))
	}, []*tensor.Tensor{x, h0, c0}, autograd.GradCheckOptions{})
	require.NoError(t, err, "LSTM: %v", res)
	res, err = autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var {
		out, st := gru.ForwardWith(xs[0], nn.RNNState{H: xs[1]}, lengths)
		return autograd.Concat(0, autograd.Reshape(out, -1), autograd.Reshape(st.H, -1))
	}, []*tensor.Tensor{x, h0}, autograd.GradCheckOptions{})
	require.NoError(t, err, "GRU: %v", res)
}

// TestRecurrentDropout checks dropout between layers: applied while
// training (reproducibly with a seed), never after the last layer, not in
// evaluation mode, and not to inference-mode inputs.
func TestRecurrentDropout(t *testing.T) {
	x := randT(4, 6, 3, 5)
	build := func(layers int) *nn.LSTM {
		return nn.NewLSTM(5, 8, nn.RNNConfig{Layers: layers, Dropout: 0.5}, nn.WithSeed(9))
	}
	m := build(2)
	nn.Eval(m)
	evalOut := m.Forward(autograd.Constant(x)).Value()
	nn.Train(m)
	train1 := m.Forward(autograd.Constant(x)).Value()
	require.Greater(t, tensor.MaxAbsDiff(train1, evalOut), float32(1e-3), "training output equals evaluation output")
	require.Equal(t, train1.Data(), build(2).Forward(autograd.Constant(x)).Value().Data(), "same seed, different masks")
	train2 := m.Forward(autograd.Constant(x)).Value()
	require.NotEqual(t, train1.Data(), train2.Data(), "the same mask twice")
	require.Equal(t, evalOut.Data(), m.Forward(autograd.NoGrad(x)).Value().Data(), "dropout on an inference-mode input")

	// A checkpointed generator state replays the same masks.
	state, err := nn.RNGState(m)
	require.NoError(t, err)
	next := m.Forward(autograd.Constant(x)).Value()
	require.NoError(t, nn.SetRNGState(m, state))
	require.Equal(t, next.Data(), m.Forward(autograd.Constant(x)).Value().Data(), "restored generator state")

	// So does a layer given a generator whose state cannot be read.
	wr := nn.NewGRU(5, 8, nn.RNNConfig{Layers: 2, Dropout: 0.5}, nn.WithRand(rand.New(rand.NewChaCha8([32]byte{1}))))
	state, err = nn.RNGState(wr)
	require.NoError(t, err)
	next = wr.Forward(autograd.Constant(x)).Value()
	require.NoError(t, nn.SetRNGState(wr, state))
	require.Equal(t, next.Data(), wr.Forward(autograd.Constant(x)).Value().Data(), "restored generator state, WithRand")

	one := build(1)
	require.Equal(t, one.Forward(autograd.Constant(x)).Value().Data(), func() []float32 {
		nn.Eval(one)
		return one.Forward(autograd.Constant(x)).Value().Data()
	}(), "dropout after the last layer")
	require.True(t, nn.IsTraining(build(1)))
}

// TestLSTMCellStepsEqualLayer runs an LSTMCell over a sequence with the
// weights of a one-layer LSTM and expects the same outputs and final
// state.
func TestLSTMCellStepsEqualLayer(t *testing.T) {
	layer := nn.NewLSTM(3, 4, nn.RNNConfig{}, nn.WithSeed(10))
	cell := nn.NewLSTMCell(3, 4, nn.WithSeed(11))
	for i, p := range layer.Params() {
		tensor.Copy(cell.Params()[i].Value(), p.Value())
	}
	x := randT(5, 6, 2, 3)
	out, st := layer.ForwardWith(autograd.Constant(x), nn.LSTMState{}, nil)
	var cs nn.LSTMState
	for i := 0; i < 6; i++ {
		cs = cell.Step(autograd.Constant(tensor.Slice(x, 0, i, i+1).Reshape(2, 3)), cs)
		require.Equal(t, tensor.Slice(out.Value(), 0, i, i+1).Data(), cs.H.Value().Data(), "step %d", i)
	}
	require.Equal(t, st.C.Value().Data(), cs.C.Value().Data())
}

// TestRecurrentConcurrentEval runs one model in evaluation mode from many
// goroutines and expects every result to equal the sequential one.
func TestRecurrentConcurrentEval(t *testing.T) {
	m := nn.NewGRU(4, 6, nn.RNNConfig{Layers: 2, Bidirectional: true, Dropout: 0.3}, nn.WithSeed(12))
	nn.Eval(m)
	x := randT(6, 5, 3, 4)
	want := m.Forward(autograd.NoGrad(x)).Value().Data()
	var wg sync.WaitGroup
	got := make([][]float32, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = m.Forward(autograd.NoGrad(x)).Value().Data()
		}()
	}
	wg.Wait()
	for i := range got {
		require.Equal(t, want, got[i])
	}
}

func TestRecurrentConstructorsAndShapes(t *testing.T) {
	require.PanicsWithValue(t, "nn.NewLSTM: sizes must be positive, got input=0 hidden=4", func() { nn.NewLSTM(0, 4, nn.RNNConfig{}) })
	require.PanicsWithValue(t, "nn.NewGRU: dropout 1 outside [0, 1)", func() { nn.NewGRU(2, 4, nn.RNNConfig{Dropout: 1}) })
	require.PanicsWithValue(t, `nn.NewRNN: nonlinearity "sigmoid", want "tanh" or "relu"`, func() { nn.NewRNN(2, 4, nn.RNNConfig{Nonlinearity: "sigmoid"}) })
	require.PanicsWithValue(t, "nn.NewLSTM: Nonlinearity applies only to RNN", func() { nn.NewLSTM(2, 4, nn.RNNConfig{Nonlinearity: "relu"}) })

	m := nn.NewLSTM(3, 4, nn.RNNConfig{Layers: 2, BatchFirst: true})
	require.PanicsWithValue(t, "nn.LSTM.ForwardWith: input has shape [5 2 4], want [B, T, 3]", func() { m.Forward(autograd.Constant(tensor.Zeros(5, 2, 4))) })
	require.PanicsWithValue(t, "nn.LSTM.ForwardWith: initial state C has shape [1 5 4], want [2, 5, 4]", func() {
		m.ForwardWith(autograd.Constant(tensor.Zeros(5, 2, 3)), nn.LSTMState{C: autograd.Constant(tensor.Zeros(1, 5, 4))}, nil)
	})
	require.PanicsWithValue(t, "nn.LSTM.ForwardWith: 2 lengths for a batch of 5", func() {
		m.ForwardWith(autograd.Constant(tensor.Zeros(5, 2, 3)), nn.LSTMState{}, []int{1, 2})
	})
	require.PanicsWithValue(t, "nn.LSTMCell.Step: input has shape [2 3 4], want [B, 3]", func() {
		nn.NewLSTMCell(3, 4).Step(autograd.Constant(tensor.Zeros(2, 3, 4)), nn.LSTMState{})
	})

	out, st := m.ForwardWith(autograd.Constant(tensor.Zeros(5, 2, 3)), nn.LSTMState{}, nil)
	require.Equal(t, []int{5, 2, 4}, out.Shape())
	require.Equal(t, []int{2, 5, 4}, st.H.Shape())
	bi := nn.NewGRU(3, 4, nn.RNNConfig{Bidirectional: true})
	out, gs := bi.ForwardWith(autograd.Constant(tensor.Zeros(6, 2, 3)), nn.RNNState{}, nil)
	require.Equal(t, []int{6, 2, 8}, out.Shape())
	require.Equal(t, []int{2, 2, 4}, gs.H.Shape())

	bi2 := nn.NewLSTM(3, 4, nn.RNNConfig{Layers: 2, Bidirectional: true})
	require.Len(t, bi2.Weights, 4)
	require.Equal(t, "weight_ih_l0_reverse", bi2.Weights[1].WeightIH.Name)
	require.Equal(t, []int{16, 8}, bi2.Weights[2].WeightIH.Shape(), "layer 1 reads both directions")
	require.Equal(t, "bias_hh_l1_reverse", bi2.Weights[3].BiasHH.Name)
	require.Equal(t, "LSTM(3 → 4, layers=2, batch first)", m.String())
	require.Equal(t, "GRU(3 → 4, bidirectional)", bi.String())
	require.Equal(t, "RNN(3 → 4, dropout=0.2, relu, no bias)", nn.NewRNN(3, 4, nn.RNNConfig{Dropout: 0.2, Nonlinearity: "relu"}, nn.WithoutBias()).String())
	require.Equal(t, "LSTMCell(3 → 4)", nn.NewLSTMCell(3, 4).String())
	require.Equal(t, "GRUCell(3 → 4, no bias)", nn.NewGRUCell(3, 4, nn.WithoutBias()).String())
	require.Equal(t, "RNNCell(3 → 4, relu)", nn.NewRNNCell(3, 4, "relu").String())
}

// TestRecurrentArena runs a bidirectional LSTM and GRU twice on one
// arena, whose buffers come back uncleared, with different lengths, and
// expects exactly the results of fresh allocations: every output element,
// padding included, is written.
func TestRecurrentArena(t *testing.T) {
	x := randT(7, 5, 3, 4)
	lstm := nn.NewLSTM(4, 6, nn.RNNConfig{Layers: 2, Bidirectional: true}, nn.WithSeed(13))
	gru := nn.NewGRU(4, 6, nn.RNNConfig{Bidirectional: true}, nn.WithSeed(14))
	arena := autograd.NewArena()
	for _, lengths := range [][]int{nil, {5, 1, 3}, {2, 5, 4}} {
		wantL, wantLS := lstm.ForwardWith(autograd.NoGrad(x), nn.LSTMState{}, lengths)
		wantG, wantGS := gru.ForwardWith(autograd.NoGrad(x), nn.RNNState{}, lengths)
		arena.Reset()
		gotL, gotLS := lstm.ForwardWith(arena.Input(x), nn.LSTMState{}, lengths)
		gotG, gotGS := gru.ForwardWith(arena.Input(x), nn.RNNState{}, lengths)
		require.Equal(t, wantL.Value().Data(), gotL.Value().Data(), "LSTM output, lengths %v", lengths)
		require.Equal(t, wantLS.H.Value().Data(), gotLS.H.Value().Data(), "LSTM h_n, lengths %v", lengths)
		require.Equal(t, wantLS.C.Value().Data(), gotLS.C.Value().Data(), "LSTM c_n, lengths %v", lengths)
		require.Equal(t, wantG.Value().Data(), gotG.Value().Data(), "GRU output, lengths %v", lengths)
		require.Equal(t, wantGS.H.Value().Data(), gotGS.H.Value().Data(), "GRU h_n, lengths %v", lengths)
	}
}
