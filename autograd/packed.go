package autograd

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/tensor"
)

// LinearPacked is the inference form of Linear: x·op(w) + b for a weight
// packed once with tensor.PackB (x·Wᵀ + b for w = tensor.PackB(W, true)),
// followed by the activation act (tensor.ActNone, ActReLU or ActGELU), all
// in one pass over the output.
// x is [..., in] with at least two axes and the result is [..., out]; b,
// which may be nil, is [out].
//
// Nothing is recorded and no gradient can reach the packed weight, so x
// must be in inference mode (NoGrad, Arena.Input or a Var derived from
// them); LinearPacked panics otherwise. The output comes from x's arena
// when it has one.
func LinearPacked(x *Var, w *tensor.Packed, b *Var, act tensor.Act) *Var {
	xs := x.value.Shape()
	if !x.inference {
		panic(fmt.Sprintf("autograd.LinearPacked: input %v is not in inference mode (use Linear to train)", xs))
	}
	if len(xs) < 2 || xs[len(xs)-1] != w.Rows() {
		panic(fmt.Sprintf("autograd.LinearPacked: input %v does not match packed weight [%d %d] (want [..., %d])", xs, w.Rows(), w.Cols(), w.Rows()))
	}
	ep := tensor.Epilogue{Act: act}
	var dims [8]int
	shape := append(dims[:0], xs...)
	shape[len(shape)-1] = w.Cols()
	var y *Var
	if b != nil {
		if b.value.Rank() != 1 || b.value.Dim(0) != w.Cols() {
			panic(fmt.Sprintf("autograd.LinearPacked: bias %v does not match packed weight [%d %d] (want [%d])", b.value.Shape(), w.Rows(), w.Cols(), w.Cols()))
		}
		ep.Bias = b.value
		y = wrap(alloc(shape, x), x, b)
	} else {
		y = wrap(alloc(shape, x), x)
	}
	tensor.MatMulPackedTo(y.value, x.value, w, ep)
	return y
}
