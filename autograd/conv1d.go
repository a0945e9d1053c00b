package autograd

import "fmt"

// Conv1DOptions configures Conv1D. Zero values select stride 1, no padding,
// dilation 1 and one group, as in PyTorch's nn.Conv1d.
type Conv1DOptions struct {
	Stride   int // step between windows (default 1)
	Padding  int // zeros added on each side (default 0)
	Dilation int // spacing between kernel taps (default 1)
	Groups   int // channel groups (default 1)
}

// Conv1D returns the 1-D cross-correlation of x [N, C, L] with the filters
// w [outC, C/groups, k] plus the bias b [outC] (or nil), giving
// [N, outC, (L + 2·padding − dilation·(k−1) − 1)/stride + 1] as PyTorch's
// nn.Conv1d does. It runs Conv2D on a height-1 view of x and w (reshapes
// share data), so it shares that op's im2col + GEMM path and its backward.
func Conv1D(x, w, b *Var, opt Conv1DOptions) *Var {
	xs, ws := x.value.Shape(), w.value.Shape()
	if len(xs) != 3 || len(ws) != 3 {
		panic(fmt.Sprintf("autograd.Conv1D: input %v and weight %v must both be 3-D ([N, C, L] and [outC, C/groups, k])", xs, ws))
	}
	y := Conv2D(Reshape(x, xs[0], xs[1], 1, xs[2]), Reshape(w, ws[0], ws[1], 1, ws[2]), b, Conv2DOptions{
		Stride:   [2]int{1, def1(opt.Stride)},
		Padding:  [2]int{0, opt.Padding},
		Dilation: [2]int{1, def1(opt.Dilation)},
		Groups:   opt.Groups,
	})
	ys := y.value.Shape()
	return Reshape(y, ys[0], ys[1], ys[3])
}

// Pool1DOptions configures MaxPool1D and AvgPool1D. Kernel is required;
// Stride defaults to Kernel, Padding to 0 and Dilation to 1, as in PyTorch.
type Pool1DOptions struct {
	Kernel   int // window length
	Stride   int // step between windows (default: Kernel)
	Padding  int // implicit padding on each side, at most Kernel/2 (default 0)
	Dilation int // spacing between window taps (default 1; MaxPool1D only)
}

func pool2DOf(op string, x *Var, opt Pool1DOptions) (*Var, Pool2DOptions) {
	xs := x.value.Shape()
	if len(xs) != 3 {
		panic(fmt.Sprintf("autograd.%s: input %v is not 3-D [N, C, L]", op, xs))
	}
	return Reshape(x, xs[0], xs[1], 1, xs[2]), Pool2DOptions{
		Kernel:   [2]int{1, opt.Kernel},
		Stride:   [2]int{1, opt.Stride},
		Padding:  [2]int{0, opt.Padding},
		Dilation: [2]int{1, opt.Dilation},
	}
}

func squeezeH(y *Var) *Var {
	ys := y.value.Shape()
	return Reshape(y, ys[0], ys[1], ys[3])
}

// MaxPool1D returns the maximum over each window of x [N, C, L] (PyTorch's
// nn.MaxPool1d); it runs MaxPool2D on a height-1 view.
func MaxPool1D(x *Var, opt Pool1DOptions) *Var {
	x4, o := pool2DOf("MaxPool1D", x, opt)
	return squeezeH(MaxPool2D(x4, o))
}

// AvgPool1D returns the mean over each window of x [N, C, L], padding
// counted in the divisor (PyTorch's nn.AvgPool1d defaults); it runs
// AvgPool2D on a height-1 view.
func AvgPool1D(x *Var, opt Pool1DOptions) *Var {
	x4, o := pool2DOf("AvgPool1D", x, opt)
	return squeezeH(AvgPool2D(x4, o))
}
