package nn

import (
	"slices"
	"strconv"

	"github.com/shoshin-ml/shoshin/autograd"
)

// Sequential chains modules: the output of each is the input of the next.
// Like PyTorch's nn.Sequential it names its children by index, so the
// parameters of a Dense at position 2 are "2.weight" and "2.bias", and a
// Sequential nested at position 1 of another yields "1.0.weight".
type Sequential struct {
	layers []Module
}

// NewSequential returns a Sequential of layers, renaming their Params and
// buffers in place with their index ("0.", "1.", ...). Each layer must be
// added to exactly one container.
func NewSequential(layers ...Module) *Sequential {
	s := &Sequential{}
	for _, l := range layers {
		s.Add(l)
	}
	return s
}

// Add appends a layer, naming its Params after its index, and returns s.
// Add layers before s is itself placed in another container, whose prefix
// is applied once, when it is built.
func (s *Sequential) Add(l Module) *Sequential {
	Register(strconv.Itoa(len(s.layers)), l)
	s.layers = append(s.layers, l)
	return s
}

// Forward runs the layers in order.
func (s *Sequential) Forward(x *autograd.Var) *autograd.Var {
	for _, l := range s.layers {
		x = l.Forward(x)
	}
	return x
}

// Params returns the Params of every layer, in order.
func (s *Sequential) Params() []*Param {
	var ps []*Param
	for _, l := range s.layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Buffers returns the buffers of every layer that has any, in order.
func (s *Sequential) Buffers() []*Param { return childBuffers(s.layers...) }

// Children returns the layers.
func (s *Sequential) Children() []Module { return slices.Clone(s.layers) }

// Len returns the number of layers.
func (s *Sequential) Len() int { return len(s.layers) }

// Layer returns the i-th layer.
func (s *Sequential) Layer(i int) Module { return s.layers[i] }

// childBuffers gathers the buffers of the modules that own any.
func childBuffers(ms ...Module) []*Param {
	var bs []*Param
	for _, m := range ms {
		if b, ok := m.(BufferOwner); ok {
			bs = append(bs, b.Buffers()...)
		}
	}
	return bs
}
