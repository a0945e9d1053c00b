package nn

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
)

// MaxPool2D takes the maximum over windows of an [N, C, H, W] input
// (PyTorch's nn.MaxPool2d): the stride defaults to the window size. Build
// it with NewMaxPool2D: the zero value has no window and its Forward panics
// saying so.
type MaxPool2D struct {
	Opts autograd.Pool2DOptions
}

// NewMaxPool2D returns a max pooling layer with a kernel×kernel window.
// Options: WithKernel, WithStride, WithPadding, WithDilation.
func NewMaxPool2D(kernel int, opts ...Option) *MaxPool2D {
	return &MaxPool2D{Opts: poolOptions("NewMaxPool2D", kernel, opts)}
}

func poolOptions(op string, kernel int, opts []Option) autograd.Pool2DOptions {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	k := [2]int{kernel, kernel}
	if c.kernel != [2]int{} {
		k = c.kernel
	}
	if k[0] < 1 || k[1] < 1 {
		panic(fmt.Sprintf("nn.%s: kernel %v must be positive", op, k))
	}
	return autograd.Pool2DOptions{Kernel: k, Stride: c.stride, Padding: c.padding, Dilation: c.dilation}
}

// Forward pools x.
func (p *MaxPool2D) Forward(x *autograd.Var) *autograd.Var {
	checkKernel("MaxPool2D", p.Opts)
	return autograd.MaxPool2D(x, p.Opts)
}

// Params returns nil: pooling has no parameters.
func (p *MaxPool2D) Params() []*Param { return nil }

// AvgPool2D averages over windows of an [N, C, H, W] input (PyTorch's
// nn.AvgPool2d with count_include_pad=True): the stride defaults to the
// window size. Build it with NewAvgPool2D: the zero value has no window and
// its Forward panics saying so.
type AvgPool2D struct {
	Opts autograd.Pool2DOptions
}

// NewAvgPool2D returns an average pooling layer with a kernel×kernel
// window. Options: WithKernel, WithStride, WithPadding.
func NewAvgPool2D(kernel int, opts ...Option) *AvgPool2D {
	return &AvgPool2D{Opts: poolOptions("NewAvgPool2D", kernel, opts)}
}

// Forward pools x.
func (p *AvgPool2D) Forward(x *autograd.Var) *autograd.Var {
	checkKernel("AvgPool2D", p.Opts)
	return autograd.AvgPool2D(x, p.Opts)
}

// checkKernel panics for a pooling layer used as its zero value.
func checkKernel(layer string, o autograd.Pool2DOptions) {
	if o.Kernel == [2]int{} {
		panic(fmt.Sprintf("nn.%s.Forward: the zero value has no kernel size; build it with nn.New%s", layer, layer))
	}
}

// Params returns nil: pooling has no parameters.
func (p *AvgPool2D) Params() []*Param { return nil }

// GlobalAvgPool2D averages each channel plane of an [N, C, H, W] input into
// an [N, C] matrix (Keras's GlobalAveragePooling2D; PyTorch's
// AdaptiveAvgPool2d(1) followed by Flatten).
type GlobalAvgPool2D struct{}

// NewGlobalAvgPool2D returns a global average pooling layer.
func NewGlobalAvgPool2D() *GlobalAvgPool2D { return &GlobalAvgPool2D{} }

// Forward averages each plane.
func (GlobalAvgPool2D) Forward(x *autograd.Var) *autograd.Var { return autograd.GlobalAvgPool2D(x) }

// Params returns nil: pooling has no parameters.
func (GlobalAvgPool2D) Params() []*Param { return nil }
