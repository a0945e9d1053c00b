package train

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// fullLoss is the loss of m over the whole of ds in one forward pass.
func fullLoss(t *testing.T, m nn.Module, ds data.Dataset) float64 {
	t.Helper()
	var xs, ys []*tensor.Tensor
	for i := range ds.Len() {
		x, y, _ := data.Get(ds, i)
		xs = append(xs, x.Reshape(append([]int{1}, x.Shape()...)...))
		ys = append(ys, y.Reshape(1))
	}
	x, y := tensor.Concat(0, xs...), tensor.Concat(0, ys...)
	return float64(nn.CrossEntropyLoss{}.Forward(m.Forward(autograd.NoGrad(x)), y).Value().Item())
}

// sampleCounter is a metric whose result is the number of samples since its
// last Reset.
type sampleCounter struct{ n int }

func (c *sampleCounter) Name() string { return "count" }
func (c *sampleCounter) Update(y []int, _ []float32, _ int) error {
	c.n += len(y)
	return nil
}
func (c *sampleCounter) Result() (float64, error) { return float64(c.n), nil }
func (c *sampleCounter) Reset()                   { c.n = 0 }

// TestReportedLossesAndMetricsAreExact trains with a zero learning rate, so
// the weights never move: each epoch's training and validation loss must
// equal the loss of one forward pass over that data, as must Evaluate's,
// and the metrics must start afresh every epoch.
func TestReportedLossesAndMetricsAreExact(t *testing.T) {
	m := newMLP(2, 8, 2, 1)
	ds := blobs(90, 3)
	tr, va, err := data.Split(ds, 0.3, 7)
	require.NoError(t, err)
	opt := optim.NewSGD(m.Params(), optim.SGDConfig{LR: optim.Zero})
	hist, err := Fit(context.Background(), m, opt, ds, Config{
		Epochs: 3, BatchSize: 16, Seed: 7, ValidationSplit: 0.3, Quiet: true,
		Metrics: []func() metrics.Metric{Accuracy, func() metrics.Metric { return &sampleCounter{} }},
	})
	require.NoError(t, err)
	wantTrain, wantVal := fullLoss(t, m, tr), fullLoss(t, m, va)
	for e, l := range hist.Epochs {
		require.InDelta(t, wantTrain, l["loss"], 1e-6*wantTrain, "epoch %d", e)
		require.InDelta(t, wantVal, l["val_loss"], 1e-6*wantVal, "epoch %d", e)
		require.Equal(t, float64(tr.Len()), l["count"], "epoch %d: training metrics not reset", e)
		require.Equal(t, float64(va.Len()), l["val_count"], "epoch %d: validation metrics not reset", e)
		require.Equal(t, hist.Epochs[0]["accuracy"], l["accuracy"])
	}
	for _, bs := range []int{1, 7, 32, 1000} {
		logs, err := Evaluate(context.Background(), m, va, EvalConfig{BatchSize: bs})
		require.NoError(t, err)
		require.InDelta(t, wantVal, logs["loss"], 1e-6*wantVal, "batch size %d", bs)
		require.Equal(t, hist.Epochs[0]["val_accuracy"], logs["accuracy"])
	}
}
