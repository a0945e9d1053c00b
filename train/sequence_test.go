package train

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// epochWindows wraps text.Windows and records the epochs it is told.
type epochWindows struct {
	*text.Windows
	epochs []int
}

func (e *epochWindows) SetEpoch(n int) { e.epochs = append(e.epochs, n); e.Windows.SetEpoch(n) }

func lmData(t *testing.T, seqLen int) (stream []int32, vocab int) {
	tok, err := text.NewChars("abcdefgh")
	require.NoError(t, err)
	s, err := text.Int32s(tok.Encode(strings.Repeat("abcdefgh", 40)))
	require.NoError(t, err)
	return s, tok.VocabSize()
}

func TestFitLanguageModel(t *testing.T) {
	stream, vocab := lmData(t, 8)
	w, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 8, VocabSize: vocab, PerEpoch: 32, Seed: 1})
	require.NoError(t, err)
	ds := &epochWindows{Windows: w}
	val, err := text.NewSequential(stream[:100], 8, vocab)
	require.NoError(t, err)
	model := nn.NewGPT(nn.GPTModelConfig{VocabSize: vocab, BlockSize: 8, Layers: 1, Block: nn.GPTConfig{DModel: 16, Heads: 2}}, nn.WithSeed(1))
	opt := optim.NewAdamW(model.Params(), optim.AdamWConfig{LR: 1e-2})
	sched := optim.NewWarmupCosine(opt, optim.WarmupCosineConfig{Warmup: 4, Total: 24, StartFactor: optim.Zero})
	var lrs []float64
	hist, err := Fit(context.Background(), model, opt, ds, Config{
		Epochs: 3, BatchSize: 4, Quiet: true, Validation: val, ClipGradNorm: 1,
		Metrics:   []func() metrics.Metric{Accuracy, Perplexity, BitsPerToken},
		Callbacks: []Callback{&StepScheduler{Schedule: sched}, recordLR(&lrs)},
	})
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2}, ds.epochs)
	// Per-step warm-up: 0 at the first step, then up by a quarter of the base each step.
	require.InDeltaSlice(t, []float64{0, 2.5e-3, 5e-3, 7.5e-3, 1e-2}, lrs[:5], 1e-9)
	first, last := hist.Epochs[0], hist.Epochs[2]
	require.Less(t, last["loss"], first["loss"]/2, "%v", hist.Epochs)
	for _, e := range hist.Epochs {
		// The metrics run over every token: on the training batches they
		// see the same logits as the loss.
		require.InDelta(t, math.Exp(e["loss"]), e["perplexity"], 1e-3*e["perplexity"])
		require.InDelta(t, e["loss"]/math.Ln2, e["bits"], 1e-4)
		require.InDelta(t, math.Exp(e["val_loss"]), e["val_perplexity"], 1e-3*e["val_perplexity"])
	}
	require.Greater(t, last["val_accuracy"], 0.9, "a cyclic text is predictable: %v", last)
}

// recordLR records the learning rate at every batch.
func recordLR(lrs *[]float64) Callback {
	return &lrRecorder{lrs: lrs}
}

type lrRecorder struct {
	BaseCallback
	lrs *[]float64
}

func (c *lrRecorder) OnBatchBegin(s *State) error {
	*c.lrs = append(*c.lrs, float64(s.Optimizer.LR()))
	return nil
}

func TestTokenAccuracy(t *testing.T) {
	// Two sequences of 2 tokens over 3 classes; 3 of the 4 arg-maxes are right.
	b := &data.Batch{X: tensor.Zeros(2, 2), Y: tensor.New([]float32{0, 2, 1, 1}, 2, 2), Labels: []int{2, 1}}
	out := tensor.New([]float32{
		5, 0, 0, 0, 0, 5,
		0, 5, 0, 5, 0, 0,
	}, 2, 2, 3)
	var buf []int
	labels := labelsFor(&buf, b, out)
	require.Equal(t, []int{0, 2, 1, 1}, labels)
	ms := newMetrics([]func() metrics.Metric{Accuracy, Perplexity}, true)
	require.NoError(t, ms.update(labels, out))
	logs := Logs{}
	ms.results(logs, "")
	require.InDelta(t, 0.75, logs["accuracy"], 1e-12)
	p := 1 / (1 + 2*math.Exp(-5))
	wantNLL := (3*-math.Log(p) - math.Log(math.Exp(-5)*p)) / 4
	require.InDelta(t, math.Exp(wantNLL), logs["perplexity"], 1e-4)
	// A classifier batch keeps its labels.
	require.Equal(t, []int{2, 1}, labelsFor(&buf, b, tensor.Zeros(2, 3)))
}

func TestSequenceTargetsChecked(t *testing.T) {
	stream, vocab := lmData(t, 4)
	w, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 4, VocabSize: vocab + 5, PerEpoch: 8, Seed: 1})
	require.NoError(t, err)
	small := nn.NewRNNLM(nn.RNNLMConfig{Vocab: vocab - 3, Embed: 3, Hidden: 4}, nn.WithSeed(1))
	_, err = Fit(context.Background(), small, optim.NewSGD(small.Params(), optim.SGDConfig{LR: 0.1}), w, Config{Quiet: true})
	require.ErrorContains(t, err, "needs a class id, a whole number in [0, 6) for a model with 6 outputs")
	// Ids the embedding takes but the head cannot predict.
	ids := nn.IDs([]int{0, 1, 2, 3, 4, 5, 6, 7}, 2, 4)
	tgt := tensor.New([]float32{1, 2, 3, 4, 5, 6, 7, 9}, 2, 4)
	m := nn.NewRNNLM(nn.RNNLMConfig{Vocab: 9, Embed: 3, Hidden: 4}, nn.WithSeed(1))
	ds, err := data.NewTensorDataset(ids, tgt)
	require.NoError(t, err)
	err = CheckInput(m, nn.CrossEntropyLoss{}, ds)
	require.EqualError(t, err, "train: example 1 has target 9; CrossEntropyLoss needs a class id, a whole number in [0, 9) for a model with 9 outputs")
}

func TestClipGradNorm(t *testing.T) {
	x := tensor.New([]float32{1, 2, 3, 4}, 2, 2)
	y := tensor.New([]float32{100, -100}, 2, 1)
	moved := func(clip float32) float64 {
		m := nn.NewDense(2, 1, nn.WithSeed(1))
		before := nn.StateDict(m)
		var w0 []float32
		for _, nt := range before {
			w0 = append(w0, nt.Value.Clone().Data()...)
		}
		opt := optim.NewSGD(m.Params(), optim.SGDConfig{LR: 1})
		ds, err := data.NewTensorDataset(x, y)
		require.NoError(t, err)
		_, err = Fit(context.Background(), m, opt, ds, Config{
			Quiet: true, Loss: nn.MSELoss{}, Metrics: []func() metrics.Metric{}, BatchSize: 2, ClipGradNorm: clip,
		})
		require.NoError(t, err)
		var ss float64
		i := 0
		for _, nt := range nn.StateDict(m) {
			for _, v := range nt.Value.Data() {
				d := float64(v - w0[i])
				ss += d * d
				i++
			}
		}
		return math.Sqrt(ss)
	}
	require.InDelta(t, 0.5, moved(0.5), 1e-5, "one SGD step of LR 1 moves the weights by the clipped norm")
	require.Greater(t, moved(0), 10.0)
	_, err := (&Config{ClipGradNorm: float32(math.NaN())}).withDefaults()
	require.ErrorContains(t, err, "ClipGradNorm is NaN")
}

func TestStepSchedulerState(t *testing.T) {
	m := nn.NewDense(2, 1, nn.WithSeed(1))
	mk := func() (*StepScheduler, optim.Optimizer) {
		opt := optim.NewAdamW(m.Params(), optim.AdamWConfig{LR: 1})
		return &StepScheduler{Schedule: optim.NewWarmupCosine(opt, optim.WarmupCosineConfig{Warmup: 10, Total: 20, StartFactor: optim.Zero})}, opt
	}
	a, opt := mk()
	s := &State{Optimizer: opt}
	for range 7 {
		require.NoError(t, a.OnBatchEnd(s, Logs{}))
	}
	require.InDelta(t, 0.7, opt.LR(), 1e-6)
	state, err := a.MarshalBinary()
	require.NoError(t, err)
	b, opt2 := mk()
	require.NoError(t, b.UnmarshalBinary(state))
	require.InDelta(t, 0.7, opt2.LR(), 1e-6)
}
