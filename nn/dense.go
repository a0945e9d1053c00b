package nn

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Dense is a fully connected layer, y = act(x·Wᵀ + b), PyTorch's
// nn.Linear with an optional fused activation (Keras's Dense). The weight
// is [out, in] and the bias [out], as in PyTorch; by default both are drawn
// from U(−1/√in, 1/√in) like PyTorch's defaults (kaiming_uniform_ with
// a=√5 for the weight).
//
// The input is [N, in] or any [..., in]; the output replaces the last axis
// by out. Build it with NewDense: the zero value has no weight and its
// Forward panics saying so.
//
// At inference (an input in inference mode: autograd.NoGrad, Arena.Input,
// as train.Predict makes) of a layer whose weight is cacheable
// (PackForInference, autograd.Var.SetCacheable), the layer multiplies by
// its weight packed once into the GEMM's panel layout, with the bias and a
// ReLU or GELU activation fused into the product. The packed copy is kept
// with the layer and packed again when the weight's version changes
// (autograd.Var.Version): optimizers and the loaders of this package mark
// every parameter they write, and code that writes Weight's values in
// place by other means must call Weight.MarkChanged. Replacing the weight
// tensor (SetValue) is seen too. Weights are not cacheable by default, so
// a hand-written update loop never meets a stale copy. Inference forwards
// may run on many goroutines at once.
type Dense struct {
	Weight     *Param // [out, in]
	Bias       *Param // [out]; nil when built WithoutBias
	Activation Activation

	packed PackCache // Weight packed for inference
}

// NewDense returns a Dense layer mapping in features to out. Options:
// WithActivation, WithoutBias, WithWeightInit, WithBiasInit, WithSeed,
// WithRand.
func NewDense(in, out int, opts ...Option) *Dense {
	if in < 1 || out < 1 {
		panic(fmt.Sprintf("nn.NewDense: sizes must be positive, got in=%d out=%d", in, out))
	}
	c := newConfig(opts)
	d := &Dense{Activation: c.act}
	d.Weight = NewParam("weight", initTensor(c.weightInit, KaimingUniform(math.Sqrt(5)), c, out, in))
	if !c.noBias {
		d.Bias = NewParam("bias", initTensor(c.biasInit, fanInUniform(in), c, out))
	}
	return d
}

// initTensor makes a tensor of shape and fills it with f, or def when f is
// nil.
func initTensor(f, def Initializer, c *config, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	if f == nil {
		f = def
	}
	f(t, c.rng)
	return t
}

// varOf returns p's Var, or nil for a missing optional parameter.
func varOf(p *Param) *autograd.Var {
	if p == nil {
		return nil
	}
	return p.Var
}

// Forward computes act(x·Wᵀ + b).
func (d *Dense) Forward(x *autograd.Var) *autograd.Var {
	if d.Weight == nil {
		panic(unbuilt("Dense", "NewDense"))
	}
	xs := x.Shape()
	in := d.Weight.Value().Dim(1)
	if len(xs) == 0 || xs[len(xs)-1] != in {
		panic(fmt.Sprintf("nn.Dense.Forward: input %v does not end in %d features (weight %v)", xs, in, d.Weight.Shape()))
	}
	if x.Inference() && len(xs) >= 2 && d.Weight.Cacheable() {
		fused := tensor.ActNone
		switch d.Activation {
		case ActReLU:
			fused = tensor.ActReLU
		case ActGELU:
			fused = tensor.ActGELU
		}
		y := autograd.LinearPacked(x, d.packed.Get(d.Weight.Var, true), varOf(d.Bias), fused)
		if fused != tensor.ActNone {
			return y
		}
		return d.Activation.Apply(y)
	}
	var y *autograd.Var
	if len(xs) == 2 {
		y = autograd.Linear(x, d.Weight.Var, varOf(d.Bias))
	} else {
		lead := xs[:len(xs)-1]
		y = autograd.Linear(autograd.Reshape(x, -1, in), d.Weight.Var, varOf(d.Bias))
		var shape [8]int // Reshape keeps no reference to it
		y = autograd.Reshape(y, append(append(shape[:0], lead...), d.Weight.Value().Dim(0))...)
	}
	return d.Activation.Apply(y)
}

// Params returns the weight and, when present, the bias.
func (d *Dense) Params() []*Param { return params(d.Weight, d.Bias) }

// String describes the layer, like "Dense(784 → 128, ReLU)".
func (d *Dense) String() string {
	if d.Weight == nil {
		return "Dense(unbuilt)"
	}
	s := fmt.Sprintf("Dense(%d → %d", d.Weight.Value().Dim(1), d.Weight.Value().Dim(0))
	if d.Bias == nil {
		s += ", no bias"
	}
	if d.Activation != ActNone {
		s += ", " + d.Activation.String()
	}
	return s + ")"
}

// unbuilt is the panic message of a layer used as its zero value.
func unbuilt(layer, constructors string) string {
	return fmt.Sprintf("nn.%s.Forward: the zero value %s has no parameters; build it with nn.%s", layer, layer, constructors)
}

// params lists the non-nil Params.
func params(ps ...*Param) []*Param {
	out := ps[:0]
	for _, p := range ps {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}
