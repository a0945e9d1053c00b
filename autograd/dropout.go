package autograd

import (
	"fmt"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Dropout zeroes each element of a with probability p, drawing the mask from
// r, and scales the survivors by 1/(1−p) so that the expected value is
// unchanged (inverted dropout, as in PyTorch). Layers call it only in
// training mode and never for an inference-mode input (see Var.Inference),
// so that prediction draws nothing from r; with p = 0 it returns a
// unchanged.
func Dropout(a *Var, p float32, r *rand.Rand) *Var {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("autograd.Dropout: probability %v outside [0, 1)", p))
	}
	if p == 0 {
		return a
	}
	scale := 1 / (1 - p)
	mask := tensor.Zeros(a.value.Shape()...)
	md := mask.Data()
	for i := range md {
		if r.Float32() >= p {
			md[i] = scale
		}
	}
	out := wrap(tensor.Mul(a.value, mask), a)
	return out.record("Dropout", func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, mask)}
	}, a)
}
