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
// Predict's arena (autograd.Output/Result), so it allocates about as
// little as the float model (the result and a few headers), not a tensor
// and an op record per layer (21 allocations before).
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
	require.LessOrEqual(t, allocs, 5.0)
}

// TestPredictAllocsCNN: a warm Predict of one image through a quantised
// CNN (Conv2D with fused ReLU, MaxPool2D, Conv2D, Flatten, Dense) takes the
// convolutions' outputs from Predict's arena and their im2col buffers from
// a pool, so it allocates what the float CNN does (3: the result and a few
// headers) plus one per int8 product (internal/kernel's closure for its
// parallel tiles), 6 in all; a new output tensor per Conv2D alone makes
// it 15.
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
	require.LessOrEqual(t, allocs, 6.0)
}
