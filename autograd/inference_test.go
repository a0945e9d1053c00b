package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

func TestInference(t *testing.T) {
	x := tensor.Ones(2, 3)
	w := NewVar(tensor.Ones(4, 3))
	require.False(t, Constant(x).Inference())
	require.False(t, w.Inference())
	require.False(t, Linear(Constant(x), w, nil).Inference())

	arena := NewArena()
	for _, in := range []*Var{NoGrad(x), arena.Input(x)} {
		require.True(t, in.Inference())
		y := ReLU(Linear(in, w, nil))
		require.True(t, y.Inference(), "op outputs inherit inference mode")
		require.False(t, y.RequiresGrad())
		require.True(t, y.Detach().Inference())
		require.True(t, Add(Constant(x), in).Inference(), "any inference input makes the output inference")
	}
}

func ExampleVar_Inference() {
	w := NewVar(tensor.Ones(1, 2))
	train := Linear(Constant(tensor.Ones(1, 2)), w, nil)
	predict := Linear(NoGrad(tensor.Ones(1, 2)), w, nil)
	fmt.Println(train.Inference(), train.RequiresGrad())
	fmt.Println(predict.Inference(), predict.RequiresGrad())
	// Output:
	// false true
	// true false
}
