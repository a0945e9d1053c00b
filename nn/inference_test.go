package nn

import (
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// bnState snapshots a BatchNorm's buffers.
func bnState(b *BatchNorm) [3][]float32 {
	return [3][]float32{
		append([]float32(nil), b.RunningMean.Value().Data()...),
		append([]float32(nil), b.RunningVar.Value().Data()...),
		append([]float32(nil), b.NumBatchesTracked.Value().Data()...),
	}
}

func TestBatchNormInferenceInputEvaluatesInTrainingMode(t *testing.T) {
	bn := NewBatchNorm1D(2)
	copy(bn.RunningMean.Value().Data(), []float32{1, -2})
	copy(bn.RunningVar.Value().Data(), []float32{4, 0.25})
	copy(bn.Weight.Value().Data(), []float32{2, 1})
	copy(bn.Bias.Value().Data(), []float32{0, 0.5})
	x := tensor.New([]float32{3, -2, 1, 0, -1, -1.5}, 3, 2)
	// Evaluation: (x − running_mean)/√(running_var + eps)·w + b.
	want := make([]float32, 6)
	for i, v := range x.Data() {
		c := i % 2
		rm, rv := []float64{1, -2}[c], []float64{4, 0.25}[c]
		w, b := []float64{2, 1}[c], []float64{0, 0.5}[c]
		want[i] = float32((float64(v)-rm)/math.Sqrt(rv+1e-5)*w + b)
	}
	before := bnState(bn)
	arena := autograd.NewArena()
	for name, in := range map[string]*autograd.Var{
		"NoGrad":      autograd.NoGrad(x),
		"Arena.Input": arena.Input(x),
		"derived":     autograd.Reshape(autograd.Reshape(autograd.NoGrad(x), 6), 3, 2),
	} {
		require.True(t, in.Inference(), name)
		y := bn.Forward(in)
		require.True(t, bn.Training(), "%s: the layer keeps its mode", name)
		require.InDeltaSlice(t, want, y.Value().Data(), 1e-5, name)
		require.False(t, y.RequiresGrad(), name)
		require.Equal(t, before, bnState(bn), "%s: running statistics untouched", name)
	}

	// A recorded input in training mode still trains: batch statistics and
	// one count.
	y := bn.Forward(autograd.Constant(x))
	require.Equal(t, float32(1), bn.NumBatchesTracked.Value().Item())
	// Channel 0 holds 3, 1, −1: batch mean 1, biased variance 8/3.
	require.InDelta(t, 2*(3-1)/math.Sqrt(8.0/3+1e-5), y.Value().At(0, 0), 1e-5)
	require.NotEqual(t, before[0], bn.RunningMean.Value().Data())
}

func TestDropoutInferenceInputIsIdentityAndDrawsNothing(t *testing.T) {
	x := tensor.Ones(4, 8)
	used, twin := NewDropout(0.5, WithSeed(3)), NewDropout(0.5, WithSeed(3))
	arena := autograd.NewArena()
	for _, in := range []*autograd.Var{autograd.NoGrad(x), arena.Input(x), autograd.Flatten(autograd.NoGrad(x))} {
		y := used.Forward(in)
		require.Equal(t, x.Data(), y.Value().Data())
		require.True(t, used.Training())
	}
	// Both generators are still at the same point: the next training masks
	// agree.
	a := used.Forward(autograd.Constant(x)).Value().Data()
	b := twin.Forward(autograd.Constant(x)).Value().Data()
	require.Equal(t, b, a)
	require.Contains(t, a, float32(0), "training mode still drops")
}

// TestBatchNormCountsOneTrainingStep is PyTorch's count after one step:
// one recorded forward, plus the inference forwards a training loop makes
// for metrics and checks, leave num_batches_tracked at 1.
func TestBatchNormCountsOneTrainingStep(t *testing.T) {
	bn := NewBatchNorm1D(3)
	m := NewSequential(NewDense(2, 3, WithSeed(1)), bn, NewDropout(0.2, WithSeed(2)), NewDense(3, 1, WithSeed(3)))
	x := tensor.RandN(layerRand(4), 0, 1, 8, 2)
	m.Forward(autograd.NoGrad(x)) // a shape check before training
	loss := autograd.Mean(autograd.Square(m.Forward(autograd.Constant(x))), false)
	loss.Backward()
	for _, p := range m.Params() {
		tensor.AddScaled(p.Value(), -0.1, p.Grad())
	}
	m.Forward(autograd.NoGrad(x)) // metrics after the step
	_ = Summary(m, 2)
	require.Equal(t, float32(1), bn.NumBatchesTracked.Value().Item())
}

// TestConcurrentInferenceOnTrainingModel runs many inference forwards at
// once on a model left in training mode (run with -race): they agree with
// evaluation mode and change nothing.
func TestConcurrentInferenceOnTrainingModel(t *testing.T) {
	bn := NewBatchNorm1D(6)
	m := NewSequential(NewDense(4, 6, WithSeed(1)), bn, NewDropout(0.5, WithSeed(2)), NewDense(6, 3, WithSeed(3), WithActivation(ActSoftmax)))
	x := tensor.RandN(layerRand(5), 0, 1, 5, 4)
	m.Forward(autograd.Constant(x)) // some running statistics
	before := bnState(bn)

	Eval(m)
	want := m.Forward(autograd.Constant(x)).Value().Clone()
	Train(m)

	var wg sync.WaitGroup
	got := make([]*tensor.Tensor, 8)
	for g := range got {
		wg.Go(func() {
			arena := autograd.NewArena()
			for range 10 {
				arena.Reset()
				if g%2 == 0 {
					got[g] = m.Forward(autograd.NoGrad(x)).Value()
				} else {
					got[g] = m.Forward(arena.Input(x)).Value().Clone()
				}
			}
		})
	}
	wg.Wait()
	for _, y := range got {
		require.Equal(t, want.Data(), y.Data())
	}
	require.True(t, IsTraining(m))
	require.Equal(t, before, bnState(bn))
}
