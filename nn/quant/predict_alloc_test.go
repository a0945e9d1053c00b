package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
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
