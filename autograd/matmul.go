package autograd

import (
	"fmt"
	"sync"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// rowsParallelWork is the size (rows × columns) from which Linear sums
// the bias gradient across the worker pool.
const rowsParallelWork = 1 << 16

// rowsTask carries the operands of a split colSums or geluSums to the
// workers; its funcs are bound once, so that a split call allocates
// nothing.
type rowsTask struct {
	m, v       []float32 // the [n, out] matrix and the [out] vector
	g, der     []float32 // LinearGELU's output gradient and GELU'
	n, out     int
	sums, gelu func(lo, hi int)
}

var rowsTasks = sync.Pool{New: func() any {
	t := new(rowsTask)
	t.sums = func(lo, hi int) { colSums(t.v, t.m, t.n, t.out, lo*16, min(hi*16, t.out)) }
	t.gelu = t.geluSums
	return t
}}

func getRowsTask(m, v []float32, n, out int) *rowsTask {
	t := rowsTasks.Get().(*rowsTask)
	t.m, t.v, t.n, t.out = m, v, n, out
	return t
}

func putRowsTask(t *rowsTask) {
	t.m, t.v, t.g, t.der = nil, nil, nil, nil
	rowsTasks.Put(t)
}

// colSums adds the sums over the n rows of g [n, out] of the columns
// [j0, j1) to gb, row by row.
func colSums(gb, g []float32, n, out, j0, j1 int) {
	for i := 0; i < n; i++ {
		kernel.Axpy(1, g[i*out+j0:i*out+j1], gb[j0:j1])
	}
}

// MatMul returns the matrix product a·b with torch.matmul's batch
// broadcasting: the last two axes of each operand are matrices and any
// leading axes are batch axes broadcast against each other, so
// [B,H,T,D]·[B,H,D,S] → [B,H,T,S], [B,T,D]·[D,E] → [B,T,E] (one GEMM call)
// and [m,k]·[B,k,n] → [B,m,n]. Unlike torch.matmul, 1-D operands are not
// promoted to matrices: reshape them first.
//
// The gradient of a broadcast operand is summed over the batch axes it was
// broadcast along, inside the GEMM calls (no full-size intermediate).
func MatMul(a, b *Var) *Var { return MatMulTrans(a, b, false, false) }

// MatMulTrans returns op(a)·op(b), where op transposes the last two axes
// when the corresponding flag is set; batch axes broadcast as in MatMul.
// Transposes never copy: they reach the GEMM kernel as flags, in the
// forward and in the backward.
func MatMulTrans(a, b *Var, transA, transB bool) *Var {
	var buf [8]int
	shape := matmulShape(buf[:0], a.value.Shape(), b.value.Shape(), transA, transB)
	out := wrap(alloc(shape, a, b), a, b)
	tensor.MatMulTo(out.value, a.value, b.value, transA, transB)
	if !out.requiresGrad {
		return out
	}
	av, bv := a.value, b.value
	return out.record("MatMul", func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if a.requiresGrad {
			ga = tensor.Zeros(av.Shape()...)
			switch {
			case !transA && !transB: // g·bᵀ
				tensor.MatMulAccReduce(ga, g, bv, false, true, 1, 0)
			case !transA && transB: // g·b
				tensor.MatMulAccReduce(ga, g, bv, false, false, 1, 0)
			case transA && !transB: // b·gᵀ
				tensor.MatMulAccReduce(ga, bv, g, false, true, 1, 0)
			default: // bᵀ·gᵀ
				tensor.MatMulAccReduce(ga, bv, g, true, true, 1, 0)
			}
		}
		if b.requiresGrad {
			gb = tensor.Zeros(bv.Shape()...)
			switch {
			case !transA && !transB: // aᵀ·g
				tensor.MatMulAccReduce(gb, av, g, true, false, 1, 0)
			case !transA && transB: // gᵀ·a
				tensor.MatMulAccReduce(gb, g, av, true, false, 1, 0)
			case transA && !transB: // a·g
				tensor.MatMulAccReduce(gb, av, g, false, false, 1, 0)
			default: // gᵀ·aᵀ
				tensor.MatMulAccReduce(gb, g, av, true, true, 1, 0)
			}
		}
		return []*tensor.Tensor{ga, gb}
	}, a, b)
}

// matmulShape appends to dst the shape of op(a)·op(b) with broadcast batch
// axes, panicking with both shapes when they do not multiply.
func matmulShape(dst, as, bs []int, transA, transB bool) []int {
	bad := func() {
		panic(fmt.Sprintf("autograd.MatMul: shapes %v and %v do not multiply (transA=%v, transB=%v)", as, bs, transA, transB))
	}
	ra, rb := len(as), len(bs)
	if ra < 2 || rb < 2 {
		bad()
	}
	m, ka := as[ra-2], as[ra-1]
	if transA {
		m, ka = ka, m
	}
	kb, n := bs[rb-2], bs[rb-1]
	if transB {
		kb, n = n, kb
	}
	if ka != kb {
		bad()
	}
	r := max(ra, rb) - 2
	for i := r; i >= 1; i-- {
		da, db := 1, 1
		if i <= ra-2 {
			da = as[ra-2-i]
		}
		if i <= rb-2 {
			db = bs[rb-2-i]
		}
		switch {
		case da == db || db == 1:
			dst = append(dst, da)
		case da == 1:
			dst = append(dst, db)
		default:
			bad()
		}
	}
	return append(dst, m, n)
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
		// The bias is added to each block of rows of the product as the
		// GEMM finishes it, while the block is in cache.
		in := xs[1]
		kernel.GemmEpilogue(false, true, n, out, in, 1, x.value.Data(), in, w.value.Data(), in,
			y.value.Data(), out, kernel.Epilogue{Bias: b.value.Data()})
	} else {
		tensor.MatMulTo(y.value, x.value, w.value, false, true)
	}
	var s *saved
	if b != nil {
		s = y.recordFn("Linear", linearBackward, x, w, b)
	} else {
		s = y.recordFn("Linear", linearBackward, x, w)
	}
	if s != nil {
		s.t[0], s.t[1] = x.value, w.value
	}
	return y
}

// linearBackward is Linear's backward. The weight and bias gradients of a
// trainable leaf (a layer's parameters) go straight into its Grad: the
// weight's as one GEMM with beta = 1, with no buffer in between.
func linearBackward(nd *node, g *tensor.Tensor) []*tensor.Tensor {
	grads := nd.saved.out(len(nd.inputs))
	linearGrads(nd.inputs, nd.saved.t[0], nd.saved.t[1], g, grads)
	return grads
}

// LinearResidual returns res + (x·wᵀ + b) for x [N, in], w [out, in],
// b [out] (or nil) and res [N, out], as one op: the residual is added to
// each block of rows of the product with the bias, as the GEMM finishes
// it, in place of Add's pass of its own over the output. The result is
// Add(res, Linear(x, w, b)) bit for bit. The backward hands the output's
// gradient to res unchanged (no copy) and computes Linear's gradients.
func LinearResidual(x, w, b, res *Var) *Var {
	xs, ws, rs := x.value.Shape(), w.value.Shape(), res.value.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] {
		panic(fmt.Sprintf("autograd.LinearResidual: input %v does not match weight %v (want [N, in] and [out, in])", xs, ws))
	}
	n, out, in := xs[0], ws[0], xs[1]
	if b != nil && (b.value.Rank() != 1 || b.value.Dim(0) != out) {
		panic(fmt.Sprintf("autograd.LinearResidual: bias %v does not match weight %v (want [%d])", b.value.Shape(), ws, out))
	}
	if len(rs) != 2 || rs[0] != n || rs[1] != out {
		panic(fmt.Sprintf("autograd.LinearResidual: residual %v does not match input %v and weight %v (want [%d %d])", rs, xs, ws, n, out))
	}
	ep := kernel.Epilogue{Residual: res.value.Data()}
	var y *Var
	var s *saved
	if b != nil {
		ep.Bias = b.value.Data()
		y = wrap(alloc([]int{n, out}, res, x, w, b), res, x, w, b)
	} else {
		y = wrap(alloc([]int{n, out}, res, x, w), res, x, w)
	}
	kernel.GemmEpilogue(false, true, n, out, in, 1, x.value.Data(), in, w.value.Data(), in, y.value.Data(), out, ep)
	if b != nil {
		s = y.recordFn("LinearResidual", linearResidualBackward, res, x, w, b)
	} else {
		s = y.recordFn("LinearResidual", linearResidualBackward, res, x, w)
	}
	if s != nil {
		s.t[0], s.t[1] = x.value, w.value
	}
	return y
}

// linearResidualBackward is LinearResidual's backward: g itself for the
// residual (inputs[0]), Linear's gradients for the rest.
func linearResidualBackward(nd *node, g *tensor.Tensor) []*tensor.Tensor {
	grads := nd.saved.out(len(nd.inputs))
	if nd.inputs[0].requiresGrad {
		grads[0] = g
	}
	linearGrads(nd.inputs[1:], nd.saved.t[0], nd.saved.t[1], g, grads[1:])
	return grads
}

// linearGrads sets grads to the gradients of Linear's inputs (x, w and
// maybe b) from the output's gradient g, for x's value xv and w's wv.
func linearGrads(inputs []*Var, xv, wv, g *tensor.Tensor, grads []*tensor.Tensor) {
	x, w := inputs[0], inputs[1]
	n, out := g.Dim(0), g.Dim(1)
	if x.requiresGrad {
		grads[0] = gradBuf(xv.Shape(), inputs...)
		tensor.MatMulTo(grads[0], g, wv, false, false)
	}
	if w.requiresGrad {
		if acc, beta := leafGradOverwrite(w); acc != nil {
			tensor.MatMulAcc(acc, g, xv, true, false, 1, beta)
		} else {
			grads[1] = gradBuf(wv.Shape(), inputs...)
			tensor.MatMulTo(grads[1], g, xv, true, false)
		}
	}
	if len(inputs) == 3 && inputs[2].requiresGrad {
		b := inputs[2]
		gb := leafGrad(b)
		if gb == nil {
			gb = zeroGradBuf(b.value.Shape(), inputs...)
			grads[2] = gb
		}
		gbd, gd := gb.Data(), g.Data()
		if n*out < rowsParallelWork || out < 32 {
			colSums(gbd, gd, n, out, 0, out)
		} else {
			// Each worker sums whole columns, in row order: the result
			// does not depend on the split.
			t := getRowsTask(gd, gbd, n, out)
			parallel.For((out+15)/16, 1, t.sums)
			putRowsTask(t)
		}
	}
}

// LinearGELU returns GELU(x·wᵀ + b) (exact GELU, as GELU computes it) for
// x [N, in], w [out, in] and b [out], as one op: the bias and the GELU
// are applied to each row of the product while it is in cache, and the
// GELU's derivative is kept, in place of the pre-activation, for the
// backward, which then needs one product per element instead of the
// GELU's second evaluation; the bias gradient is summed in the same pass.
// Like Linear, it adds the bias to the finished product; its GELU kernel
// (kernel.GELUBiasDeriv) may round a row's last columns differently from
// GELU's, so the result may differ from GELU(Linear(x, w, b)) in the last
// bits. With a nil b it is GELU(Linear(x, w, nil)).
func LinearGELU(x, w, b *Var) *Var {
	if b == nil {
		return GELU(Linear(x, w, nil))
	}
	xs, ws := x.value.Shape(), w.value.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] {
		panic(fmt.Sprintf("autograd.LinearGELU: input %v does not match weight %v (want [N, in] and [out, in])", xs, ws))
	}
	n, out := xs[0], ws[0]
	if b.value.Rank() != 1 || b.value.Dim(0) != out {
		panic(fmt.Sprintf("autograd.LinearGELU: bias %v does not match weight %v (want [%d])", b.value.Shape(), ws, out))
	}
	shape := []int{n, out}
	y := wrap(alloc(shape, x, w, b), x, w, b)
	der := alloc(shape, x, w, b) // the product, then GELU's derivative
	dd, in := der.Data(), xs[1]
	kernel.GemmGELUBiasDeriv(false, true, n, out, in, x.value.Data(), in, w.value.Data(), in, b.value.Data(), y.value.Data(), dd)
	if s := y.recordFn("LinearGELU", linearGELUBackward, x, w, b); s != nil {
		s.t[0], s.t[1], s.f32s = x.value, w.value, dd
	}
	return y
}

// linearGELUBackward is LinearGELU's backward: the pre-activation's
// gradient g∘GELU'(pre), written over the saved derivative (the op's own
// buffer, read only here: Backward runs once per forward), with the bias
// gradient summed in the same pass, then Linear's products from it.
func linearGELUBackward(nd *node, g *tensor.Tensor) []*tensor.Tensor {
	inputs := nd.inputs
	x, w, b := inputs[0], inputs[1], inputs[2]
	xv, wv, gp := nd.saved.t[0], nd.saved.t[1], nd.saved.f32s
	n, out := g.Dim(0), g.Dim(1)
	in := xv.Dim(1)
	grads := nd.saved.out(3)
	gd := g.Data()
	if b.requiresGrad {
		gb := leafGrad(b)
		if gb == nil {
			gb = zeroGradBuf(b.value.Shape(), inputs...)
			grads[2] = gb
		}
		t := getRowsTask(gp, gb.Data(), n, out)
		t.g, t.der = gd, gp
		if n*out < rowsParallelWork || out < 32 {
			t.geluSums(0, (out+15)/16)
		} else {
			// Each worker takes whole columns, in row order: the sums do
			// not depend on the split.
			parallel.For((out+15)/16, 1, t.gelu)
		}
		putRowsTask(t)
	} else {
		kernel.Mul(gp, gd, gp)
	}
	if x.requiresGrad {
		grads[0] = gradBuf(xv.Shape(), inputs...)
		kernel.Gemm(false, false, n, in, out, 1, gp, out, wv.Data(), in, 0, grads[0].Data(), in)
	}
	if w.requiresGrad {
		if acc, beta := leafGradOverwrite(w); acc != nil {
			kernel.Gemm(true, false, out, in, n, 1, gp, out, xv.Data(), in, beta, acc.Data(), in)
		} else {
			grads[1] = gradBuf(wv.Shape(), inputs...)
			kernel.Gemm(true, false, out, in, n, 1, gp, out, xv.Data(), in, 0, grads[1].Data(), in)
		}
	}
	return grads
}

// geluSums sets columns [16·lo, 16·hi) of m = g∘der (m may be der) and
// adds their sums over the rows to v, row by row.
func (t *rowsTask) geluSums(lo, hi int) {
	j0, j1 := lo*16, min(hi*16, t.out)
	for i := 0; i < t.n; i++ {
		r := i * t.out
		kernel.Mul(t.m[r+j0:r+j1], t.g[r+j0:r+j1], t.der[r+j0:r+j1])
		kernel.Axpy(1, t.m[r+j0:r+j1], t.v[j0:j1])
	}
}
