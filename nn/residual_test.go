package nn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestResidual(t *testing.T) {
	d := NewDense(2, 2, WithWeightInit(Constant(1)), WithBiasInit(Constant(0.5)))
	r := NewResidual(d)
	y := r.Forward(autograd.Constant(tensor.New([]float32{1, 2}, 1, 2)))
	require.Equal(t, []float32{4.5, 5.5}, y.Value().Data()) // x + (3.5, 3.5)
	require.Equal(t, d.Params(), r.Params())
	m := NewSequential(NewDense(3, 3), NewResidual(NewSequential(NewDense(3, 3), NewBatchNorm1D(3))))
	require.Equal(t, []string{"0.weight", "0.bias", "1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias"}, paramNames(m.Params()))
	require.Equal(t, "1.1.running_mean", m.Buffers()[0].Name)
	require.Panics(t, func() { NewResidual(NewDense(2, 3)).Forward(autograd.Constant(tensor.Zeros(1, 2))) })
	checkLayerGrad(t, NewResidual(NewDense(3, 3, WithActivation(ActTanh))), tensor.RandU(layerRand(1), -1, 1, 4, 3))
}
