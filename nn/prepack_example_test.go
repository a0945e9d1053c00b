package nn_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// ExamplePackCache keeps a custom layer's weight packed for inference: the
// packed copy is reused until the weight changes, and packed again after.
func ExamplePackCache() {
	w := nn.NewParam("weight", tensor.New([]float32{1, 2, 3, 4}, 2, 2)) // [out, in]
	var cache nn.PackCache
	x := autograd.NoGrad(tensor.New([]float32{1, 1}, 1, 2))

	y := autograd.LinearPacked(x, cache.Get(w.Var, true), nil, tensor.ActNone) // x·Wᵀ
	fmt.Println(y.Value().Data())

	w.Value().Data()[0] = 10 // an in-place write, then marked
	w.MarkChanged()
	y = autograd.LinearPacked(x, cache.Get(w.Var, true), nil, tensor.ActNone)
	fmt.Println(y.Value().Data())
	// Output:
	// [3 7]
	// [12 7]
}
