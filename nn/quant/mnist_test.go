package quant

import (
	"context"
	"testing"
	"time"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/internal/mnisttest"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
	"github.com/stretchr/testify/require"
)

func accuracy(t testing.TB, m nn.Module, x *tensor.Tensor, labels []int) float64 {
	logits, err := train.Predict(m, x, 256)
	require.NoError(t, err)
	n := logits.Dim(0)
	c := logits.Dim(1)
	right := 0
	for i := range n {
		row := logits.Data()[i*c : (i+1)*c]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == labels[i] {
			right++
		}
	}
	return 100 * float64(right) / float64(n)
}

// trainMNIST trains model for one epoch on real MNIST and returns the test
// set.
func trainMNIST(t *testing.T, model nn.Module, subset int) *data.TensorDataset {
	trainSet, testSet, err := data.MNIST(mnisttest.Dir(t))
	require.NoError(t, err)
	var ds data.Dataset = trainSet
	if subset > 0 {
		ds, err = data.NewSubset(trainSet, seq(subset))
		require.NoError(t, err)
	}
	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 1e-3})
	start := time.Now()
	_, err = train.Fit(context.Background(), model, opt, ds, train.Config{Epochs: 1, BatchSize: 64, Seed: 1, Quiet: true})
	require.NoError(t, err)
	t.Logf("trained 1 epoch on %d images in %v", ds.Len(), time.Since(start).Round(time.Millisecond))
	return testSet
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestMNISTMLPAccuracy trains the MNIST MLP (Flatten → Dense 128 ReLU →
// Dense 10) for one epoch and checks that int8 quantisation costs at most
// 0.3 points of test accuracy on the 10,000 test images.
func TestMNISTMLPAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	model := mlp(1)
	testSet := trainMNIST(t, model, 0)
	q, err := Quantize(model)
	require.NoError(t, err)
	fa := accuracy(t, model, testSet.X(), testSet.Labels())
	qa := accuracy(t, q, testSet.X(), testSet.Labels())
	t.Logf("test accuracy: float32 %.2f%%, int8 %.2f%% (drop %.2f points)", fa, qa, fa-qa)
	require.Greater(t, fa, 85.0)
	require.LessOrEqual(t, fa-qa, 0.3)
}

// TestMNISTCNNAccuracy does the same for a small CNN (Conv2D 8 3×3 ReLU →
// MaxPool 2 → Flatten → Dense 10), trained on 20,000 images.
func TestMNISTCNNAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	model := nn.NewSequential(
		nn.NewConv2D(1, 8, 3, nn.WithActivation(nn.ActReLU), nn.WithSeed(3)),
		nn.NewMaxPool2D(2),
		nn.NewFlatten(),
		nn.NewDense(8*13*13, 10, nn.WithSeed(4)),
	)
	testSet := trainMNIST(t, model, 20000)
	q, err := Quantize(model)
	require.NoError(t, err)
	require.IsType(t, &Conv2D{}, q.(*nn.Sequential).Layer(0))
	fa := accuracy(t, model, testSet.X(), testSet.Labels())
	qa := accuracy(t, q, testSet.X(), testSet.Labels())
	t.Logf("test accuracy: float32 %.2f%%, int8 %.2f%% (drop %.2f points)", fa, qa, fa-qa)
	require.Greater(t, fa, 85.0)
	require.LessOrEqual(t, fa-qa, 0.3)
}
