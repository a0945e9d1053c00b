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
	mask := alloc(a.value.Shape(), a)
	md := mask.Data()
	for i := range md {
		md[i] = 0
		if r.Float32() >= p {
			md[i] = scale
		}
	}
	out := wrap(alloc(a.value.Shape(), a), a)
	tensor.MulTo(out.value, a.value, mask)
	return out.record("Dropout", func(g *tensor.Tensor) []*tensor.Tensor {
		gx := gradBuf(g.Shape(), a)
		tensor.MulTo(gx, g, mask)
		return []*tensor.Tensor{gx}
	}, a)
}
