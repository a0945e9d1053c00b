package tensor_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/tensor"
)

// ExampleMatMulPackedAddTo adds a projection to a residual stream in
// place, x += h·Wᵀ + b, as a transformer block does after attention.
func ExampleMatMulPackedAddTo() {
	w := tensor.New([]float32{1, 0, 0, 2}, 2, 2) // [out, in]
	b := tensor.New([]float32{0.5, 0}, 2)
	x := tensor.New([]float32{10, 20}, 1, 2) // the residual stream
	h := tensor.New([]float32{1, 3}, 1, 2)
	tensor.MatMulPackedAddTo(x, h, tensor.PackB(w, true), tensor.Epilogue{Bias: b})
	fmt.Println(x.Data())
	// Output: [11.5 26]
}
