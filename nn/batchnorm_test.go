package nn

import (
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestBatchNormRunningStatsMatchPyTorch(t *testing.T) {
	// torch.nn.BatchNorm1d(2) on this batch gives, after one training
	// step, running_mean [0.25, 1.0] and running_var [1.0667, 0.9]: the
	// batch variance enters the running estimate unbiased (×4/3).
	bn := NewBatchNorm1D(2)
	x := tensor.New([]float32{1, 10, 2, 10, 3, 10, 4, 10}, 4, 2)
	y := bn.Forward(autograd.Constant(x)).Value()
	require.InDeltaSlice(t, []float32{0.25, 1}, bn.RunningMean.Value().Data(), 1e-6)
	require.InDeltaSlice(t, []float32{0.9 + 0.1*5.0/3, 0.9}, bn.RunningVar.Value().Data(), 1e-6)
	require.Equal(t, float32(1), bn.NumBatchesTracked.Value().Item())
	// Training output uses the batch statistics (biased variance 1.25).
	require.InDelta(t, (1-2.5)/math.Sqrt(1.25+1e-5), y.At(0, 0), 1e-5)
	require.InDelta(t, 0, y.At(0, 1), 1e-6)

	bn.Forward(autograd.Constant(x))
	require.InDeltaSlice(t, []float32{0.475, 1.9}, bn.RunningMean.Value().Data(), 1e-6)
	require.InDeltaSlice(t, []float32{0.9*(0.9+0.1*5.0/3) + 0.1*5.0/3, 0.81}, bn.RunningVar.Value().Data(), 1e-6)
	require.Equal(t, float32(2), bn.NumBatchesTracked.Value().Item())

	// Evaluation normalises with the running estimates and updates nothing.
	Eval(bn)
	rm := append([]float32(nil), bn.RunningMean.Value().Data()...)
	ye := bn.Forward(autograd.Constant(x)).Value()
	rv := bn.RunningVar.Value().Data()
	require.InDelta(t, (3-0.475)/math.Sqrt(float64(rv[0])+1e-5), ye.At(2, 0), 1e-5)
	require.InDelta(t, (10-1.9)/math.Sqrt(0.81+1e-5), ye.At(2, 1), 1e-5)
	require.Equal(t, rm, bn.RunningMean.Value().Data())
	require.Equal(t, float32(2), bn.NumBatchesTracked.Value().Item())
}

func TestBatchNorm2D(t *testing.T) {
	bn := NewBatchNorm2D(2, WithMomentum(0.5))
	copy(bn.Weight.Value().Data(), []float32{2, 1})
	copy(bn.Bias.Value().Data(), []float32{0, 3})
	// Channel 0 holds 0..3 and 8..11 across the two samples; channel 1 is 1.
	x := tensor.New([]float32{0, 1, 2, 3, 1, 1, 1, 1, 8, 9, 10, 11, 1, 1, 1, 1}, 2, 2, 2, 2)
	y := bn.Forward(autograd.Constant(x)).Value()
	// Channel 0: mean 5.5, biased variance 17.25, unbiased 17.25·8/7.
	require.InDelta(t, 2*(0-5.5)/math.Sqrt(17.25), y.At(0, 0, 0, 0), 1e-5)
	require.InDelta(t, 3, y.At(1, 1, 1, 1), 1e-6)
	require.InDeltaSlice(t, []float32{2.75, 0.5}, bn.RunningMean.Value().Data(), 1e-6)
	require.InDeltaSlice(t, []float32{0.5 + 0.5*17.25*8/7, 0.5}, bn.RunningVar.Value().Data(), 1e-5)
	require.Equal(t, "BatchNorm2D(2)", bn.String())
	require.Equal(t, []string{"running_mean", "running_var", "num_batches_tracked"}, paramNames(bn.Buffers()))
	require.Panics(t, func() { bn.Forward(autograd.Constant(tensor.Zeros(2, 2))) })
	require.Panics(t, func() { bn.Forward(autograd.Constant(tensor.Zeros(2, 3, 2, 2))) })
	require.Panics(t, func() { bn.Forward(autograd.Constant(tensor.Zeros(1, 2, 1, 1))) })
	na := NewBatchNorm1D(3, WithoutAffine())
	require.Empty(t, na.Params())
	require.Len(t, na.Buffers(), 3)
}

func TestBatchNormLayerGrad(t *testing.T) {
	bn := NewBatchNorm2D(3)
	copy(bn.Weight.Value().Data(), []float32{0.5, 2, -1})
	copy(bn.Bias.Value().Data(), []float32{0.1, 0, -0.3})
	x := tensor.RandU(layerRand(3), -1, 1, 2, 3, 3, 2)
	checkLayerGrad(t, bn, x) // training: batch statistics
	Eval(bn)
	checkLayerGrad(t, bn, x) // evaluation: running statistics
	bn1 := NewBatchNorm1D(4)
	checkLayerGrad(t, bn1, tensor.RandU(layerRand(4), -1, 1, 5, 4))
	checkLayerGrad(t, bn1, tensor.RandU(layerRand(5), -1, 1, 3, 4, 2))
}

// TestConcurrentEval runs one model in evaluation mode from many
// goroutines at once, each with its own arena, and checks every result
// against a serial run. Run it with -race.
func TestConcurrentEval(t *testing.T) {
	m := NewSequential(
		NewConv2D(1, 4, 3, WithPadding(1), WithActivation(ActReLU)),
		NewBatchNorm2D(4),
		NewMaxPool2D(2),
		NewDropout(0.5),
		NewFlatten(),
		NewDense(4*4*4, 10),
		NewLayerNorm(10),
		NewSoftmax(),
	)
	// Give BatchNorm non-trivial running statistics.
	for range 3 {
		m.Forward(autograd.Constant(tensor.RandU(layerRand(9), 0, 1, 8, 1, 8, 8)))
	}
	Eval(m)
	inputs := make([]*tensor.Tensor, 8)
	want := make([]*tensor.Tensor, len(inputs))
	for i := range inputs {
		inputs[i] = tensor.RandU(layerRand(uint64(i)), 0, 1, 2, 1, 8, 8)
		want[i] = m.Forward(autograd.NoGrad(inputs[i])).Value().Clone()
	}
	var wg sync.WaitGroup
	errs := make([]bool, len(inputs))
	for g := range len(inputs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := autograd.NewArena()
			for rep := range 20 {
				i := (g + rep) % len(inputs)
				a.Reset()
				got := m.Forward(a.Input(inputs[i])).Value()
				if !tensor.AllClose(want[i], got, 1e-6, 1e-6) {
					errs[g] = true
				}
			}
		}()
	}
	wg.Wait()
	for g, bad := range errs {
		require.False(t, bad, "goroutine %d saw a different result", g)
	}
}
