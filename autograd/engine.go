package autograd

import (
	"github.com/shoshin-ml/shoshin/tensor"
)

// node records how a Var was computed: its inputs and a function that maps
// the gradient of the output to the gradients of the inputs.
type node struct {
	op       string
	inputs   []*Var
	backward func(g *tensor.Tensor) []*tensor.Tensor
}
