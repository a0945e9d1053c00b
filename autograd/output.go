package autograd

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Output returns a tensor of the given shape for the result of an
// inference op computed from x outside the tape (a custom kernel, a
// quantised layer): from x's arena when x has one — its contents are then
// stale, so the op must write every element, and it is valid until the
// arena's next Reset — and a new zeroed tensor otherwise. With Result it
// lets such an op run without allocating once the arena is warm.
func Output(x *Var, shape ...int) *tensor.Tensor {
	if x.arena != nil {
		return x.arena.tensor(shape)
	}
	return tensor.Zeros(shape...)
}

// Result wraps y, computed from x by an op that records nothing, as that
// op's output: it inherits x's inference mode and arena, and its Var comes
// from x's arena when x has one. It panics when x requires a gradient: an
// op that needs one is an Apply of a Function.
func Result(y *tensor.Tensor, x *Var) *Var {
	if x.RequiresGrad() {
		panic(fmt.Sprintf("autograd.Result: the input %v requires a gradient; use Apply with a Function", x.Shape()))
	}
	return wrap(y, x)
}
