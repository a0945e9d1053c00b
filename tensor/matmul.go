package tensor

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
)

// MatMul returns op(a)·op(b), where op(x) is x, or x with its last two axes
// swapped when the matching trans flag is set. Supported ranks:
//
//   - 2-D × 2-D: [m,k]·[k,n] → [m,n];
//   - 3-D × 3-D, batched: [B,m,k]·[B,k,n] → [B,m,n];
//   - 3-D × 2-D, shared right operand: [B,m,k]·[k,n] → [B,m,n];
//   - 2-D × 3-D, shared left operand: [m,k]·[B,k,n] → [B,m,n].
//
// Transposition is passed to the GEMM kernel as a flag; no operand is
// copied. MatMul panics with both shapes when they do not fit.
func MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	g := planMatMul("MatMul", a, b, transA, transB)
	out := Zeros(g.outShape()...)
	g.run(out.data, a.data, b.data, 1, 0)
	return out
}

// MatMulTo stores op(a)·op(b) into dst, which must have the result shape;
// see MatMul. dst must not share data with a or b.
func MatMulTo(dst, a, b *Tensor, transA, transB bool) {
	MatMulAcc(dst, a, b, transA, transB, 1, 0)
}

// MatMulAcc computes dst = alpha·op(a)·op(b) + beta·dst, the form used to
// accumulate gradients; see MatMul. With beta 0, dst is overwritten without
// being read. dst must not share data with a or b.
func MatMulAcc(dst, a, b *Tensor, transA, transB bool, alpha, beta float32) {
	name := "MatMulAcc"
	if alpha == 1 && beta == 0 {
		name = "MatMulTo"
	}
	g := planMatMul(name, a, b, transA, transB)
	if !g.outShapeIs(dst.shape) {
		panic(fmt.Sprintf("tensor.%s: shapes %v and %v (transA=%v, transB=%v) give %v, dst has shape %v",
			name, a.shape, b.shape, transA, transB, g.outShape(), dst.shape))
	}
	g.run(dst.data, a.data, b.data, alpha, beta)
}

// gemmPlan describes a (possibly batched) product as GEMM calls.
type gemmPlan struct {
	transA, transB bool
	batch          int // number of GEMM calls
	m, n, k        int
	lda, ldb       int
	strideA        int // elements between successive batch operands (0: shared)
	strideB        int
	outRank3       bool
}

func planMatMul(name string, a, b *Tensor, transA, transB bool) gemmPlan {
	ra, rb := len(a.shape), len(b.shape)
	bad := func() {
		panic(fmt.Sprintf("tensor.%s: shapes %v and %v are not compatible (transA=%v, transB=%v)",
			name, a.shape, b.shape, transA, transB))
	}
	if ra < 2 || ra > 3 || rb < 2 || rb > 3 {
		bad()
	}
	g := gemmPlan{transA: transA, transB: transB, batch: 1}
	ar, ac := a.shape[ra-2], a.shape[ra-1]
	br, bc := b.shape[rb-2], b.shape[rb-1]
	// Strides are at least 1 so that empty matrices stay valid for GEMM.
	g.lda, g.ldb = max(ac, 1), max(bc, 1)
	g.m, g.k = ar, ac
	if transA {
		g.m, g.k = ac, ar
	}
	kb, n := br, bc
	if transB {
		kb, n = bc, br
	}
	g.n = n
	if kb != g.k {
		bad()
	}
	switch {
	case ra == 3 && rb == 3:
		if a.shape[0] != b.shape[0] {
			bad()
		}
		g.batch, g.strideA, g.strideB, g.outRank3 = a.shape[0], ar*ac, br*bc, true
	case ra == 3:
		g.outRank3 = true
		if transA {
			g.batch, g.strideA = a.shape[0], ar*ac
		} else {
			// [B,m,k] is one [B·m, k] matrix against the shared right
			// operand: a single GEMM call. The batch is restored in
			// outShape.
			g.batch, g.strideA = a.shape[0], -1
		}
	case rb == 3:
		g.batch, g.strideB, g.outRank3 = b.shape[0], br*bc, true
	}
	return g
}

func (g *gemmPlan) outShape() []int {
	if g.outRank3 {
		return []int{g.batch, g.m, g.n}
	}
	return []int{g.m, g.n}
}

func (g *gemmPlan) outShapeIs(s []int) bool {
	if g.outRank3 {
		return len(s) == 3 && s[0] == g.batch && s[1] == g.m && s[2] == g.n
	}
	return len(s) == 2 && s[0] == g.m && s[1] == g.n
}

func (g *gemmPlan) run(c, a, b []float32, alpha, beta float32) {
	if g.strideA == -1 {
		kernel.Gemm(false, g.transB, g.batch*g.m, g.n, g.k, alpha, a, g.lda, b, g.ldb, beta, c, max(g.n, 1))
		return
	}
	mn := g.m * g.n
	for i := 0; i < g.batch; i++ {
		kernel.Gemm(g.transA, g.transB, g.m, g.n, g.k, alpha,
			a[i*g.strideA:], g.lda, b[i*g.strideB:], g.ldb, beta, c[i*mn:(i+1)*mn], max(g.n, 1))
	}
}
