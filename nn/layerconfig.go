package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"

	"github.com/shoshin-ml/shoshin/tensor"
)

// This file gives every built-in layer its LayerConfig (see Configurer)
// and registers the constructor LoadModel rebuilds it with. Each kind's
// configuration struct is its part of the model file schema.

// checks validates configuration values, keeping the first error.
type checks struct{ err error }

func (c *checks) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// size requires 1 ≤ v ≤ maxDimSize.
func (c *checks) size(name string, v int) {
	if v < 1 || v > maxDimSize {
		c.fail("%s must be between 1 and %d, got %d", name, maxDimSize, v)
	}
}

// nonNeg requires 0 ≤ v ≤ maxDimSize (0 selects a default).
func (c *checks) nonNeg(name string, v int) {
	if v < 0 || v > maxDimSize {
		c.fail("%s must be between 0 and %d, got %d", name, maxDimSize, v)
	}
}

// prob requires 0 ≤ p < 1.
func (c *checks) prob(name string, p float32) {
	if !(p >= 0 && p < 1) {
		c.fail("%s must be in [0, 1), got %v", name, p)
	}
}

// finite requires a finite value, positive when positive is set.
func (c *checks) finite(name string, v float32, positive bool) {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || (positive && v <= 0) {
		if positive {
			c.fail("%s must be positive and finite, got %v", name, v)
		} else {
			c.fail("%s must be finite, got %v", name, v)
		}
	}
}

func (c *checks) activation(name string) Activation {
	if name == "" {
		return ActNone
	}
	for i, n := range actNames {
		if n == name {
			return Activation(i)
		}
	}
	c.fail("unknown activation %q (want one of %v)", shortName(name), actNames[1:])
	return ActNone
}

// count multiplies sizes, saturating instead of overflowing.
func count(dims ...int) int64 {
	n := int64(1)
	for _, d := range dims {
		if d <= 0 {
			return 0
		}
		if n > (1<<62)/int64(d) {
			return 1 << 62
		}
		n *= int64(d)
	}
	return n
}

// noInit leaves a tensor as allocated: a loaded layer's weights are
// replaced by the file's, so drawing initial values would be wasted work.
func noInit(*tensor.Tensor, *rand.Rand) {}

// loadOpts are the options a loaded layer is built with.
func loadOpts(noBias bool, act Activation) []Option {
	o := []Option{WithWeightInit(noInit), WithBiasInit(noInit), WithActivation(act)}
	if noBias {
		o = append(o, WithoutBias())
	}
	return o
}

func actName(a Activation) string {
	if a == ActNone {
		return ""
	}
	return a.String()
}

func biasCount(noBias bool, n int) int64 {
	if noBias {
		return 0
	}
	return int64(n)
}

// leaf wraps a constructor that cannot fail once its configuration is
// checked.
func leaf(values int64, build func() Module) (layerPlan, error) {
	return layerPlan{values: values, build: func([]Module) (Module, error) { return build(), nil }}, nil
}

// DenseConfig is the model-file configuration of a Dense layer.
type DenseConfig struct {
	In         int    `json:"in"`
	Out        int    `json:"out"`
	NoBias     bool   `json:"no_bias,omitempty"`
	Activation string `json:"activation,omitempty"` // an Activation's String, "" for none
}

// LayerConfig returns "Dense" and a DenseConfig.
func (d *Dense) LayerConfig() (string, any) {
	c := DenseConfig{NoBias: d.Bias == nil, Activation: actName(d.Activation)}
	if d.Weight != nil {
		c.Out, c.In = d.Weight.Value().Dim(0), d.Weight.Value().Dim(1)
	}
	return "Dense", c
}

// Conv2DConfig is the model-file configuration of a Conv2D layer.
type Conv2DConfig struct {
	In         int    `json:"in"`
	Out        int    `json:"out"`
	Kernel     [2]int `json:"kernel"`
	Stride     [2]int `json:"stride"`   // 0 means 1
	Padding    [2]int `json:"padding"`  //
	Dilation   [2]int `json:"dilation"` // 0 means 1
	Groups     int    `json:"groups,omitempty"`
	NoBias     bool   `json:"no_bias,omitempty"`
	Activation string `json:"activation,omitempty"`
}

// LayerConfig returns "Conv2D" and a Conv2DConfig.
func (l *Conv2D) LayerConfig() (string, any) {
	o := l.Opts
	c := Conv2DConfig{Stride: o.Stride, Padding: o.Padding, Dilation: o.Dilation, Groups: o.Groups, NoBias: l.Bias == nil, Activation: actName(l.Activation)}
	if l.Weight != nil {
		ws := l.Weight.Shape()
		c.Out, c.In, c.Kernel = ws[0], ws[1]*max(o.Groups, 1), [2]int{ws[2], ws[3]}
	}
	return "Conv2D", c
}

// Conv1DConfig is the model-file configuration of a Conv1D layer.
type Conv1DConfig struct {
	In         int    `json:"in"`
	Out        int    `json:"out"`
	Kernel     int    `json:"kernel"`
	Stride     int    `json:"stride,omitempty"`
	Padding    int    `json:"padding,omitempty"`
	Dilation   int    `json:"dilation,omitempty"`
	Groups     int    `json:"groups,omitempty"`
	NoBias     bool   `json:"no_bias,omitempty"`
	Activation string `json:"activation,omitempty"`
}

// LayerConfig returns "Conv1D" and a Conv1DConfig.
func (l *Conv1D) LayerConfig() (string, any) {
	o := l.Opts
	c := Conv1DConfig{Stride: o.Stride, Padding: o.Padding, Dilation: o.Dilation, Groups: o.Groups, NoBias: l.Bias == nil, Activation: actName(l.Activation)}
	if l.Weight != nil {
		ws := l.Weight.Shape()
		c.Out, c.In, c.Kernel = ws[0], ws[1]*max(o.Groups, 1), ws[2]
	}
	return "Conv1D", c
}

// Pool2DConfig is the model-file configuration of MaxPool2D and
// AvgPool2D.
type Pool2DConfig struct {
	Kernel   [2]int `json:"kernel"`
	Stride   [2]int `json:"stride"`   // 0 means the kernel size
	Padding  [2]int `json:"padding"`  // at most half the kernel
	Dilation [2]int `json:"dilation"` // 0 means 1
}

// LayerConfig returns "MaxPool2D" and a Pool2DConfig.
func (p *MaxPool2D) LayerConfig() (string, any) { return "MaxPool2D", Pool2DConfig(p.Opts) }

// LayerConfig returns "AvgPool2D" and a Pool2DConfig.
func (p *AvgPool2D) LayerConfig() (string, any) { return "AvgPool2D", Pool2DConfig(p.Opts) }

// Pool1DConfig is the model-file configuration of MaxPool1D and
// AvgPool1D.
type Pool1DConfig struct {
	Kernel   int `json:"kernel"`
	Stride   int `json:"stride,omitempty"`
	Padding  int `json:"padding,omitempty"`
	Dilation int `json:"dilation,omitempty"`
}

// LayerConfig returns "MaxPool1D" and a Pool1DConfig.
func (p *MaxPool1D) LayerConfig() (string, any) { return "MaxPool1D", Pool1DConfig(p.Opts) }

// LayerConfig returns "AvgPool1D" and a Pool1DConfig.
func (p *AvgPool1D) LayerConfig() (string, any) { return "AvgPool1D", Pool1DConfig(p.Opts) }

// LayerConfig returns "GlobalAvgPool2D" and no configuration.
func (GlobalAvgPool2D) LayerConfig() (string, any) { return "GlobalAvgPool2D", nil }

// BatchNormConfig is the model-file configuration of BatchNorm1D and
// BatchNorm2D. Omitted Momentum and Eps take the defaults 0.1 and 1e-5.
type BatchNormConfig struct {
	Features int      `json:"features"`
	Momentum *float32 `json:"momentum,omitempty"`
	Eps      *float32 `json:"eps,omitempty"`
	NoAffine bool     `json:"no_affine,omitempty"`
}

// LayerConfig returns "BatchNorm1D" or "BatchNorm2D" and a
// BatchNormConfig.
func (b *BatchNorm) LayerConfig() (string, any) {
	c := BatchNormConfig{Momentum: &b.Momentum, Eps: &b.Eps, NoAffine: b.Weight == nil}
	if b.RunningMean != nil {
		c.Features = b.RunningMean.Value().Size()
	}
	kind := b.name
	if kind == "" {
		kind = "BatchNorm"
	}
	return kind, c
}

// LayerNormConfig is the model-file configuration of LayerNorm. An
// omitted Eps takes the default 1e-5.
type LayerNormConfig struct {
	Shape    []int    `json:"shape"`
	Eps      *float32 `json:"eps,omitempty"`
	NoAffine bool     `json:"no_affine,omitempty"`
	NoBias   bool     `json:"no_bias,omitempty"`
}

// LayerConfig returns "LayerNorm" and a LayerNormConfig.
func (l *LayerNorm) LayerConfig() (string, any) {
	return "LayerNorm", LayerNormConfig{Shape: l.Shape, Eps: &l.Eps, NoAffine: l.Weight == nil, NoBias: l.Weight != nil && l.Bias == nil}
}

// DropoutConfig is the model-file configuration of Dropout.
type DropoutConfig struct {
	P float32 `json:"p"`
}

// LayerConfig returns "Dropout" and a DropoutConfig.
func (d *Dropout) LayerConfig() (string, any) { return "Dropout", DropoutConfig{P: d.P} }

// LayerConfig returns "Flatten" and no configuration.
func (Flatten) LayerConfig() (string, any) { return "Flatten", nil }

// LayerConfig returns "ReLU" and no configuration.
func (ReLU) LayerConfig() (string, any) { return "ReLU", nil }

// LayerConfig returns "GELU" and no configuration.
func (GELU) LayerConfig() (string, any) { return "GELU", nil }

// LayerConfig returns "Sigmoid" and no configuration.
func (Sigmoid) LayerConfig() (string, any) { return "Sigmoid", nil }

// LayerConfig returns "Tanh" and no configuration.
func (Tanh) LayerConfig() (string, any) { return "Tanh", nil }

// SlopeConfig is the model-file configuration of LeakyReLU.
type SlopeConfig struct {
	Slope float32 `json:"slope"`
}

// LayerConfig returns "LeakyReLU" and a SlopeConfig.
func (l LeakyReLU) LayerConfig() (string, any) { return "LeakyReLU", SlopeConfig(l) }

// AxisConfig is the model-file configuration of Softmax and LogSoftmax.
type AxisConfig struct {
	Axis int `json:"axis"`
}

// LayerConfig returns "Softmax" and an AxisConfig.
func (s Softmax) LayerConfig() (string, any) { return "Softmax", AxisConfig(s) }

// LayerConfig returns "LogSoftmax" and an AxisConfig.
func (s LogSoftmax) LayerConfig() (string, any) { return "LogSoftmax", AxisConfig(s) }

// LayerConfig returns "Sequential" and no configuration; its layers are
// its children.
func (s *Sequential) LayerConfig() (string, any) { return "Sequential", nil }

// LayerConfig returns "Residual" and no configuration; the wrapped module
// is its child.
func (r *Residual) LayerConfig() (string, any) { return "Residual", nil }

type noConfig struct{}

func init() {
	registerBuiltinKind("Sequential", true, -1, []any{(*Sequential)(nil)}, func(*noConfig) (layerPlan, error) {
		return layerPlan{build: func(ch []Module) (Module, error) { return NewSequential(ch...), nil }}, nil
	})
	registerBuiltinKind("Residual", true, 1, []any{(*Residual)(nil)}, func(*noConfig) (layerPlan, error) {
		return layerPlan{build: func(ch []Module) (Module, error) { return NewResidual(ch[0]), nil }}, nil
	})
	registerBuiltin("Dense", []any{(*Dense)(nil)}, func(c *DenseConfig) (layerPlan, error) {
		var k checks
		k.size("in", c.In)
		k.size("out", c.Out)
		act := k.activation(c.Activation)
		if k.err != nil {
			return layerPlan{}, k.err
		}
		return leaf(count(c.In, c.Out)+biasCount(c.NoBias, c.Out), func() Module {
			return NewDense(c.In, c.Out, loadOpts(c.NoBias, act)...)
		})
	})
	registerBuiltin("Conv2D", []any{(*Conv2D)(nil)}, func(c *Conv2DConfig) (layerPlan, error) {
		var k checks
		k.size("in", c.In)
		k.size("out", c.Out)
		for i := range 2 {
			k.size("kernel", c.Kernel[i])
			k.nonNeg("stride", c.Stride[i])
			k.nonNeg("padding", c.Padding[i])
			k.nonNeg("dilation", c.Dilation[i])
		}
		k.nonNeg("groups", c.Groups)
		act := k.activation(c.Activation)
		g := max(c.Groups, 1)
		if k.err == nil && (c.In%g != 0 || c.Out%g != 0) {
			k.fail("in %d and out %d must divide by groups %d", c.In, c.Out, g)
		}
		if k.err != nil {
			return layerPlan{}, k.err
		}
		return leaf(count(c.Out, c.In/g, c.Kernel[0], c.Kernel[1])+biasCount(c.NoBias, c.Out), func() Module {
			o := append(loadOpts(c.NoBias, act), WithKernel(c.Kernel[0], c.Kernel[1]), WithStride(c.Stride[:]...),
				WithPadding(c.Padding[:]...), WithDilation(c.Dilation[:]...), WithGroups(g))
			return NewConv2D(c.In, c.Out, c.Kernel[0], o...)
		})
	})
	registerBuiltin("Conv1D", []any{(*Conv1D)(nil)}, func(c *Conv1DConfig) (layerPlan, error) {
		var k checks
		k.size("in", c.In)
		k.size("out", c.Out)
		k.size("kernel", c.Kernel)
		k.nonNeg("stride", c.Stride)
		k.nonNeg("padding", c.Padding)
		k.nonNeg("dilation", c.Dilation)
		k.nonNeg("groups", c.Groups)
		act := k.activation(c.Activation)
		g := max(c.Groups, 1)
		if k.err == nil && (c.In%g != 0 || c.Out%g != 0) {
			k.fail("in %d and out %d must divide by groups %d", c.In, c.Out, g)
		}
		if k.err != nil {
			return layerPlan{}, k.err
		}
		return leaf(count(c.Out, c.In/g, c.Kernel)+biasCount(c.NoBias, c.Out), func() Module {
			o := append(loadOpts(c.NoBias, act), WithStride(c.Stride), WithPadding(c.Padding), WithDilation(c.Dilation), WithGroups(g))
			return NewConv1D(c.In, c.Out, c.Kernel, o...)
		})
	})
	pool2D := func(kind string, typ any, mk func(k int, o ...Option) Module) {
		registerBuiltin(kind, []any{typ}, func(c *Pool2DConfig) (layerPlan, error) {
			var k checks
			for i := range 2 {
				k.size("kernel", c.Kernel[i])
				k.nonNeg("stride", c.Stride[i])
				k.nonNeg("padding", c.Padding[i])
				k.nonNeg("dilation", c.Dilation[i])
				if 2*c.Padding[i] > c.Kernel[i] {
					k.fail("padding %v may be at most half the kernel %v", c.Padding, c.Kernel)
				}
			}
			if k.err != nil {
				return layerPlan{}, k.err
			}
			return leaf(0, func() Module {
				return mk(c.Kernel[0], WithKernel(c.Kernel[0], c.Kernel[1]), WithStride(c.Stride[:]...), WithPadding(c.Padding[:]...), WithDilation(c.Dilation[:]...))
			})
		})
	}
	pool2D("MaxPool2D", (*MaxPool2D)(nil), func(k int, o ...Option) Module { return NewMaxPool2D(k, o...) })
	pool2D("AvgPool2D", (*AvgPool2D)(nil), func(k int, o ...Option) Module { return NewAvgPool2D(k, o...) })
	pool1D := func(kind string, typ any, mk func(k int, o ...Option) Module) {
		registerBuiltin(kind, []any{typ}, func(c *Pool1DConfig) (layerPlan, error) {
			var k checks
			k.size("kernel", c.Kernel)
			k.nonNeg("stride", c.Stride)
			k.nonNeg("padding", c.Padding)
			k.nonNeg("dilation", c.Dilation)
			if 2*c.Padding > c.Kernel {
				k.fail("padding %d may be at most half the kernel %d", c.Padding, c.Kernel)
			}
			if k.err != nil {
				return layerPlan{}, k.err
			}
			return leaf(0, func() Module {
				return mk(c.Kernel, WithStride(c.Stride), WithPadding(c.Padding), WithDilation(c.Dilation))
			})
		})
	}
	pool1D("MaxPool1D", (*MaxPool1D)(nil), func(k int, o ...Option) Module { return NewMaxPool1D(k, o...) })
	pool1D("AvgPool1D", (*AvgPool1D)(nil), func(k int, o ...Option) Module { return NewAvgPool1D(k, o...) })
	for _, kind := range []string{"BatchNorm1D", "BatchNorm2D"} {
		mk := NewBatchNorm1D
		if kind == "BatchNorm2D" {
			mk = NewBatchNorm2D
		}
		registerBuiltin(kind, []any{(*BatchNorm)(nil)}, func(c *BatchNormConfig) (layerPlan, error) {
			var k checks
			k.size("features", c.Features)
			mom, eps := float32(0.1), float32(1e-5)
			if c.Momentum != nil {
				mom = *c.Momentum
			}
			if c.Eps != nil {
				eps = *c.Eps
			}
			if !(mom >= 0 && mom <= 1) {
				k.fail("momentum must be in [0, 1], got %v", mom)
			}
			k.finite("eps", eps, true)
			if k.err != nil {
				return layerPlan{}, k.err
			}
			n := 2*int64(c.Features) + 1
			if !c.NoAffine {
				n += 2 * int64(c.Features)
			}
			return leaf(n, func() Module {
				o := []Option{WithWeightInit(noInit), WithBiasInit(noInit), WithMomentum(mom), WithEps(eps)}
				if c.NoAffine {
					o = append(o, WithoutAffine())
				}
				return mk(c.Features, o...)
			})
		})
	}
	registerBuiltin("LayerNorm", []any{(*LayerNorm)(nil)}, func(c *LayerNormConfig) (layerPlan, error) {
		var k checks
		if len(c.Shape) == 0 || len(c.Shape) > maxInputRank {
			k.fail("shape %v must have 1 to %d axes", c.Shape, maxInputRank)
		}
		for _, d := range c.Shape {
			k.size("shape", d)
		}
		eps := float32(1e-5)
		if c.Eps != nil {
			eps = *c.Eps
		}
		k.finite("eps", eps, true)
		if k.err != nil {
			return layerPlan{}, k.err
		}
		n := int64(0)
		if !c.NoAffine {
			n = count(c.Shape...)
			if !c.NoBias {
				n = satMul(2, n)
			}
		}
		return leaf(n, func() Module {
			o := []Option{WithWeightInit(noInit), WithBiasInit(noInit), WithEps(eps)}
			if c.NoAffine {
				o = append(o, WithoutAffine())
			}
			if c.NoBias {
				o = append(o, WithoutBias())
			}
			return NewLayerNormShape(c.Shape, o...)
		})
	})
	registerBuiltin("Dropout", []any{(*Dropout)(nil)}, func(c *DropoutConfig) (layerPlan, error) {
		var k checks
		k.prob("p", c.P)
		if k.err != nil {
			return layerPlan{}, k.err
		}
		return leaf(0, func() Module { return NewDropout(c.P) })
	})
	simple := map[string]func() Module{
		"Flatten":         func() Module { return NewFlatten() },
		"ReLU":            func() Module { return NewReLU() },
		"GELU":            func() Module { return NewGELU() },
		"Sigmoid":         func() Module { return NewSigmoid() },
		"Tanh":            func() Module { return NewTanh() },
		"GlobalAvgPool2D": func() Module { return NewGlobalAvgPool2D() },
	}
	for kind, mk := range simple {
		registerBuiltin(kind, []any{mk(), reflect.ValueOf(mk()).Elem().Interface()}, func(*noConfig) (layerPlan, error) { return leaf(0, mk) })
	}
	registerBuiltin("LeakyReLU", []any{(*LeakyReLU)(nil), LeakyReLU{}}, func(c *SlopeConfig) (layerPlan, error) {
		var k checks
		k.finite("slope", c.Slope, false)
		if k.err != nil {
			return layerPlan{}, k.err
		}
		return leaf(0, func() Module { return NewLeakyReLU(c.Slope) })
	})
	axisTypes := map[string][]any{"Softmax": {(*Softmax)(nil), Softmax{}}, "LogSoftmax": {(*LogSoftmax)(nil), LogSoftmax{}}}
	for _, kind := range []string{"Softmax", "LogSoftmax"} {
		registerBuiltin(kind, axisTypes[kind], func(c *AxisConfig) (layerPlan, error) {
			if c.Axis < -maxInputRank || c.Axis > maxInputRank {
				return layerPlan{}, fmt.Errorf("axis %d out of range [%d, %d]", c.Axis, -maxInputRank, maxInputRank)
			}
			if kind == "Softmax" {
				return leaf(0, func() Module { return &Softmax{Axis: c.Axis} })
			}
			return leaf(0, func() Module { return &LogSoftmax{Axis: c.Axis} })
		})
	}
}
