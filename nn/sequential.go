package nn

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/shoshin-ml/shoshin/autograd"
)

// Sequential chains modules: the output of each is the input of the next.
// Like PyTorch's nn.Sequential it names its children by index, so the
// parameters of a Dense at position 2 are "2.weight" and "2.bias", and a
// Sequential nested at position 1 of another yields "1.0.weight".
//
// The names are views (see ParamViews): the layers themselves are not
// renamed, so a trained model wrapped in a Sequential, say with a Softmax
// after it, still saves and loads its own file under its own names, while
// the wrapper saves "0.0.weight" and so on. Params and Buffers return the
// same pointers on every call.
type Sequential struct {
	layers []Module
	views  ParamViews
}

// NewSequential returns a Sequential of layers, named by their index
// ("0.", "1.", ...) in its Params and buffers.
func NewSequential(layers ...Module) *Sequential {
	s := &Sequential{}
	for _, l := range layers {
		s.Add(l)
	}
	return s
}

// Add appends a layer, named after its index, and returns s. It panics on
// a nil layer.
func (s *Sequential) Add(l Module) *Sequential {
	if l == nil {
		panic(fmt.Sprintf("nn.Sequential.Add: nil layer at index %d", len(s.layers)))
	}
	s.layers = append(s.layers, l)
	return s
}

// Forward runs the layers in order. A layer that can run together with
// the next ones as a single op (in training mode: a first Conv2D of one
// input channel before a BatchNorm2D, a ReLU and a 2×2 MaxPool2D; a
// BatchNorm2D before a ReLU and a 2×2 MaxPool2D) or with the next one
// (a Conv2D with ReLU before a MaxPool2D, a training-mode BatchNorm
// before a ReLU) does so. The result is the same, except for the first
// convolution block, whose statistics come from a Gram matrix of the
// input (autograd.Conv2DBatchNormReLUMaxPool) and agree to float32
// rounding.
func (s *Sequential) Forward(x *autograd.Var) *autograd.Var {
	for i := 0; i < len(s.layers); i++ {
		if y, k := forwardConvBlock(x, s.layers[i:]); k > 0 {
			x = y
			i += k - 1
			continue
		}
		if f, ok := s.layers[i].(chainFuser); ok {
			if y, k := f.forwardChain(x, s.layers[i+1:]); k > 0 {
				x = y
				i += k
				continue
			}
		}
		if f, ok := s.layers[i].(nextFuser); ok && i+1 < len(s.layers) {
			if y, ok := f.forwardWithNext(x, s.layers[i+1]); ok {
				x = y
				i++
				continue
			}
		}
		x = s.layers[i].Forward(x)
	}
	return x
}

// nextFuser is a layer that may run together with the layer after it.
// forwardWithNext returns false, computing nothing, when it cannot.
type nextFuser interface {
	forwardWithNext(x *autograd.Var, next Module) (*autograd.Var, bool)
}

// chainFuser is a layer that may run together with several of the layers
// after it (next). forwardChain returns how many of them it ran, or 0,
// computing nothing, when it cannot.
type chainFuser interface {
	forwardChain(x *autograd.Var, next []Module) (*autograd.Var, int)
}

// Params returns the Params of every layer, in order, as views named
// after the layer's index.
func (s *Sequential) Params() []*Param {
	var ps []*Param
	for i, l := range s.layers {
		ps = append(ps, s.views.Prefix(strconv.Itoa(i), l.Params())...)
	}
	return ps
}

// Buffers returns the buffers of every layer that has any, in order, as
// views named after the layer's index.
func (s *Sequential) Buffers() []*Param {
	var bs []*Param
	for i, l := range s.layers {
		if b, ok := l.(BufferOwner); ok {
			bs = append(bs, s.views.Prefix(strconv.Itoa(i), b.Buffers())...)
		}
	}
	return bs
}

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
