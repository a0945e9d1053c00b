package nn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestPoolLayers(t *testing.T) {
	x := tensor.Arange(1, 17, 1).Reshape(1, 1, 4, 4)
	require.Equal(t, []float32{6, 8, 14, 16}, NewMaxPool2D(2).Forward(autograd.Constant(x)).Value().Data())
	require.Equal(t, []float32{3.5, 5.5, 11.5, 13.5}, NewAvgPool2D(2).Forward(autograd.Constant(x)).Value().Data())
	// 3×3 windows, stride 1: the maxima are the bottom-right corners.
	require.Equal(t, []float32{11, 12, 15, 16}, NewMaxPool2D(3, WithStride(1)).Forward(autograd.Constant(x)).Value().Data())
	g := NewGlobalAvgPool2D().Forward(autograd.Constant(x))
	require.Equal(t, []int{1, 1}, g.Shape())
	require.Equal(t, float32(8.5), g.Value().Item())
	for _, m := range []Module{NewMaxPool2D(2), NewAvgPool2D(2), NewGlobalAvgPool2D()} {
		require.Empty(t, m.Params())
	}
	require.Panics(t, func() { NewMaxPool2D(0) })
}

func TestPoolLayerGrad(t *testing.T) {
	x := tensor.RandU(layerRand(5), -1, 1, 2, 3, 6, 6)
	// Spread the values apart so that no window holds a near-tie.
	for i := range x.Data() {
		x.Data()[i] += float32(i%13) * 0.2
	}
	checkLayerGrad(t, NewMaxPool2D(2), x)
	checkLayerGrad(t, NewMaxPool2D(3, WithStride(2), WithPadding(1)), x)
	checkLayerGrad(t, NewMaxPool2D(2, WithStride(1), WithDilation(2)), x)
	checkLayerGrad(t, NewAvgPool2D(2, WithKernel(2, 3), WithStride(1, 2), WithPadding(1)), x)
	checkLayerGrad(t, NewGlobalAvgPool2D(), x)
}
