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
