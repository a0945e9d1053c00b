package train

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// identityLogit is one feature passed through as the logit: Dense(1, 1)
// with weight 1 and bias 0, optionally followed by a sigmoid.
func identityLogit(sigmoid bool) *nn.Sequential {
	d := nn.NewDense(1, 1)
	d.Weight.Value().Data()[0] = 1
	d.Bias.Value().Data()[0] = 0
	if sigmoid {
		return nn.NewSequential(d, nn.NewSigmoid())
	}
	return nn.NewSequential(d)
}

// smallLogits are logits of magnitude below 0.5, positive exactly for
// class 1: cut at 0 they are all right, cut at 0.5 half are wrong.
func smallLogits() *data.TensorDataset {
	xs := []float32{-0.3, -0.2, 0.2, 0.3, -0.4, 0.1, -0.1, 0.4}
	y := tensor.Zeros(len(xs))
	for i, v := range xs {
		if v > 0 {
			y.Data()[i] = 1
		}
	}
	ds, err := data.NewTensorDataset(tensor.New(xs, len(xs), 1), y)
	if err != nil {
		panic(err)
	}
	return ds
}

var binaryMetrics = []func() metrics.Metric{
	Accuracy,
	func() metrics.Metric { return metrics.NewPrecisionMetric() },
	func() metrics.Metric { return metrics.NewRecallMetric() },
	func() metrics.Metric { return metrics.NewF1Metric() },
	func() metrics.Metric { return metrics.NewLogLossMetric() },
}

// TestBinaryMetricsReadLogitsAsLogits: with BCEWithLogitsLoss the model
// outputs logits, and the metrics must cut them at 0 (probability 0.5);
// with BCELoss after a sigmoid they are probabilities, cut at 0.5.
func TestBinaryMetricsReadLogitsAsLogits(t *testing.T) {
	ds := smallLogits()
	for _, c := range []struct {
		name    string
		sigmoid bool
		loss    nn.Loss
	}{
		{"logits", false, nn.BCEWithLogitsLoss{}},
		{"probabilities", true, nn.BCELoss{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := identityLogit(c.sigmoid)
			opt := optim.NewSGD(m.Params(), optim.SGDConfig{LR: optim.Zero})
			hist, err := Fit(context.Background(), m, opt, ds, Config{
				Epochs: 1, BatchSize: 3, Quiet: true, Loss: c.loss, Metrics: binaryMetrics, Validation: ds,
			})
			require.NoError(t, err)
			logs, err := Evaluate(context.Background(), m, ds, EvalConfig{BatchSize: 3, Loss: c.loss, Metrics: binaryMetrics})
			require.NoError(t, err)
			// The log loss of the sigmoid probabilities is the BCE loss.
			for _, l := range []Logs{hist.Last(), logs} {
				for _, k := range []string{"accuracy", "precision", "recall", "f1"} {
					require.Equal(t, 1.0, l[k], k)
				}
				require.InDelta(t, l["loss"], l["log_loss"], 1e-6)
			}
			for _, k := range []string{"val_accuracy", "val_precision", "val_recall", "val_f1"} {
				require.Equal(t, 1.0, hist.Last()[k], k)
			}
		})
	}
	// A threshold of the user's still applies, as a probability: 0.7 is
	// above every sigmoid here, so nothing is called positive.
	m := identityLogit(false)
	thr := []func() metrics.Metric{func() metrics.Metric { return metrics.NewAccuracyMetric(metrics.WithThreshold(0.7)) }}
	logs, err := Evaluate(context.Background(), m, ds, EvalConfig{Loss: nn.BCEWithLogitsLoss{}, Metrics: thr})
	require.NoError(t, err)
	require.Equal(t, 0.5, logs["accuracy"])
	require.False(t, math.IsNaN(logs["loss"]))
}
