package nn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestSequentialNaming(t *testing.T) {
	m := NewSequential(
		NewDense(4, 8, WithActivation(ActReLU)),
		NewSequential(NewDense(8, 8), NewBatchNorm1D(8), NewReLU()),
		NewDropout(0.1),
		NewDense(8, 2),
	)
	require.Equal(t, []string{
		"0.weight", "0.bias",
		"1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias",
		"3.weight", "3.bias",
	}, paramNames(m.Params()))
	require.Equal(t, []string{"1.1.running_mean", "1.1.running_var", "1.1.num_batches_tracked"}, paramNames(m.Buffers()))
	require.Equal(t, 4, m.Len())
	require.IsType(t, &Dropout{}, m.Layer(2))
	require.Len(t, m.Children(), 4)

	// Add names by the next index; the state dict follows the names.
	m.Add(NewDense(2, 1))
	require.Equal(t, "4.weight", m.Params()[8].Name)
	sd := StateDict(m)
	require.Equal(t, "0.bias", sd[0].Name)
}

func TestSequentialForward(t *testing.T) {
	d1 := NewDense(2, 2, WithWeightInit(Constant(1)), WithBiasInit(Zeros))
	d2 := NewDense(2, 1, WithWeightInit(Constant(-1)), WithBiasInit(Constant(3)))
	m := NewSequential(d1, NewReLU(), d2)
	x := autograd.Constant(tensor.New([]float32{1, 2, -3, 1}, 2, 2))
	// Row 1: d1 → [3, 3] → relu → d2: −6 + 3 = −3. Row 2: [−2, −2] → 0 → 3.
	require.Equal(t, []float32{-3, 3}, m.Forward(x).Value().Data())
	checkLayerGrad(t, NewSequential(NewDense(3, 4, WithActivation(ActTanh)), NewDense(4, 2)), tensor.RandU(layerRand(1), -1, 1, 5, 3))
}
