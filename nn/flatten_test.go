package nn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestFlatten(t *testing.T) {
	x := tensor.Arange(0, 24, 1).Reshape(2, 3, 2, 2)
	y := NewFlatten().Forward(autograd.Constant(x))
	require.Equal(t, []int{2, 12}, y.Shape())
	require.Equal(t, x.Data(), y.Value().Data())
	require.Empty(t, NewFlatten().Params())
	checkLayerGrad(t, NewFlatten(), tensor.RandU(layerRand(1), -1, 1, 2, 3, 2))
}
