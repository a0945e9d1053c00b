package kernel_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
)

// A quantised Dense product: activations quantised per row, int8 weights
// [out, in], exact int32 sums, then the zero-point correction and scales.
func ExampleGemmU8I8() {
	x := []float32{-1, 0, 2, 0.5} // one row of 4 inputs; x·wᵀ is (7, 3) in float
	w := []int8{1, 2, 3, 4, -1, 0, 1, 0}
	q := make([]uint8, len(x))
	sx, zp := kernel.QuantizeU8Row(q, x)
	c := make([]int32, 2)
	kernel.GemmU8I8(1, 2, 4, q, 4, w, 4, c, 2)
	for j := range 2 {
		var wsum int32
		for _, v := range w[j*4 : j*4+4] {
			wsum += int32(v)
		}
		fmt.Printf("y[%d] = %.3f\n", j, sx*float32(c[j]-zp*wsum))
	}
	fmt.Println("activations", q, "zero point", zp)
	// Output:
	// y[0] = 7.016
	// y[1] = 3.000
	// activations [0 42 127 63] zero point 42
}

// A quantised Dense layer on a batch, as nn/quant runs it: the rows of x
// quantised in one call, the exact int32 product with weights packed once,
// then the zero-point correction, scales, bias and ReLU in one call.
func ExampleDequantI32Rows() {
	x := []float32{ // 2 rows of 4 inputs
		-1, 0, 2, 0.5,
		1, 1, 1, 1,
	}
	w := []int8{1, 2, 3, 4, -1, 0, 1, 0} // 2 outputs × 4 inputs
	sw := []float32{0.5, 0.5}            // per-output weight scales
	bias := []float32{0, -1}
	wsum := []int32{1 + 2 + 3 + 4, -1 + 0 + 1 + 0}
	p := kernel.PackI8(2, 4, w, 4)

	q := make([]uint8, 2*p.RowLen())
	sx, zp := make([]float32, 2), make([]int32, 2)
	kernel.QuantizeU8Rows(q, p.RowLen(), x, 2, 4, sx, zp)
	c := make([]int32, 2*2)
	kernel.GemmU8I8Packed(2, q, p.RowLen(), p, c, 2)
	y := make([]float32, 2*2)
	kernel.DequantI32Rows(y, 2, c, 2, 2, 2, zp, sx, wsum, sw, bias, true)
	fmt.Printf("%.3f\n", y)
	// Output:
	// [3.508 0.500 5.000 0.000]
}
