package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestPredictRejectsOneExampleAsBatch: one example [13] is not a batch of
// 13 scalars, even for a model that happens to accept a rank-1 input.
func TestPredictRejectsOneExampleAsBatch(t *testing.T) {
	m := nn.NewSequential(nn.NewDense(13, 13, nn.WithSeed(1)))
	x := tensor.Ones(13)
	_, err := Predict(m, x, 32)
	require.ErrorContains(t, err, "input of shape [13] (13 examples of shape [])")
	require.ErrorContains(t, err, "the model takes [N, 13]")
	_, err = PredictProba(m, x, 32)
	require.Error(t, err)

	one, err := PredictOne(m, x)
	require.NoError(t, err)
	require.Equal(t, []int{13}, one.Shape())
	batch, err := Predict(m, x.Reshape(1, 13), 0)
	require.NoError(t, err)
	require.Equal(t, batch.Data(), one.Data())

	// Evaluate reads the data set's feature shape [] the same way.
	ds, err := data.NewTensorDataset(tensor.Ones(13), tensor.Zeros(13))
	require.NoError(t, err)
	_, err = Evaluate(context.Background(), m, ds, EvalConfig{})
	require.ErrorContains(t, err, "input shape [1] (target shape [1]) (the model takes [N, 13])")

	// Wrong feature sizes name both shapes.
	_, err = Predict(m, tensor.Ones(4, 12), 2)
	require.ErrorContains(t, err, "input of shape [4 12]")
	require.ErrorContains(t, err, "[N, 13]")
}

// TestPredictBatchesAgree checks every batch size against one forward pass.
func TestPredictBatchesAgree(t *testing.T) {
	m := newMLP(3, 5, 4, 2)
	x := tensor.RandN(rand.New(rand.NewPCG(7, 7)), 0, 1, 11, 3)
	want := m.Forward(autograd.NoGrad(x)).Value()
	for _, bs := range []int{1, 2, 3, 10, 11, 12, math.MaxInt} {
		got, err := Predict(m, x, bs)
		require.NoError(t, err)
		require.Equal(t, []int{11, 4}, got.Shape())
		require.True(t, tensor.AllClose(want, got, 1e-6, 1e-6), "batch size %d", bs)
	}
}

func TestPredictProba(t *testing.T) {
	x := tensor.RandN(rand.New(rand.NewPCG(7, 7)), 0, 1, 6, 3)
	multi := nn.NewSequential(nn.NewDense(3, 4, nn.WithSeed(1)))
	logits, err := Predict(multi, x, 4)
	require.NoError(t, err)
	p, err := PredictProba(multi, x, 4)
	require.NoError(t, err)
	require.True(t, tensor.AllClose(tensor.Softmax(logits, -1), p, 1e-6, 1e-6))
	for i := range 6 {
		var s float32
		for j := range 4 {
			s += p.At(i, j)
		}
		require.InDelta(t, 1, s, 1e-5)
	}

	binary := nn.NewSequential(nn.NewDense(3, 1, nn.WithSeed(1)))
	logit, err := Predict(binary, x, 4)
	require.NoError(t, err)
	p, err = PredictProba(binary, x, 4)
	require.NoError(t, err)
	require.True(t, tensor.AllClose(tensor.Sigmoid(logit), p, 1e-6, 1e-6))

	// A model that already ends in a softmax or sigmoid is left alone; a
	// log-softmax is exponentiated.
	for _, c := range []struct {
		m    nn.Module
		want *tensor.Tensor
	}{
		{nn.NewSequential(nn.NewDense(3, 4, nn.WithSeed(1)), nn.NewSoftmax()), tensor.Softmax(logits, -1)},
		{nn.NewSequential(nn.NewDense(3, 4, nn.WithSeed(1), nn.WithActivation(nn.ActSoftmax))), tensor.Softmax(logits, -1)},
		{nn.NewSequential(nn.NewDense(3, 4, nn.WithSeed(1)), nn.NewLogSoftmax()), tensor.Softmax(logits, -1)},
		{nn.NewSequential(nn.NewDense(3, 1, nn.WithSeed(1)), nn.NewSigmoid()), tensor.Sigmoid(logit)},
	} {
		p, err := PredictProba(c.m, x, 4)
		require.NoError(t, err)
		require.True(t, tensor.AllClose(c.want, p, 1e-5, 1e-6), "%v", c.m)
	}
}
