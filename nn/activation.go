package nn

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
)

// Activation names an element-wise (or, for the softmaxes, row-wise)
// function that Dense and Conv2D can apply to their output with
// WithActivation.
type Activation int

// The activations. ActNone (the zero value) leaves the output linear;
// ActLeakyReLU uses PyTorch's default slope 0.01; the softmaxes work over
// the last axis.
const (
	ActNone Activation = iota
	ActReLU
	ActLeakyReLU
	ActGELU
	ActSigmoid
	ActTanh
	ActSoftmax
	ActLogSoftmax
)

var actNames = [...]string{"None", "ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax"}

// String returns the activation's name, such as "ReLU".
func (a Activation) String() string {
	if a < 0 || int(a) >= len(actNames) {
		return fmt.Sprintf("Activation(%d)", int(a))
	}
	return actNames[a]
}

// Apply applies the activation to x.
func (a Activation) Apply(x *autograd.Var) *autograd.Var {
	switch a {
	case ActNone:
		return x
	case ActReLU:
		return autograd.ReLU(x)
	case ActLeakyReLU:
		return autograd.LeakyReLU(x, 0.01)
	case ActGELU:
		return autograd.GELU(x)
	case ActSigmoid:
		return autograd.Sigmoid(x)
	case ActTanh:
		return autograd.Tanh(x)
	case ActSoftmax:
		return autograd.Softmax(x, -1)
	case ActLogSoftmax:
		return autograd.LogSoftmax(x, -1)
	}
	panic(fmt.Sprintf("nn.Activation.Apply: unknown activation %d", int(a)))
}

// ReLU is the layer max(x, 0).
type ReLU struct{}

// NewReLU returns a ReLU layer.
func NewReLU() *ReLU { return &ReLU{} }

// Forward applies max(x, 0) element-wise.
func (ReLU) Forward(x *autograd.Var) *autograd.Var { return autograd.ReLU(x) }

// Params returns nil: ReLU has no parameters.
func (ReLU) Params() []*Param { return nil }

// LeakyReLU is the layer x for x > 0 and Slope·x otherwise. The zero value
// has slope 0, which is ReLU; NewLeakyReLU(0.01) is PyTorch's default.
type LeakyReLU struct {
	Slope float32
}

// NewLeakyReLU returns a LeakyReLU layer with the given negative slope
// (PyTorch's default is 0.01).
func NewLeakyReLU(slope float32) *LeakyReLU { return &LeakyReLU{Slope: slope} }

// Forward applies the leaky rectifier element-wise.
func (l LeakyReLU) Forward(x *autograd.Var) *autograd.Var { return autograd.LeakyReLU(x, l.Slope) }

// Params returns nil: LeakyReLU has no parameters.
func (LeakyReLU) Params() []*Param { return nil }

// GELU is the Gaussian error linear unit x·Φ(x), computed exactly with erf.
type GELU struct{}

// NewGELU returns a GELU layer.
func NewGELU() *GELU { return &GELU{} }

// Forward applies GELU element-wise.
func (GELU) Forward(x *autograd.Var) *autograd.Var { return autograd.GELU(x) }

// Params returns nil: GELU has no parameters.
func (GELU) Params() []*Param { return nil }

// Sigmoid is the layer 1/(1+e^−x).
type Sigmoid struct{}

// NewSigmoid returns a Sigmoid layer.
func NewSigmoid() *Sigmoid { return &Sigmoid{} }

// Forward applies the logistic function element-wise.
func (Sigmoid) Forward(x *autograd.Var) *autograd.Var { return autograd.Sigmoid(x) }

// Params returns nil: Sigmoid has no parameters.
func (Sigmoid) Params() []*Param { return nil }

// Tanh is the hyperbolic tangent layer.
type Tanh struct{}

// NewTanh returns a Tanh layer.
func NewTanh() *Tanh { return &Tanh{} }

// Forward applies tanh element-wise.
func (Tanh) Forward(x *autograd.Var) *autograd.Var { return autograd.Tanh(x) }

// Params returns nil: Tanh has no parameters.
func (Tanh) Params() []*Param { return nil }

// Softmax normalises exp(x) to sum to one along Axis, counted from the end
// when negative. Axis 0, the batch axis, is never what a layer wants, so
// it too selects the last axis: the zero value Softmax{} is the usual
// softmax over the classes of [N, classes] logits, like NewSoftmax.
type Softmax struct {
	Axis int
}

// NewSoftmax returns a Softmax over the last axis (for [N, classes]
// logits this is PyTorch's Softmax(dim=1)).
func NewSoftmax() *Softmax { return &Softmax{Axis: -1} }

// Forward applies the softmax along s.Axis (the last axis when it is 0).
func (s Softmax) Forward(x *autograd.Var) *autograd.Var {
	return autograd.Softmax(x, layerAxis(s.Axis))
}

// Params returns nil: Softmax has no parameters.
func (Softmax) Params() []*Param { return nil }

// LogSoftmax is log(Softmax(x)) along Axis, computed stably. As for
// Softmax, Axis 0 (the zero value) selects the last axis.
type LogSoftmax struct {
	Axis int
}

// NewLogSoftmax returns a LogSoftmax over the last axis.
func NewLogSoftmax() *LogSoftmax { return &LogSoftmax{Axis: -1} }

// Forward applies the log-softmax along s.Axis (the last axis when it is 0).
func (s LogSoftmax) Forward(x *autograd.Var) *autograd.Var {
	return autograd.LogSoftmax(x, layerAxis(s.Axis))
}

// layerAxis maps a softmax layer's Axis to the axis it normalises: 0, the
// batch axis and the zero value, means the last.
func layerAxis(axis int) int {
	if axis == 0 {
		return -1
	}
	return axis
}

// Params returns nil: LogSoftmax has no parameters.
func (LogSoftmax) Params() []*Param { return nil }

// OutputActivator is implemented by a layer that knows which activation it
// applies last, for OutputActivation to report. A user's layer that ends in
// a softmax or sigmoid implements it so that training code can tell
// probabilities from logits.
type OutputActivator interface {
	OutputActivation() Activation
}

// OutputActivation returns the activation m applies last: ActSoftmax,
// ActLogSoftmax and ActSigmoid for models that output probabilities,
// log-probabilities or per-class probabilities, ActReLU and the others for
// the element-wise ones, ActNone for a linear output or when it cannot tell.
//
// It reads the fused activation of Dense and Conv2D, recognises the
// activation layers (Softmax, LogSoftmax, Sigmoid, ReLU, ...), looks at the
// last layer of a Sequential (nested ones included, skipping trailing
// Dropout layers, which are the identity at inference), and asks any layer
// that implements OutputActivator. A Residual's x + f(x) reports ActNone.
func OutputActivation(m Module) Activation {
	switch l := m.(type) {
	case nil:
		return ActNone
	case OutputActivator:
		return l.OutputActivation()
	case *Sequential:
		for i := len(l.layers) - 1; i >= 0; i-- {
			if _, ok := l.layers[i].(*Dropout); ok {
				continue
			}
			return OutputActivation(l.layers[i])
		}
		return ActNone
	case *Dense:
		return l.Activation
	case *Conv2D:
		return l.Activation
	case *ReLU, ReLU:
		return ActReLU
	case *LeakyReLU, LeakyReLU:
		return ActLeakyReLU
	case *GELU, GELU:
		return ActGELU
	case *Sigmoid, Sigmoid:
		return ActSigmoid
	case *Tanh, Tanh:
		return ActTanh
	case *Softmax, Softmax:
		return ActSoftmax
	case *LogSoftmax, LogSoftmax:
		return ActLogSoftmax
	}
	return ActNone
}
