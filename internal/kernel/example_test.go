package kernel_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
)

func ExampleGemm() {
	a := []float32{1, 2, 3, 4, 5, 6} // 2×3
	b := []float32{1, 0, 0, 1, 1, 1} // 3×2
	c := make([]float32, 4)
	kernel.Gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [4 5 10 11]
}

func ExampleGemm_transposed() {
	// C = Aᵀ·B with A stored as 3×2, so op(A) is 2×3.
	a := []float32{1, 4, 2, 5, 3, 6}
	b := []float32{1, 0, 0, 1, 1, 1}
	c := []float32{1, 1, 1, 1}
	kernel.Gemm(true, false, 2, 2, 3, 1, a, 2, b, 2, 1, c, 2) // accumulate into C
	fmt.Println(c)
	// Output: [5 6 11 12]
}

func ExampleExp() {
	x := []float32{0, 1, -1}
	kernel.Exp(x, x)
	fmt.Printf("%.5f\n", x)
	// Output: [1.00000 2.71828 0.36788]
}

func ExampleAxpy() {
	y := []float32{1, 1, 1}
	kernel.Axpy(2, []float32{1, 2, 3}, y)
	fmt.Println(y)
	// Output: [3 5 7]
}

// ExampleMaxPool2x2 pools a 2×4 plane into two windows, keeps their
// winners, and routes a gradient back through them.
func ExampleMaxPool2x2() {
	src := []float32{
		1, 5, 2, 2,
		3, 4, 2, 0,
	}
	y, idx := make([]float32, 2), make([]int32, 2)
	kernel.MaxPool2x2(y, idx, src, 2, 4, false)
	fmt.Println(y, idx)
	gx := make([]float32, 8)
	kernel.MaxPool2x2Grad(gx, []float32{10, 20}, idx, nil, 2, 4)
	fmt.Println(gx)
	// Output:
	// [5 2] [1 2]
	// [0 10 20 0 0 0 0 0]
}
