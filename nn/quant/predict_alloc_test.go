package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/train"
)

// TestPredictAllocs guards int8 inference's budget: a warm Predict of one
// image through the quantised MNIST MLP takes its layers' outputs from
// Predict's arena (autograd.Output/Result) and the int8 product splits its
// tiles without a closure, so it allocates what the float model does (3:
// the result and its headers), not a tensor and an op record per layer (21
// allocations before) nor one closure per product (5).
func TestPredictAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	q, err := Quantize(mlp(1))
	require.NoError(t, err)
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 1, 1, 28, 28)
	_, err = train.Predict(q, x, 1)
	require.NoError(t, err)
	allocs := testalloc.PerRun(50, func() {
		if _, err := train.Predict(q, x, 1); err != nil {
			t.Fatal(err)
		}
	})
	require.LessOrEqual(t, allocs, 3.0)
}

// TestPredictAllocsCNN: a warm Predict of one image through a quantised
// CNN (Conv2D with fused ReLU, MaxPool2D, Conv2D, Flatten, Dense) takes the
// convolutions' outputs from Predict's arena and their im2col buffers from
// a pool, so it allocates what the float CNN does (3: the result and its
// headers); a new output tensor per Conv2D makes it 15, and a closure per
// int8 product (as internal/kernel once had) 6.
func TestPredictAllocsCNN(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := nn.NewSequential(
		nn.NewConv2D(1, 4, 3, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)),
		nn.NewMaxPool2D(2),
		nn.NewConv2D(4, 6, 3, nn.WithPadding(1), nn.WithSeed(2)),
		nn.NewFlatten(),
		nn.NewDense(6*13*13, 10, nn.WithSeed(3)),
	)
	q, err := Quantize(m)
	require.NoError(t, err)
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 1, 1, 28, 28)
	_, err = train.Predict(q, x, 1)
	require.NoError(t, err)
	allocs := testalloc.PerRun(50, func() {
		if _, err := train.Predict(q, x, 1); err != nil {
			t.Fatal(err)
		}
	})
	require.LessOrEqual(t, allocs, 3.0)
}
