package nn

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/autograd"
)

// Conv2D is a 2-D convolution over [N, C, H, W] inputs (PyTorch's
// nn.Conv2d), with an optional fused activation. The weight is
// [outC, inC/groups, kh, kw] and the bias [outC]; by default both are drawn
// from U(−1/√fanIn, 1/√fanIn) with fanIn = inC/groups·kh·kw, PyTorch's
// defaults. It runs as im2col plus one GEMM per sample and group (the bias
// inside the GEMM), samples spread over the cores; a ReLU activation is
// fused into the op, and inside a Sequential a ReLU Conv2D followed by a
// MaxPool2D runs as one op (autograd.Conv2DReLUMaxPool). At inference,
// after PackForInference, ungrouped unit-stride convolutions run with the
// weight packed once (autograd.ConvCache), as Dense does.
//
// Build it with NewConv2D: the zero value has no weight and its Forward
// panics saying so.
type Conv2D struct {
	Weight     *Param // [outC, inC/groups, kh, kw]
	Bias       *Param // [outC]; nil when built WithoutBias
	Activation Activation
	Opts       autograd.Conv2DOptions

	infer autograd.ConvCache // Weight packed for inference
}

// NewConv2D returns a convolution from inC to outC channels with a
// kernel×kernel window. Options: WithKernel (rectangular window),
// WithStride, WithPadding, WithDilation, WithGroups, WithActivation,
// WithoutBias, WithWeightInit, WithBiasInit, WithSeed, WithRand.
func NewConv2D(inC, outC, kernel int, opts ...Option) *Conv2D {
	c := newConfig(opts)
	kh, kw := kernel, kernel
	if c.kernel != [2]int{} {
		kh, kw = c.kernel[0], c.kernel[1]
	}
	groups := max(c.groups, 1)
	if inC < 1 || outC < 1 || kh < 1 || kw < 1 || inC%groups != 0 || outC%groups != 0 {
		panic(fmt.Sprintf("nn.NewConv2D: invalid sizes in=%d out=%d kernel=%dx%d groups=%d (channels must divide by groups)", inC, outC, kh, kw, groups))
	}
	l := &Conv2D{Activation: c.act, Opts: autograd.Conv2DOptions{
		Stride: c.stride, Padding: c.padding, Dilation: c.dilation, Groups: groups,
	}}
	fanIn := inC / groups * kh * kw
	l.Weight = NewParam("weight", initTensor(c.weightInit, KaimingUniform(math.Sqrt(5)), c, outC, inC/groups, kh, kw))
	if !c.noBias {
		l.Bias = NewParam("bias", initTensor(c.biasInit, fanInUniform(fanIn), c, outC))
	}
	return l
}

// Forward convolves x [N, inC, H, W] into [N, outC, oh, ow].
func (l *Conv2D) Forward(x *autograd.Var) *autograd.Var {
	if l.Weight == nil {
		panic(unbuilt("Conv2D", "NewConv2D"))
	}
	if l.Activation == ActReLU {
		// Fused: the ReLU runs on each sample's output while it is in cache.
		opts := l.Opts
		opts.ReLU = true
		return l.infer.Conv2D(x, l.Weight.Var, varOf(l.Bias), opts)
	}
	return l.Activation.Apply(l.infer.Conv2D(x, l.Weight.Var, varOf(l.Bias), l.Opts))
}

// forwardWithNext runs a ReLU convolution and a MaxPool2D after it as one
// op (autograd.Conv2DReLUMaxPool: the convolution's output is pooled in
// cache and never stored); Sequential calls it.
func (l *Conv2D) forwardWithNext(x *autograd.Var, next Module) (*autograd.Var, bool) {
	p, ok := next.(*MaxPool2D)
	if !ok || l.Activation != ActReLU || l.Weight == nil {
		return nil, false
	}
	checkKernel("MaxPool2D", p.Opts)
	return l.infer.Conv2DReLUMaxPool(x, l.Weight.Var, varOf(l.Bias), l.Opts, p.Opts), true
}

// Params returns the weight and, when present, the bias.
func (l *Conv2D) Params() []*Param { return params(l.Weight, l.Bias) }

// String describes the layer, like "Conv2D(1 → 32, 3x3, stride 1, padding 1)".
func (l *Conv2D) String() string {
	if l.Weight == nil {
		return "Conv2D(unbuilt)"
	}
	ws := l.Weight.Shape()
	o := l.Opts
	s := fmt.Sprintf("Conv2D(%d → %d, %dx%d, stride %v, padding %v", ws[1]*max(o.Groups, 1), ws[0], ws[2], ws[3], ones(o.Stride), o.Padding)
	if o.Dilation != [2]int{} && o.Dilation != [2]int{1, 1} {
		s += fmt.Sprintf(", dilation %v", o.Dilation)
	}
	if o.Groups > 1 {
		s += fmt.Sprintf(", groups %d", o.Groups)
	}
	if l.Activation != ActNone {
		s += ", " + l.Activation.String()
	}
	return s + ")"
}

// ones replaces zero (default) entries by 1 for display.
func ones(v [2]int) [2]int {
	for i := range v {
		if v[i] == 0 {
			v[i] = 1
		}
	}
	return v
}
