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

// Conv2DBatchNormReLUMaxPool runs a CNN's first block in training mode:
// convolution, batch normalisation, ReLU and 2×2 max-pooling.
func ExampleConv2DBatchNormReLUMaxPool() {
	// One 4×4 image, one 3×3 filter that copies its centre tap, padding 1:
	// the convolution's output is the image itself, mean 7.5, variance
	// 21.25; the windows' maxima are 5, 7, 13 and 15.
	x := autograd.Constant(tensor.New([]float32{
		0, 1, 2, 3,
		4, 5, 6, 7,
		8, 9, 10, 11,
		12, 13, 14, 15,
	}, 1, 1, 4, 4))
	w := autograd.NewVar(tensor.New([]float32{0, 0, 0, 0, 1, 0, 0, 0, 0}, 1, 1, 3, 3))
	y, mean, variance := autograd.Conv2DBatchNormReLUMaxPool(x, w, nil, nil, nil, autograd.Conv2DOptions{Padding: [2]int{1, 1}}, 0)
	fmt.Printf("%.3f mean %.3f variance %.3f\n", y.Value().Data(), mean.Data(), variance.Data())
	// Output:
	// [0.000 0.000 1.193 1.627] mean [7.500] variance [21.250]
}
