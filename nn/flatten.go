package nn

import "github.com/shoshin-ml/shoshin/autograd"

// Flatten reshapes [N, d1, d2, ...] to [N, d1·d2·...], keeping the batch
// axis (PyTorch's nn.Flatten with its defaults). It shares the input's data.
type Flatten struct{}

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Forward flattens every axis after the first.
func (Flatten) Forward(x *autograd.Var) *autograd.Var { return autograd.Flatten(x) }

// Params returns nil: Flatten has no parameters.
func (Flatten) Params() []*Param { return nil }
