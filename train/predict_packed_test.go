package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// recorded runs model on x through the recorded (training-mode) forward,
// which never uses a packed weight.
func recorded(model nn.Module, x *tensor.Tensor) *tensor.Tensor {
	return model.Forward(autograd.Constant(x)).Value()
}

// TestPredictSeesTrainingStep predicts (packing the Dense weights for
// inference, PackForInference), trains, and predicts again: the second Predict must use the
// trained weights, not the packed copies of the old ones.
func TestPredictSeesTrainingStep(t *testing.T) {
	model := flagshipMLP()
	nn.PackForInference(model)
	ds := mnistLike(64)
	xs := ds.X()
	for _, bs := range []int{1, 64} {
		before, err := Predict(model, xs, bs)
		require.NoError(t, err)
		require.InDeltaSlice(t, recorded(model, xs).Data(), before.Data(), 1e-4)

		opt := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.5})
		_, err = Fit(context.Background(), model, opt, ds, Config{Epochs: 1, BatchSize: 64, Quiet: true})
		require.NoError(t, err)

		after, err := Predict(model, xs, bs)
		require.NoError(t, err)
		require.InDeltaSlice(t, recorded(model, xs).Data(), after.Data(), 1e-4, "batch size %d", bs)
		require.False(t, tensor.AllClose(before, after, 1e-3, 1e-3), "training changed the predictions")
	}
}

// TestPredictDenseAllocatesOnlyItsResult checks Predict of a Dense MLP at
// batch 1 and 64 (where the first product is split across workers)
// allocates only its result once warm: the packed weights are reused.
func TestPredictDenseAllocatesOnlyItsResult(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	model := nn.NewSequential(
		nn.NewDense(784, 128, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)),
		nn.NewDense(128, 10, nn.WithSeed(2)),
	)
	nn.PackForInference(model)
	for _, n := range []int{1, 64} {
		x := tensor.RandU(rand.New(rand.NewPCG(1, 1)), 0, 1, n, 784)
		_, _ = Predict(model, x, n)
		allocs := testalloc.PerRun(50, func() { _, _ = Predict(model, x, n) })
		t.Logf("Predict allocs/op at batch %d: %v", n, allocs)
		require.LessOrEqual(t, allocs, 4.0, "batch %d", n) // the result (3) and the worker pool's job
	}
}

// TestPredictConcurrentDense runs Predict of a Dense model from many
// goroutines while none has packed the weights yet (run with -race).
func TestPredictConcurrentDense(t *testing.T) {
	model := flagshipMLP()
	nn.PackForInference(model)
	x := tensor.RandU(rand.New(rand.NewPCG(2, 2)), 0, 1, 40, 1, 28, 28)
	want := recorded(model, x)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				got, err := Predict(model, x, 1+g*5)
				if err != nil || !tensor.AllClose(got, want, 1e-4, 1e-4) {
					errs <- errors.New("concurrent Predict disagreed with the recorded forward")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
}

// countingModel counts its forwards by input shape.
type countingModel struct {
	nn.Module
	calls map[string]int
}

func (c *countingModel) Forward(x *autograd.Var) *autograd.Var {
	c.calls[fmt.Sprint(x.Shape())]++
	return c.Module.Forward(x)
}

// TestPredictProbesOncePerShape checks that the one-row check runs for the
// first Predict of a model and example shape, not for the next ones, and
// runs again for another model or shape.
func TestPredictProbesOncePerShape(t *testing.T) {
	a := &countingModel{Module: nn.NewDense(3, 2), calls: map[string]int{}}
	b := &countingModel{Module: nn.NewDense(3, 2), calls: map[string]int{}}
	x := tensor.Ones(4, 3)
	for range 3 {
		_, err := Predict(a, x, 4)
		require.NoError(t, err)
	}
	require.Equal(t, map[string]int{"[1 3]": 1, "[4 3]": 3}, a.calls)
	_, err := Predict(b, x, 4)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"[1 3]": 1, "[4 3]": 1}, b.calls)
	_, err = Predict(a, tensor.Ones(4, 1, 3), 4)
	require.NoError(t, err)
	require.Equal(t, 1, a.calls["[1 1 3]"], "a new example shape is checked again")
	// A rejected shape is still reported after other shapes passed.
	_, err = Predict(a, tensor.Ones(3), 4)
	require.ErrorContains(t, err, "the model rejected input of shape [3]")
}
