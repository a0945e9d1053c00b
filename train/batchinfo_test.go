package train

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
)

// batchSpy records what OnBatchEnd sees of each batch.
type batchSpy struct {
	BaseCallback
	wants            bool
	sizes, targets   []int
	accuracy, losses []float64
	hasAcc           []bool
}

func (c *batchSpy) WantsBatchMetrics() bool { return c.wants }

func (c *batchSpy) OnBatchEnd(s *State, logs Logs) error {
	c.sizes = append(c.sizes, s.BatchSize)
	c.targets = append(c.targets, s.BatchTargets)
	acc, ok := logs["accuracy"]
	c.accuracy, c.hasAcc = append(c.accuracy, acc), append(c.hasAcc, ok)
	c.losses = append(c.losses, logs["loss"])
	return nil
}

// TestBatchSizesAndTargets checks the batch sizes OnBatchEnd is told
// (the last batch is short) and that a classifier scores one target per
// example.
func TestBatchSizesAndTargets(t *testing.T) {
	spy := &batchSpy{}
	m := newMLP(2, 8, 2, 1)
	_, err := Fit(context.Background(), m, newAdam(m, 0.05), blobs(50, 1), Config{
		Epochs: 2, BatchSize: 16, Quiet: true, Callbacks: []Callback{spy},
	})
	require.NoError(t, err)
	require.Equal(t, []int{16, 16, 16, 2, 16, 16, 16, 2}, spy.sizes)
	require.Equal(t, spy.sizes, spy.targets)
	require.NotContains(t, spy.hasAcc, true, "metrics per batch only when asked for")
}

// TestBatchMetricsOnRequest checks that a callback asking for batch
// metrics gets the running accuracy of the epoch so far at every batch,
// and that a sequence model's targets are its tokens.
func TestBatchMetricsOnRequest(t *testing.T) {
	stream, vocab := lmData(t, 8)
	w, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 8, VocabSize: vocab, PerEpoch: 12, Seed: 1})
	require.NoError(t, err)
	model := nn.NewGPT(nn.GPTModelConfig{VocabSize: vocab, BlockSize: 8, Layers: 1, Block: nn.GPTConfig{DModel: 16, Heads: 2}}, nn.WithSeed(1))
	opt := optim.NewAdamW(model.Params(), optim.AdamWConfig{LR: 1e-2})
	spy := &batchSpy{wants: true}
	acc := &accSpy{}
	hist, err := Fit(context.Background(), model, opt, w, Config{
		Epochs: 2, BatchSize: 4, Quiet: true, NoShuffle: true,
		Metrics:   []func() metrics.Metric{func() metrics.Metric { acc.m = metrics.NewAccuracyMetric(); return acc.m }},
		Callbacks: []Callback{spy, acc},
	})
	require.NoError(t, err)
	require.Equal(t, []int{4, 4, 4, 4, 4, 4}, spy.sizes)
	require.Equal(t, []int{32, 32, 32, 32, 32, 32}, spy.targets, "4 windows of 8 tokens")
	require.NotContains(t, spy.hasAcc, false)
	// The value at each batch is the metric's result after that batch.
	require.Equal(t, acc.results, spy.accuracy)
	require.Equal(t, hist.Epochs[1]["accuracy"], spy.accuracy[5], "the last batch's running value is the epoch's")
}

// accSpy reads the accuracy metric's result after each batch, as a
// callback running after the one under test.
type accSpy struct {
	BaseCallback
	m       *metrics.AccuracyMetric
	results []float64
}

func (c *accSpy) OnBatchEnd(*State, Logs) error {
	v, err := c.m.Result()
	c.results = append(c.results, v)
	return err
}
