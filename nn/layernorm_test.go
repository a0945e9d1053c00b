package nn

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestLayerNormForwardHandComputed(t *testing.T) {
	ln := NewLayerNorm(4, WithEps(0))
	copy(ln.Weight.Value().Data(), []float32{1, 2, 1, 1})
	ln.Bias.Value().Data()[0] = 1
	x := tensor.New([]float32{1, 2, 3, 4, 2, 2, 2, 6}, 2, 4)
	y := ln.Forward(autograd.Constant(x)).Value()
	inv := 1 / math.Sqrt(1.25) // row 1: mean 2.5, variance 1.25
	require.InDelta(t, (1-2.5)*inv+1, y.At(0, 0), 1e-6)
	require.InDelta(t, 2*(2-2.5)*inv, y.At(0, 1), 1e-6)
	// Row 2: mean 3, variance 3.
	require.InDelta(t, 3/math.Sqrt(3), y.At(1, 3), 1e-6)

	sh := NewLayerNormShape([]int{2, 4}, WithoutAffine())
	require.Empty(t, sh.Params())
	y2 := sh.Forward(autograd.Constant(x.Reshape(1, 2, 4))).Value()
	require.InDelta(t, 0, tensor.MeanAll(y2), 1e-6)
	require.Len(t, NewLayerNorm(3, WithoutBias()).Params(), 1)
	require.Panics(t, func() { ln.Forward(autograd.Constant(tensor.Zeros(2, 3))) })
}

func TestLayerNormLayerGrad(t *testing.T) {
	ln := NewLayerNorm(5)
	copy(ln.Weight.Value().Data(), []float32{0.5, 1, 1.5, -1, 2})
	checkLayerGrad(t, ln, tensor.RandU(layerRand(1), -1, 1, 2, 3, 5))
	checkLayerGrad(t, NewLayerNormShape([]int{3, 5}), tensor.RandU(layerRand(2), -1, 1, 2, 3, 5))
}
