package quant

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

// lastStep keeps the last step of a batch-first sequence [B, T, F] as
// [B, F]: a module of the program's own, which Quantize keeps as it is.
type lastStep struct{}

func (lastStep) Forward(x *autograd.Var) *autograd.Var {
	s := x.Shape()
	return autograd.Reshape(autograd.Slice(x, 1, s[1]-1, s[1]), s[0], s[2])
}
func (lastStep) Params() []*nn.Param { return nil }

// sumSignData returns n sequences of t steps of 2 features N(0, 1), each
// labelled by the sign of its first feature's sum: a task an RNN learns
// only by carrying a count through the steps.
func sumSignData(n, t int, seed uint64) (*tensor.Tensor, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := tensor.Zeros(n, t, 2)
	labels := make([]int, n)
	for i := range n {
		var s float32
		for k := range t {
			v := float32(rng.NormFloat64())
			x.Data()[(i*t+k)*2] = v
			x.Data()[(i*t+k)*2+1] = float32(rng.NormFloat64())
			s += v
		}
		if s > 0 {
			labels[i] = 1
		}
	}
	return x, labels
}

// TestTrainedSequenceClassifier trains an LSTM and a GRU classifier
// (recurrent layer, last step, Dense) briefly on sumSignData, quantises
// them and checks that int8 costs at most 1 point of test accuracy on
// 2000 held-out sequences and that the logits stay within 3% of the
// float model's largest (measured: 1.4% LSTM, 2.1% GRU).
func TestTrainedSequenceClassifier(t *testing.T) {
	const steps = 12
	xTrain, yTrain := sumSignData(3000, steps, 1)
	xTest, yTest := sumSignData(2000, steps, 2)
	targets := tensor.Zeros(len(yTrain))
	for i, v := range yTrain {
		targets.Data()[i] = float32(v)
	}
	ds, err := data.NewTensorDataset(xTrain, targets)
	require.NoError(t, err)
	for _, kind := range []string{"LSTM", "GRU"} {
		t.Run(kind, func(t *testing.T) {
			cfg := nn.RNNConfig{Layers: 2, BatchFirst: true}
			var rnn nn.Module = nn.NewLSTM(2, 24, cfg, nn.WithSeed(1))
			if kind == "GRU" {
				rnn = nn.NewGRU(2, 24, cfg, nn.WithSeed(1))
			}
			model := nn.NewSequential(rnn, lastStep{}, nn.NewDense(24, 2, nn.WithSeed(2)))
			opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 1e-2})
			_, err := train.Fit(context.Background(), model, opt, ds, train.Config{Epochs: 3, BatchSize: 32, Seed: 1, Quiet: true})
			require.NoError(t, err)
			q, err := Quantize(model)
			require.NoError(t, err)
			if kind == "LSTM" {
				require.IsType(t, &LSTM{}, q.(*nn.Sequential).Layer(0))
			} else {
				require.IsType(t, &GRU{}, q.(*nn.Sequential).Layer(0))
			}
			fa := accuracy(t, model, xTest, yTest)
			qa := accuracy(t, q, xTest, yTest)
			fl, err := train.Predict(model, xTest, 256)
			require.NoError(t, err)
			ql, err := train.Predict(q, xTest, 256)
			require.NoError(t, err)
			d := maxDiff(fl.Data(), ql.Data())
			var scale float64
			for _, v := range fl.Data() {
				scale = max(scale, math.Abs(float64(v)))
			}
			t.Logf("%s: test accuracy float32 %.2f%%, int8 %.2f%% (drop %.2f points); max |Δ logit| %.4f of max |logit| %.2f", kind, fa, qa, fa-qa, d, scale)
			require.Greater(t, fa, 90.0)
			require.LessOrEqual(t, fa-qa, 1.0)
			require.LessOrEqual(t, d, 0.03*scale)
		})
	}
}
