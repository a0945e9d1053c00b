package train

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// shardRun trains a small GPT for two epochs of 7-window batches (the last
// batch of each epoch shorter) with the given Shards and workers, and
// returns the history and the final parameters.
func shardRun(t *testing.T, shards, workers int, loss nn.Loss) (*History, [][]float32) {
	return shardRunModel(t, shards, workers, loss, func(vocab int) nn.Module {
		return nn.NewGPT(nn.GPTModelConfig{VocabSize: vocab, BlockSize: 8, Layers: 2, Block: nn.GPTConfig{DModel: 16, Heads: 2}}, nn.WithSeed(1))
	})
}

// shardRunModel is shardRun for the model build makes.
func shardRunModel(t *testing.T, shards, workers int, loss nn.Loss, build func(vocab int) nn.Module) (*History, [][]float32) {
	t.Helper()
	prev := parallel.SetWorkers(workers)
	defer parallel.SetWorkers(prev)
	stream, vocab := lmData(t, 8)
	w, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 8, VocabSize: vocab, PerEpoch: 30, Seed: 1})
	require.NoError(t, err)
	val, err := text.NewSequential(stream[:100], 8, vocab)
	require.NoError(t, err)
	model := build(vocab)
	opt := optim.NewAdamW(model.Params(), optim.AdamWConfig{LR: 1e-2})
	hist, err := Fit(context.Background(), model, opt, w, Config{
		Epochs: 2, BatchSize: 7, Quiet: true, Validation: val, ClipGradNorm: 1, Shards: shards, Loss: loss,
		Metrics: []func() metrics.Metric{Accuracy, Perplexity},
	})
	require.NoError(t, err)
	var params [][]float32
	for _, p := range model.Params() {
		params = append(params, append([]float32(nil), p.Value().Data()...))
	}
	return hist, params
}

// TestFitShardsMatchesWhole checks that Fit with Shards trains as Fit
// without: the same losses, metrics and weights after 10 steps, to float32
// rounding, with the batch of 7 split 3 + 4 (and the last, short batch of
// 2 split 1 + 1) — a share weighted by anything but its rows, a share's
// gradient merged twice or not at all, or the metrics of one share only,
// fail here; and with a summing loss, whose shares count whole.
func TestFitShardsMatchesWhole(t *testing.T) {
	for _, loss := range []nn.Loss{nn.CrossEntropyLoss{}, nn.CrossEntropyLoss{Reduction: nn.ReduceSum}} {
		whole, wp := shardRun(t, 0, 2, loss)
		for _, shards := range []int{2, 3} {
			split, sp := shardRun(t, shards, 2, loss)
			require.Len(t, split.Epochs, len(whole.Epochs))
			for e := range whole.Epochs {
				for k, v := range whole.Epochs[e] {
					require.InDelta(t, v, split.Epochs[e][k], 2e-4*math.Max(1, math.Abs(v)), "shards %d, reduction %v, epoch %d, %s", shards, loss.(nn.CrossEntropyLoss).Reduction, e, k)
				}
			}
			for k := range wp {
				require.InDeltaSlice(t, wp[k], sp[k], 2e-4, "shards %d: parameter %d", shards, k)
			}
		}
	}
}

// TestFitShardsSameBitsOnAnyWorkers checks that training with Shards gives
// the same losses and weights, bit for bit, on one worker (the shares run
// one after the other) and on two (side by side), as the whole-batch step
// does: the result depends on Shards, not on the workers. A GPT and a
// 2-layer LSTM (whose stack keeps its weights beside its graph record);
// under the race detector, this is also the test that two shares of one
// model train at once safely.
func TestFitShardsSameBitsOnAnyWorkers(t *testing.T) {
	h1, p1 := shardRun(t, 2, 1, nil)
	h2, p2 := shardRun(t, 2, 2, nil)
	require.Equal(t, h1.Epochs, h2.Epochs)
	require.Equal(t, p1, p2)
	lstm := func(vocab int) nn.Module {
		return nn.NewRNNLM(nn.RNNLMConfig{Vocab: vocab, Embed: 8, Hidden: 12, Layers: 2}, nn.WithSeed(1))
	}
	h1, p1 = shardRunModel(t, 2, 1, nil, lstm)
	h2, p2 = shardRunModel(t, 2, 2, nil, lstm)
	require.Equal(t, h1.Epochs, h2.Epochs)
	require.Equal(t, p1, p2)
	whole, wp := shardRunModel(t, 0, 2, nil, lstm)
	require.InDelta(t, whole.Epochs[1]["loss"], h2.Epochs[1]["loss"], 1e-4)
	for k := range wp {
		require.InDeltaSlice(t, wp[k], p2[k], 2e-4, "LSTM parameter %d", k)
	}
}

// sumLoss has no Reduction field: Fit cannot tell how to weight its shares.
type sumLoss struct{}

func (sumLoss) Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	return nn.CrossEntropyLoss{}.Forward(pred, target)
}
func (sumLoss) Name() string { return "sumLoss" }

// TestFitShardsRefuses checks the clear errors of Shards: a negative
// count, a model with layers that change state in training (Dropout,
// attention dropout, BatchNorm), a loss that does not say how it reduces
// or does not reduce to a scalar.
func TestFitShardsRefuses(t *testing.T) {
	stream, vocab := lmData(t, 8)
	w, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 8, VocabSize: vocab, PerEpoch: 8, Seed: 1})
	require.NoError(t, err)
	gpt := func(dropout float32) nn.Module {
		return nn.NewGPT(nn.GPTModelConfig{VocabSize: vocab, BlockSize: 8, Layers: 1, Block: nn.GPTConfig{DModel: 8, Heads: 2, Dropout: dropout}}, nn.WithSeed(1))
	}
	fit := func(m nn.Module, cfg Config) error {
		cfg.Quiet = true
		_, err := Fit(context.Background(), m, optim.NewSGD(m.Params(), optim.SGDConfig{LR: 0.1}), w, cfg)
		return err
	}
	require.ErrorContains(t, fit(gpt(0), Config{Shards: -1}), "Shards is -1")
	require.ErrorContains(t, fit(gpt(0.1), Config{Shards: 2}), "Dropout(p=0.1)")
	require.ErrorContains(t, fit(gpt(0), Config{Shards: 2, Loss: sumLoss{}}), "sumLoss")
	require.ErrorContains(t, fit(gpt(0), Config{Shards: 2, Loss: nn.CrossEntropyLoss{Reduction: nn.ReduceNone}}), "reduces to a scalar")
	require.NoError(t, fit(gpt(0.1), Config{Shards: 1}), "one share trains the batch whole")
}

// trapModel is a dense layer whose output turns NaN, or which panics,
// on a share of 3 rows starting with a 1: the second share of the batch
// below.
type trapModel struct {
	*nn.Dense
	panics bool
}

func (m trapModel) Forward(x *autograd.Var) *autograd.Var {
	out := m.Dense.Forward(x)
	if x.Value().Dim(0) == 3 && x.Value().Data()[0] == 1 {
		if m.panics {
			panic("boom")
		}
		return autograd.MulScalar(out, float32(math.NaN()))
	}
	return out
}

// TestFitShardsFailures checks that a share whose loss is not finite stops
// training with an error naming the share and its rows, and that a panic
// in a share's model is reported with the stage, not re-raised on a
// worker.
func TestFitShardsFailures(t *testing.T) {
	x := tensor.Zeros(6, 3)
	for i := range 3 { // rows 3..5 start with 1
		x.Data()[(3+i)*3] = 1
	}
	ds, err := data.NewTensorDataset(x, tensor.Zeros(6))
	require.NoError(t, err)
	for _, c := range []struct {
		panics bool
		want   string
	}{
		{false, "loss is NaN at epoch 1, step 1 (share 2 of 2, rows 3 to 5)"},
		{true, "the model of share 2 of 2 (rows 3 to 5) failed on a batch of input shape [6 3] (target shape [6]): boom"},
	} {
		m := trapModel{nn.NewDense(3, 2, nn.WithSeed(1)), c.panics}
		_, err := Fit(context.Background(), m, optim.NewSGD(m.Params(), optim.SGDConfig{LR: 0.1}), ds, Config{
			Shards: 2, BatchSize: 6, NoShuffle: true, Quiet: true,
		})
		require.ErrorContains(t, err, c.want)
	}
}

// hiddenLSTM runs an LSTM over a copy of its input made with no arena, so
// that the op keeps the real weights beside its record where no share's
// arena sees them, then adds a dense layer of the arena's input.
type hiddenLSTM struct {
	w     autograd.RecurrentWeights
	dense *nn.Dense
	ps    []*nn.Param
}

func newHiddenLSTM() *hiddenLSTM {
	p := func(name string, shape ...int) *nn.Param {
		t := tensor.Zeros(shape...)
		for i := range t.Data() {
			t.Data()[i] = float32(i%7)/7 - 0.4
		}
		return nn.NewParam(name, t)
	}
	m := &hiddenLSTM{dense: nn.NewDense(3, 2, nn.WithSeed(1))}
	ih, hh := p("weight_ih", 8, 3), p("weight_hh", 8, 2)
	m.w = autograd.RecurrentWeights{IH: ih.Var, HH: hh.Var}
	m.ps = append([]*nn.Param{ih, hh}, m.dense.Params()...)
	return m
}

func (m *hiddenLSTM) Forward(x *autograd.Var) *autograd.Var {
	b := x.Value().Dim(0)
	seq := autograd.Constant(x.Value().Reshape(1, b, 3))
	out, _, _ := autograd.LSTM(seq, nil, nil, m.w, autograd.RecurrentOptions{})
	return autograd.Add(autograd.Reshape(out, b, 2), m.dense.Forward(x))
}

func (m *hiddenLSTM) Params() []*nn.Param { return m.ps }

// TestFitShardsCatchesDirectGradients checks that a model whose backward
// writes a parameter's gradient around its share's arena (here an LSTM op
// none of whose inputs came from the arena) stops Fit with an error naming
// the parameter, instead of the shares racing on it: the guard in the
// sharded step, not the race detector, catches it.
func TestFitShardsCatchesDirectGradients(t *testing.T) {
	x := shareTestData(6, 3)
	ds, err := data.NewTensorDataset(x, tensor.Zeros(6))
	require.NoError(t, err)
	m := newHiddenLSTM()
	// One worker: the shares run one after the other, so the test itself
	// does not race.
	defer parallel.SetWorkers(parallel.SetWorkers(1))
	_, err = Fit(context.Background(), m, optim.NewSGD(m.Params(), optim.SGDConfig{LR: 0.1}), ds, Config{
		Shards: 2, BatchSize: 6, Quiet: true,
	})
	require.ErrorContains(t, err, `parameter "weight_ih" received its gradient outside its share's arena`)
	_, err = Fit(context.Background(), m, optim.NewSGD(m.Params(), optim.SGDConfig{LR: 0.1}), ds, Config{BatchSize: 6, Quiet: true})
	require.NoError(t, err, "whole batches train it")
}

// shareTestData returns an [n, f] tensor of small distinct values.
func shareTestData(n, f int) *tensor.Tensor {
	x := tensor.Zeros(n, f)
	for i := range x.Data() {
		x.Data()[i] = float32(i%5)/5 - 0.3
	}
	return x
}
