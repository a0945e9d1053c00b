package nn

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Residual wraps a module f and computes x + f(x), the skip connection of
// a residual network; f must preserve its input's shape. Residual adds no
// level to parameter names: the wrapped module's Params keep their names
// (a Residual around a Sequential maps onto a PyTorch nn.Sequential
// subclass whose forward adds its input).
type Residual struct {
	F Module
}

// NewResidual returns the skip connection x + f(x). It panics on a nil f.
func NewResidual(f Module) *Residual {
	if f == nil {
		panic("nn.NewResidual: nil module")
	}
	return &Residual{F: f}
}

// Forward returns x + F(x).
func (r *Residual) Forward(x *autograd.Var) *autograd.Var {
	if r.F == nil {
		panic("nn.Residual.Forward: no wrapped module (zero value); build it with nn.NewResidual(f)")
	}
	y := r.F.Forward(x)
	if !tensor.EqualShape(x.Shape(), y.Shape()) {
		panic(fmt.Sprintf("nn.Residual.Forward: wrapped module maps %v to %v; the shapes must agree", x.Shape(), y.Shape()))
	}
	return autograd.Add(x, y)
}

// Params returns the wrapped module's Params.
func (r *Residual) Params() []*Param {
	if r.F == nil {
		return nil
	}
	return r.F.Params()
}

// Buffers returns the wrapped module's buffers, if any.
func (r *Residual) Buffers() []*Param {
	if r.F == nil {
		return nil
	}
	return childBuffers(r.F)
}

// Children returns the wrapped module.
func (r *Residual) Children() []Module {
	if r.F == nil {
		return nil
	}
	return []Module{r.F}
}
