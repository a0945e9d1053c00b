package nn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Reference values from PyTorch 1.13, written by testdata/norm_torch.py.
// The inputs are 1 + 0.01·k: their variance, about 1e-4, is small enough
// that the default eps (1e-5) moves the outputs by percents, so a wrong
// default eps, eps ×10 inside an op, or eps added outside the square root
// fails these tests.
var (
	layerNormY            = []float32{-0.495880127, 0.430599928, 0.743830085, 0.957060277, 0.888524592, 1.87704921, -0.740435362, 0.0961730927}
	batchNormTrainY       = []float32{-0.860656738, 1.42257452, 0.860669136, 0.295702398, -2.58198261, 1.42257452, 2.58199501, 0.859138489}
	batchNormRunningMean  = []float32{0.100500003, 0.100250006}
	batchNormRunningVar   = []float32{0.900016665, 0.900009155}
	batchNormEvalY        = []float32{0, 0.999998569, 1.90692341, -0.414213657, -1.90692341, 0.999998569, 3.81384683, 0.292892456}
	batchNorm2DTrainY     = []float32{-0.165298462, 0.49588111, 0.845147431, 0.845147431, 1.15706062, -1.48765755, -1.40859687, -0.281724721}
	batchNorm2DRunningVar = []float32{0.900029123, 0.900009155}
)

// small returns 1 + 0.01·k for each k, rounded to float32 as PyTorch's
// script does.
func small(ks []float64, shape ...int) *tensor.Tensor {
	d := make([]float32, len(ks))
	for i, k := range ks {
		d[i] = float32(1 + 0.01*k)
	}
	return tensor.New(d, shape...)
}

// normTol is the absolute tolerance on normalised outputs of size about 1:
// float32 loses about 1e-5 relative when it subtracts a mean of 1 from
// values 1e-2 apart; eps ×10 changes outputs by 1e-1, and eps outside the
// square root by 1e-3.
const normTol = 2e-4

func TestLayerNormMatchesPyTorchSmallVariance(t *testing.T) {
	ln := NewLayerNorm(4)
	require.Equal(t, float32(1e-5), ln.Eps, "PyTorch's default eps")
	copy(ln.Weight.Value().Data(), []float32{1, 2, 0.5, -1})
	copy(ln.Bias.Value().Data(), []float32{0, 0.1, 0, -0.2})
	x := small([]float64{0, 1, 3, -1, 2, 2, -2, 0}, 2, 4)
	require.InDeltaSlice(t, layerNormY, ln.Forward(autograd.Constant(x)).Value().Data(), normTol)
	// Inference takes the same path.
	require.InDeltaSlice(t, layerNormY, ln.Forward(autograd.NoGrad(x)).Value().Data(), normTol)
}

func TestBatchNormMatchesPyTorchSmallVariance(t *testing.T) {
	bn := NewBatchNorm1D(2)
	require.Equal(t, float32(1e-5), bn.Eps, "PyTorch's default eps")
	copy(bn.Weight.Value().Data(), []float32{2, 0.5})
	copy(bn.Bias.Value().Data(), []float32{0, 1})
	x := small([]float64{0, 1, 1, -1, -1, 1, 2, 0}, 4, 2)
	require.InDeltaSlice(t, batchNormTrainY, bn.Forward(autograd.Constant(x)).Value().Data(), normTol)
	require.InDeltaSlice(t, batchNormRunningMean, bn.RunningMean.Value().Data(), 1e-6)
	require.InDeltaSlice(t, batchNormRunningVar, bn.RunningVar.Value().Data(), 1e-6)

	copy(bn.RunningMean.Value().Data(), []float32{1, 1.01})
	copy(bn.RunningVar.Value().Data(), []float32{1e-4, 4e-5})
	Eval(bn)
	require.InDeltaSlice(t, batchNormEvalY, bn.Forward(autograd.Constant(x)).Value().Data(), normTol)

	bn2 := NewBatchNorm2D(2)
	x2 := small([]float64{0, 1, 3, 3, 2, -2, 1, 2}, 2, 2, 2, 1)
	require.InDeltaSlice(t, batchNorm2DTrainY, bn2.Forward(autograd.Constant(x2)).Value().Data(), normTol)
	require.InDeltaSlice(t, batchNorm2DRunningVar, bn2.RunningVar.Value().Data(), 1e-6)
}
