package nn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestDenseForwardHandComputed(t *testing.T) {
	d := NewDense(2, 3)
	copy(d.Weight.Value().Data(), []float32{1, 2, 3, 4, 5, 6}) // rows: outputs
	copy(d.Bias.Value().Data(), []float32{0.5, -0.5, 1})
	x := autograd.Constant(tensor.New([]float32{1, -1, 2, 0.5}, 2, 2))
	y := d.Forward(x)
	require.Equal(t, []int{2, 3}, y.Shape())
	require.Equal(t, []float32{-0.5, -1.5, 0, 3.5, 7.5, 14}, y.Value().Data())

	d.Activation = ActReLU
	require.Equal(t, []float32{0, 0, 0, 3.5, 7.5, 14}, d.Forward(x).Value().Data())

	// Inputs of any rank: [2, 1, 2] → [2, 1, 3].
	d.Activation = ActNone
	y3 := d.Forward(autograd.Constant(tensor.New([]float32{1, -1, 2, 0.5}, 2, 1, 2)))
	require.Equal(t, []int{2, 1, 3}, y3.Shape())
	require.Equal(t, []float32{-0.5, -1.5, 0, 3.5, 7.5, 14}, y3.Value().Data())

	nb := NewDense(2, 1, WithoutBias(), WithWeightInit(Ones))
	require.Len(t, nb.Params(), 1)
	require.Equal(t, []float32{0, 2.5}, nb.Forward(x).Value().Data())
	require.Equal(t, "Dense(2 → 1, no bias)", nb.String())
	require.Panics(t, func() { d.Forward(autograd.Constant(tensor.Zeros(2, 3))) })
	require.Panics(t, func() { NewDense(0, 3) })
}

func TestDenseGrad(t *testing.T) {
	for _, act := range []Activation{ActNone, ActTanh, ActSigmoid, ActGELU, ActSoftmax, ActLogSoftmax} {
		t.Run(act.String(), func(t *testing.T) {
			checkLayerGrad(t, NewDense(4, 3, WithActivation(act), WithSeed(2)), tensor.RandU(layerRand(1), -1, 1, 5, 4))
		})
	}
	checkLayerGrad(t, NewDense(4, 3, WithoutBias()), tensor.RandU(layerRand(1), -1, 1, 2, 3, 4))
}
