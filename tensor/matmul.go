package tensor

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// MatMul returns op(a)·op(b), where op(x) is x, or x with its last two axes
// swapped when the matching trans flag is set. Both operands have at least
// two axes; the last two are the matrices and the leading ones are batch
// axes, broadcast against each other like torch.matmul and NumPy's matmul:
//
//   - [m,k]·[k,n] → [m,n];
//   - [B,m,k]·[B,k,n] → [B,m,n] (one product per batch element);
//   - [B,T,k]·[k,n] → [B,T,n] (shared right operand, one GEMM call);
//   - [m,k]·[B,k,n] → [B,m,n] (shared left operand);
//   - [B,H,T,D]·[B,H,D,S] → [B,H,T,S], [B,1,m,k]·[H,k,n] → [B,H,m,n], ...
//
// Transposition is passed to the GEMM kernel as a flag; no operand is
// copied. MatMul panics with both shapes when they do not fit.
func MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	g := planMatMul("MatMul", a, b, transA, transB)
	out := Zeros(g.outShape(a.shape, b.shape)...)
	g.cB = out.shape[:len(out.shape)-2]
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
// being read. dst must have the result shape and must not share data with a
// or b.
func MatMulAcc(dst, a, b *Tensor, transA, transB bool, alpha, beta float32) {
	name := "MatMulAcc"
	if alpha == 1 && beta == 0 {
		name = "MatMulTo"
	}
	g := planMatMul(name, a, b, transA, transB)
	if !g.outShapeIs(dst.shape, false) {
		panic(fmt.Sprintf("tensor.%s: shapes %v and %v (transA=%v, transB=%v) give %v, dst has shape %v",
			name, a.shape, b.shape, transA, transB, g.outShape(a.shape, b.shape), dst.shape))
	}
	g.cB = dst.shape[:len(dst.shape)-2]
	g.run(dst.data, a.data, b.data, alpha, beta)
}

// MatMulAccReduce is MatMulAcc for a dst whose batch axes are a broadcast
// of the result's: dst may lack leading batch axes or have 1 where the
// result has more. The products that land on the same dst matrix are
// summed: dst = alpha·Σ op(a)·op(b) + beta·dst. This is the gradient of a
// broadcast operand of MatMul, formed without materialising the full
// batch. dst must not share data with a or b.
func MatMulAccReduce(dst, a, b *Tensor, transA, transB bool, alpha, beta float32) {
	g := planMatMul("MatMulAccReduce", a, b, transA, transB)
	if !g.outShapeIs(dst.shape, true) {
		panic(fmt.Sprintf("tensor.MatMulAccReduce: shapes %v and %v (transA=%v, transB=%v) give %v, which does not reduce to dst shape %v",
			a.shape, b.shape, transA, transB, g.outShape(a.shape, b.shape), dst.shape))
	}
	g.cB = dst.shape[:len(dst.shape)-2]
	g.run(dst.data, a.data, b.data, alpha, beta)
}

// gemmPlan describes a (possibly batched, broadcast) product as GEMM calls.
// The batch shapes alias the operands' shapes; nothing is allocated.
type gemmPlan struct {
	transA, transB bool
	m, n, k        int
	lda, ldb       int
	aB, bB, cB     []int // batch axes of a, b and dst
	rb             int   // rank of the broadcast batch
	nb             int   // product of the broadcast batch
}

// gemmParallelWork is the total multiply-add count above which a batch of
// small products is spread over the worker pool.
const gemmParallelWork = 1 << 19

func planMatMul(name string, a, b *Tensor, transA, transB bool) gemmPlan {
	ra, rb := len(a.shape), len(b.shape)
	bad := func() {
		panic(fmt.Sprintf("tensor.%s: shapes %v and %v are not compatible (transA=%v, transB=%v)",
			name, a.shape, b.shape, transA, transB))
	}
	if ra < 2 || rb < 2 {
		bad()
	}
	g := gemmPlan{transA: transA, transB: transB}
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
	g.aB, g.bB = a.shape[:ra-2], b.shape[:rb-2]
	g.rb = max(len(g.aB), len(g.bB))
	g.nb = 1
	for i := 1; i <= g.rb; i++ {
		da, db := dimFromRight(g.aB, i), dimFromRight(g.bB, i)
		if da != db && da != 1 && db != 1 {
			bad()
		}
		g.nb *= max(da, db)
		if da == 0 || db == 0 {
			g.nb = 0
		}
	}
	return g
}

// outShape returns the shape of the full result.
func (g *gemmPlan) outShape(as, bs []int) []int {
	s := make([]int, g.rb+2)
	for i := 1; i <= g.rb; i++ {
		da, db := dimFromRight(g.aB, i), dimFromRight(g.bB, i)
		d := max(da, db)
		if da == 0 || db == 0 {
			d = 0
		}
		s[g.rb-i] = d
	}
	s[g.rb], s[g.rb+1] = g.m, g.n
	return s
}

// outShapeIs reports whether s is the result shape or, when reduce is set,
// a shape whose batch axes broadcast to the result's.
func (g *gemmPlan) outShapeIs(s []int, reduce bool) bool {
	r := len(s)
	if r < 2 || s[r-2] != g.m || s[r-1] != g.n {
		return false
	}
	cb := s[:r-2]
	if len(cb) > g.rb || (!reduce && len(cb) != g.rb) {
		return false
	}
	for i := 1; i <= g.rb; i++ {
		da, db := dimFromRight(g.aB, i), dimFromRight(g.bB, i)
		d := max(da, db)
		if da == 0 || db == 0 {
			d = 0
		}
		dc := dimFromRight(cb, i)
		if dc != d && !(reduce && dc == 1) {
			return false
		}
	}
	return true
}

func prod(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// offsets returns the matrix indices of a, b and c used by batch element i.
func (g *gemmPlan) offsets(i int) (ia, ib, ic int) {
	sa, sb, sc := 1, 1, 1
	for d := 1; d <= g.rb; d++ {
		da, db, dc := dimFromRight(g.aB, d), dimFromRight(g.bB, d), dimFromRight(g.cB, d)
		n := max(da, db)
		j := i % n
		i /= n
		if da != 1 {
			ia += j * sa
		}
		if db != 1 {
			ib += j * sb
		}
		if dc != 1 {
			ic += j * sc
		}
		sa, sb, sc = sa*da, sb*db, sc*dc
	}
	return ia, ib, ic
}

func (g *gemmPlan) run(c, a, b []float32, alpha, beta float32) {
	m, n, k := g.m, g.n, g.k
	ldc := max(n, 1)
	na, nbb, nc := prod(g.aB), prod(g.bB), prod(g.cB)
	if g.nb == 0 || m == 0 || n == 0 {
		return
	}
	switch {
	case nbb == 1 && na == g.nb && nc == g.nb && !g.transA:
		// [B…,m,k] is one [B·m, k] matrix against the shared right
		// operand: a single GEMM call.
		kernel.Gemm(false, g.transB, g.nb*m, n, k, alpha, a, g.lda, b, g.ldb, beta, c, ldc)
		return
	case nc == 1 && na == g.nb && nbb == g.nb && g.transA && !g.transB:
		// Σ_i A_iᵀ·B_i over the batch is one product whose inner
		// dimension runs over the stacked rows of every A_i and B_i.
		kernel.Gemm(true, false, m, n, g.nb*k, alpha, a, g.lda, b, g.ldb, beta, c, ldc)
		return
	}
	sizeA, sizeB, sizeC := m*k, k*n, m*n
	if nc < g.nb {
		// Several products land on one dst matrix: apply beta once, then
		// accumulate serially.
		switch beta {
		case 0:
			clear(c[:nc*sizeC])
		case 1:
		default:
			kernel.Scale(beta, c[:nc*sizeC])
		}
		for i := 0; i < g.nb; i++ {
			ia, ib, ic := g.offsets(i)
			kernel.Gemm(g.transA, g.transB, m, n, k, alpha,
				a[ia*sizeA:], g.lda, b[ib*sizeB:], g.ldb, 1, c[ic*sizeC:(ic+1)*sizeC], ldc)
		}
		return
	}
	one := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ia, ib, ic := g.offsets(i)
			kernel.Gemm(g.transA, g.transB, m, n, k, alpha,
				a[ia*sizeA:], g.lda, b[ib*sizeB:], g.ldb, beta, c[ic*sizeC:(ic+1)*sizeC], ldc)
		}
	}
	if g.nb > 1 && m*n*k < gemmParallelWork && g.nb*m*n*k >= gemmParallelWork && parallel.Workers() > 1 {
		// Many small products: one per worker rather than one GEMM
		// spread thin.
		gg := *g
		parallel.For(g.nb, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				ia, ib, ic := gg.offsets(i)
				kernel.Gemm(gg.transA, gg.transB, m, n, k, alpha,
					a[ia*sizeA:], gg.lda, b[ib*sizeB:], gg.ldb, beta, c[ic*sizeC:(ic+1)*sizeC], ldc)
			}
		})
		return
	}
	one(0, g.nb)
}
