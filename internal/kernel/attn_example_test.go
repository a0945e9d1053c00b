package kernel_test

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/internal/kernel"
)

func ExampleSoftmaxExp() {
	// A causally masked row of scores: its exponentials, shifted by the
	// maximum, and their sum; dividing by the sum gives the softmax.
	x := []float32{1, 3, 2}
	m, sum := kernel.SoftmaxExp(x)
	fmt.Printf("max %v, exp %.4f, sum %.4f\n", m, x, sum)
	// A row of masked scores only is left alone.
	masked := []float32{float32(math.Inf(-1))}
	m, sum = kernel.SoftmaxExp(masked)
	fmt.Println(m, sum, masked)
	// Output:
	// max 3, exp [0.1353 1.0000 0.3679], sum 1.5032
	// -Inf 0 [-Inf]
}

func ExampleSmallGemmBand() {
	// Lower-triangular probabilities P (row i is zero past step i) times
	// V: the band [i−3, i+1) tells the product which steps each row may
	// use, so the zeros above the diagonal are skipped.
	p := []float32{
		1, 0, 0,
		0.5, 0.5, 0,
		0.25, 0.25, 0.5,
	}
	v := []float32{
		1, 10,
		2, 20,
		3, 30,
	}
	o := make([]float32, 6)
	kernel.SmallGemmBand(3, 2, 3, -3, 1, 1, p, 3, 1, v, 2, 0, o, 2)
	fmt.Println(o)
	// Output: [1 10 1.5 15 2.25 22.5]
}
