package autograd

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/tensor"
)

// MatMul returns the matrix product a·b. Both may be 2-D ([m,k]·[k,n]), both
// 3-D with a common batch size ([B,m,k]·[B,k,n]), or a may be 3-D with b 2-D
// (b shared across the batch).
func MatMul(a, b *Var) *Var { return MatMulTrans(a, b, false, false) }

// MatMulTrans returns op(a)·op(b), where op transposes the last two axes
// when the corresponding flag is set. Transposes never copy: they reach the
// GEMM kernel as flags.
func MatMulTrans(a, b *Var, transA, transB bool) *Var {
	as, bs := a.value.Shape(), b.value.Shape()
	if len(as) == 3 && len(bs) == 2 && !transA {
		// Fold the batch into the rows: one 2-D product.
		n := as[0]
		out := MatMulTrans(Reshape(a, n*as[1], as[2]), b, false, transB)
		return Reshape(out, n, as[1], out.value.Dim(1))
	}
	shape := matmulShape(as, bs, transA, transB)
	out := wrap(alloc(shape, a, b), a, b)
	tensor.MatMulTo(out.value, a.value, b.value, transA, transB)
	if !out.requiresGrad {
		return out
	}
	av, bv := a.value, b.value
	return out.record("MatMul", func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if a.requiresGrad {
			switch {
			case !transA && !transB:
				ga = tensor.MatMul(g, bv, false, true)
			case !transA && transB:
				ga = tensor.MatMul(g, bv, false, false)
			case transA && !transB:
				ga = tensor.MatMul(bv, g, false, true)
			default:
				ga = tensor.MatMul(bv, g, true, true)
			}
		}
		if b.requiresGrad {
			switch {
			case !transA && !transB:
				gb = tensor.MatMul(av, g, true, false)
			case !transA && transB:
				gb = tensor.MatMul(g, av, true, false)
			case transA && !transB:
				gb = tensor.MatMul(av, g, false, false)
			default:
				gb = tensor.MatMul(g, av, true, true)
			}
		}
		return []*tensor.Tensor{ga, gb}
	}, a, b)
}

func matmulShape(as, bs []int, transA, transB bool) []int {
	bad := func() {
		panic(fmt.Sprintf("autograd.MatMul: shapes %v and %v do not multiply (transA=%v, transB=%v)", as, bs, transA, transB))
	}
	if len(as) != len(bs) || len(as) < 2 || len(as) > 3 {
		bad()
	}
	r := len(as)
	m, ka := as[r-2], as[r-1]
	if transA {
		m, ka = ka, m
	}
	kb, n := bs[r-2], bs[r-1]
	if transB {
		kb, n = n, kb
	}
	if ka != kb || (r == 3 && as[0] != bs[0]) {
		bad()
	}
	if r == 3 {
		return []int{as[0], m, n}
	}
	return []int{m, n}
}

// Linear returns x·wᵀ + b for x of shape [N, in], a weight w of shape
// [out, in] (PyTorch's layout) and a bias b of shape [out] (b may be nil).
// The bias is added in the same pass that finishes the product, and the
// backward computes only the gradients that are needed.
func Linear(x, w, b *Var) *Var {
	xs, ws := x.value.Shape(), w.value.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] {
		panic(fmt.Sprintf("autograd.Linear: input %v does not match weight %v (want [N, in] and [out, in])", xs, ws))
	}
	n, out := xs[0], ws[0]
	if b != nil && (b.value.Rank() != 1 || b.value.Dim(0) != out) {
		panic(fmt.Sprintf("autograd.Linear: bias %v does not match weight %v (want [%d])", b.value.Shape(), ws, out))
	}
	var y *Var
	if b != nil {
		y = wrap(alloc([]int{n, out}, x, w, b), x, w, b)
	} else {
		y = wrap(alloc([]int{n, out}, x, w), x, w)
	}
	if b != nil {
		// Seed C with the bias rows, then accumulate the product onto it.
		yd, bd := y.value.Data(), b.value.Data()
		for i := 0; i < n; i++ {
			copy(yd[i*out:(i+1)*out], bd)
		}
		tensor.MatMulAcc(y.value, x.value, w.value, false, true, 1, 1)
	} else {
		tensor.MatMulTo(y.value, x.value, w.value, false, true)
	}
	if !y.requiresGrad {
		return y
	}
	xv, wv := x.value, w.value
	inputs := []*Var{x, w}
	if b != nil {
		inputs = append(inputs, b)
	}
	return y.record("Linear", func(g *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(inputs))
		if x.requiresGrad {
			grads[0] = tensor.MatMul(g, wv, false, false)
		}
		if w.requiresGrad {
			grads[1] = tensor.MatMul(g, xv, true, false)
		}
		if b != nil && b.requiresGrad {
			grads[2] = tensor.Sum(g, false, 0)
		}
		return grads
	}, inputs...)
}
