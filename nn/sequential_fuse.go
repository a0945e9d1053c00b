package nn

import (
	"slices"

	"github.com/shoshin-ml/shoshin/autograd"
)

// forwardConvBlock runs a first convolution block in training mode as one
// op (autograd.Conv2DBatchNormReLUMaxPool): layers starts with a Conv2D
// without activation, of one input channel and 3×3 filters at unit stride
// and dilation, whose input x wants no gradient, then a training-mode
// BatchNorm2D over its channels, a ReLU and a MaxPool2D with 2×2 windows
// at stride 2. It returns the number of layers it ran, or 0, computing
// nothing, when layers do not start so.
func forwardConvBlock(x *autograd.Var, layers []Module) (*autograd.Var, int) {
	if len(layers) < 4 {
		return nil, 0
	}
	conv, ok := layers[0].(*Conv2D)
	if !ok || conv.Weight == nil || conv.Activation != ActNone {
		return nil, 0
	}
	bn, ok := layers[1].(*BatchNorm)
	if !ok || bn.RunningMean == nil || bn.RunningVar == nil || bn.NumBatchesTracked == nil || bn.eval || !bn.reluPoolNext(layers[2:]) {
		return nil, 0
	}
	xs, ws, o := x.Shape(), conv.Weight.Shape(), conv.Opts
	if x.RequiresGrad() || x.Inference() || len(xs) != 4 || xs[1] != 1 || ws[1] != 1 || ws[2] != 3 || ws[3] != 3 ||
		ones(o.Stride) != [2]int{1, 1} || ones(o.Dilation) != [2]int{1, 1} || o.Groups > 1 || o.Padding[0] < 0 || o.Padding[1] < 0 {
		return nil, 0
	}
	oh, ow := xs[2]+2*o.Padding[0]-2, xs[3]+2*o.Padding[1]-2
	c := bn.RunningMean.Value().Size()
	if oh < 2 || ow < 2 || ws[0] != c || !slices.Contains(bn.ranks, 4) {
		return nil, 0
	}
	y, mean, variance := autograd.Conv2DBatchNormReLUMaxPool(x, conv.Weight.Var, varOf(conv.Bias), varOf(bn.Weight), varOf(bn.Bias), o, bn.Eps)
	bn.track(mean, variance, xs[0]*oh*ow)
	return y, 4
}
