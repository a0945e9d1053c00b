package nn

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/autograd"
)

// Conv1D is a 1-D convolution over [N, C, L] inputs (PyTorch's nn.Conv1d)
// with an optional fused activation: weight [outC, inC/groups, k], bias
// [outC], both drawn from U(−1/√fanIn, 1/√fanIn) with fanIn = inC/groups·k
// by default, as in PyTorch. It shares Conv2D's im2col + GEMM machinery.
type Conv1D struct {
	Weight     *Param // [outC, inC/groups, k]
	Bias       *Param // [outC]; nil WithoutBias
	Activation Activation
	Opts       autograd.Conv1DOptions
}

// NewConv1D returns a convolution from inC to outC channels with a window
// of kernel taps. Options: WithStride, WithPadding, WithDilation (the first
// value is used), WithGroups, WithActivation, WithoutBias, WithWeightInit,
// WithBiasInit, WithSeed, WithRand.
func NewConv1D(inC, outC, kernel int, opts ...Option) *Conv1D {
	c := newConfig(opts)
	groups := max(c.groups, 1)
	if inC < 1 || outC < 1 || kernel < 1 || inC%groups != 0 || outC%groups != 0 {
		panic(fmt.Sprintf("nn.NewConv1D: invalid sizes in=%d out=%d kernel=%d groups=%d (channels must divide by groups)", inC, outC, kernel, groups))
	}
	l := &Conv1D{Activation: c.act, Opts: autograd.Conv1DOptions{
		Stride: c.stride[0], Padding: c.padding[0], Dilation: c.dilation[0], Groups: groups,
	}}
	fanIn := inC / groups * kernel
	l.Weight = NewParam("weight", initTensor(c.weightInit, KaimingUniform(math.Sqrt(5)), c, outC, inC/groups, kernel))
	if !c.noBias {
		l.Bias = NewParam("bias", initTensor(c.biasInit, fanInUniform(fanIn), c, outC))
	}
	return l
}

// Forward convolves x [N, inC, L] into [N, outC, L'].
func (l *Conv1D) Forward(x *autograd.Var) *autograd.Var {
	if l.Weight == nil {
		panic(unbuilt("Conv1D", "NewConv1D"))
	}
	return l.Activation.Apply(autograd.Conv1D(x, l.Weight.Var, varOf(l.Bias), l.Opts))
}

// Params returns the weight and, when present, the bias.
func (l *Conv1D) Params() []*Param { return params(l.Weight, l.Bias) }

// String describes the layer, like "Conv1D(16 → 32, k=3, stride 1, padding 1)".
func (l *Conv1D) String() string {
	if l.Weight == nil {
		return "Conv1D(unbuilt)"
	}
	ws := l.Weight.Shape()
	o := l.Opts
	return fmt.Sprintf("Conv1D(%d → %d, k=%d, stride %d, padding %d, dilation %d, groups %d)",
		ws[1]*o.Groups, ws[0], ws[2], max(o.Stride, 1), o.Padding, max(o.Dilation, 1), o.Groups)
}

// MaxPool1D takes the maximum over windows of an [N, C, L] input
// (PyTorch's nn.MaxPool1d); the stride defaults to the window.
type MaxPool1D struct{ Opts autograd.Pool1DOptions }

// NewMaxPool1D returns max pooling over kernel positions. Options:
// WithStride, WithPadding, WithDilation (first value used).
func NewMaxPool1D(kernel int, opts ...Option) *MaxPool1D {
	return &MaxPool1D{Opts: pool1DOptions("NewMaxPool1D", kernel, opts)}
}

func pool1DOptions(op string, kernel int, opts []Option) autograd.Pool1DOptions {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	if kernel < 1 {
		panic(fmt.Sprintf("nn.%s: kernel %d must be positive", op, kernel))
	}
	return autograd.Pool1DOptions{Kernel: kernel, Stride: c.stride[0], Padding: c.padding[0], Dilation: c.dilation[0]}
}

// Forward pools x.
func (p *MaxPool1D) Forward(x *autograd.Var) *autograd.Var {
	if p.Opts.Kernel == 0 {
		panic("nn.MaxPool1D.Forward: the zero value has no kernel size; build it with nn.NewMaxPool1D")
	}
	return autograd.MaxPool1D(x, p.Opts)
}

// Params returns nil.
func (p *MaxPool1D) Params() []*Param { return nil }

// AvgPool1D averages windows of an [N, C, L] input (PyTorch's
// nn.AvgPool1d, padding counted in the divisor).
type AvgPool1D struct{ Opts autograd.Pool1DOptions }

// NewAvgPool1D returns average pooling over kernel positions. Options:
// WithStride, WithPadding.
func NewAvgPool1D(kernel int, opts ...Option) *AvgPool1D {
	return &AvgPool1D{Opts: pool1DOptions("NewAvgPool1D", kernel, opts)}
}

// Forward pools x.
func (p *AvgPool1D) Forward(x *autograd.Var) *autograd.Var {
	if p.Opts.Kernel == 0 {
		panic("nn.AvgPool1D.Forward: the zero value has no kernel size; build it with nn.NewAvgPool1D")
	}
	return autograd.AvgPool1D(x, p.Opts)
}

// Params returns nil.
func (p *AvgPool1D) Params() []*Param { return nil }
