package autograd_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// BatchNormReLU normalises each channel with the batch's statistics and
// rectifies, in one op.
func ExampleBatchNormReLU() {
	// Two samples of one channel with two values each: mean 2.5, variance 1.25.
	x := autograd.NewVar(tensor.New([]float32{1, 2, 3, 4}, 2, 1, 2))
	y, mean, variance := autograd.BatchNormReLU(x, nil, nil, 0)
	fmt.Printf("%.3f mean %v variance %v\n", y.Value().Data(), mean.Data(), variance.Data())
	autograd.Sum(y, false).Backward()
	fmt.Printf("%.3f\n", x.Grad().Data())
	// Output:
	// [0.000 0.000 0.447 1.342] mean [2.5] variance [1.25]
	// [0.089 -0.268 0.268 -0.089]
}

// BatchNormReLUMaxPool normalises each channel with the batch's
// statistics, rectifies and max-pools 2×2 windows, in one op.
func ExampleBatchNormReLUMaxPool() {
	// One sample of one 2×4 channel: mean 4.5, variance 5.25; the windows'
	// winners are 8 and 7, and only they receive the output's gradient
	// directly.
	x := autograd.NewVar(tensor.New([]float32{1, 8, 2, 3, 4, 5, 7, 6}, 1, 1, 2, 4))
	y, mean, variance := autograd.BatchNormReLUMaxPool(x, nil, nil, 0)
	fmt.Printf("%.3f mean %v variance %v\n", y.Value().Data(), mean.Data(), variance.Data())
	autograd.Sum(y, false).Backward()
	fmt.Printf("%.3f\n", x.Grad().Data())
	// Output:
	// [1.528 1.091] mean [4.5] variance [5.25]
	// [0.109 0.109 0.047 -0.016 -0.078 -0.140 0.171 -0.203]
}
