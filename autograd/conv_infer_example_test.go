package autograd_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// ExampleConvCache runs the convolution of ExampleConv2DReLUMaxPool at
// inference through a ConvCache: the weight is marked cacheable, so its
// filters are packed on the first call and reused while its version
// stays the same.
func ExampleConvCache() {
	x := tensor.New([]float32{
		1, 2, 3, 4, 5,
		6, 7, 8, 9, 10,
		-1, -2, -3, -4, -5,
	}, 1, 1, 3, 5)
	w := autograd.NewVar(tensor.New([]float32{1, 0, 0, -1}, 1, 1, 2, 2)) // x[i,j] − x[i+1,j+1]
	w.SetCacheable(true)
	var cc autograd.ConvCache // one per layer, kept with its weight
	pool := autograd.Pool2DOptions{Kernel: [2]int{2, 2}}
	for range 2 {
		y := cc.Conv2DReLUMaxPool(autograd.NoGrad(x), w, nil, autograd.Conv2DOptions{}, pool)
		fmt.Println(y.Shape(), y.Value().Data())
	}
	y := cc.Conv2D(autograd.NoGrad(x), w, nil, autograd.Conv2DOptions{Padding: [2]int{0, 1}})
	fmt.Println(y.Shape(), y.Value().Data())
	// Output:
	// [1 1 1 2] [10 14]
	// [1 1 1 2] [10 14]
	// [1 1 2 6] [-6 -6 -6 -6 -6 5 1 8 10 12 14 10]
}
