package nn

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// LayerNorm normalises each sample over its trailing axes (PyTorch's
// nn.LayerNorm): every [..., *Shape] slice gets zero mean and unit
// (biased) variance, then an element-wise scale (initialised to 1) and
// shift (initialised to 0). It behaves the same in training and evaluation.
// Build it with NewLayerNorm or NewLayerNormShape: the zero value has no
// shape and its Forward panics saying so.
type LayerNorm struct {
	Weight *Param // Shape; nil WithoutAffine
	Bias   *Param // Shape; nil WithoutAffine or WithoutBias
	Shape  []int
	Eps    float32
}

// NewLayerNorm returns a LayerNorm over the last axis of size features.
// Options: WithEps (default 1e-5), WithoutAffine, WithoutBias,
// WithWeightInit, WithBiasInit.
func NewLayerNorm(features int, opts ...Option) *LayerNorm {
	return NewLayerNormShape([]int{features}, opts...)
}

// NewLayerNormShape returns a LayerNorm over trailing axes of the given
// shape (PyTorch's normalized_shape).
func NewLayerNormShape(shape []int, opts ...Option) *LayerNorm {
	if len(shape) == 0 {
		panic("nn.NewLayerNormShape: empty normalized shape")
	}
	for _, d := range shape {
		if d < 1 {
			panic(fmt.Sprintf("nn.NewLayerNormShape: shape %v must be positive", shape))
		}
	}
	c := newConfig(opts)
	l := &LayerNorm{Shape: append([]int(nil), shape...), Eps: c.eps}
	if !c.noAffine {
		l.Weight = NewParam("weight", initTensor(c.weightInit, Ones, c, shape...))
		if !c.noBias {
			l.Bias = NewParam("bias", initTensor(c.biasInit, Zeros, c, shape...))
		}
	}
	return l
}

// Forward normalises x over its last len(Shape) axes, which must equal
// Shape.
func (l *LayerNorm) Forward(x *autograd.Var) *autograd.Var {
	if len(l.Shape) == 0 {
		panic("nn.LayerNorm.Forward: the zero value has no normalized shape; build it with nn.NewLayerNorm or nn.NewLayerNormShape")
	}
	xs := x.Shape()
	k := len(l.Shape)
	if len(xs) < k || !tensor.EqualShape(xs[len(xs)-k:], l.Shape) {
		panic(fmt.Sprintf("nn.LayerNorm.Forward: input %v does not end in %v", xs, l.Shape))
	}
	return autograd.LayerNorm(x, varOf(l.Weight), varOf(l.Bias), k, l.Eps)
}

// Params returns the scale and shift that are present.
func (l *LayerNorm) Params() []*Param { return params(l.Weight, l.Bias) }
