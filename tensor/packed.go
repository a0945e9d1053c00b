package tensor

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
)

// Packed is a matrix prepared once as the right operand of MatMulPacked:
// op(b) copied into the panel layout of the GEMM micro-kernel this machine
// uses, so that each product skips the packing (and, for a transposed b,
// the transposition) that MatMul repeats on every call. It is meant for
// weights at inference: a layer's x·Wᵀ is MatMulPacked(x, PackB(W, true)).
//
// The panels are a copy taken by PackB, but products with one or two rows
// read b itself (packing cannot speed them up), so b must not change while
// the Packed is in use: after changing b, pack it again. A Packed is
// read-only and safe for concurrent use.
type Packed struct {
	src    *Tensor
	transB bool
	p      *kernel.PackedB
}

// PackB packs op(b) for MatMulPacked, where b is a matrix (rank 2) and
// op(b) is b, or its transpose when transB is set. It panics when b is not
// a matrix.
func PackB(b *Tensor, transB bool) *Packed {
	if b.Rank() != 2 {
		panic(fmt.Sprintf("tensor.PackB: want a matrix, got shape %v", b.shape))
	}
	k, n := b.shape[0], b.shape[1]
	if transB {
		k, n = n, k
	}
	ld := max(b.shape[1], 1)
	return &Packed{src: b, transB: transB, p: kernel.PackB(transB, k, n, b.data, ld)}
}

// Source returns the matrix that was packed.
func (p *Packed) Source() *Tensor { return p.src }

// Trans reports whether the packed operand is the transpose of Source.
func (p *Packed) Trans() bool { return p.transB }

// Rows returns the number of rows of op(b): the inner dimension of the
// product.
func (p *Packed) Rows() int { return p.p.K() }

// Cols returns the number of columns of op(b): the width of the product.
func (p *Packed) Cols() int { return p.p.N() }

// Kernel returns the name of the micro-kernel the panels were packed for.
func (p *Packed) Kernel() string { return p.p.Impl() }

// Act is the activation of an Epilogue.
type Act uint8

// The activations MatMulPacked can fuse: ActReLU is max(x, 0) with NaN
// kept, as ReLU computes it; ActGELU is the exact (erf) GELU.
const (
	ActNone Act = iota
	ActReLU
	ActGELU
)

// Epilogue is what MatMulPacked applies to the product while it is still
// in cache: Bias ([n], or nil) is added to every row, then Act.
type Epilogue struct {
	Bias *Tensor
	Act  Act
}

// MatMulPacked returns epilogue(a·op(b)) for a packed b: a is [..., k]
// with at least two axes and the result is [..., n]; all leading axes of a
// are rows of one GEMM call. It panics when the shapes do not fit.
func MatMulPacked(a *Tensor, b *Packed, ep Epilogue) *Tensor {
	checkPacked("MatMulPacked", a, b, ep)
	s := cloneShape(a.shape)
	s[len(s)-1] = b.Cols()
	out := Zeros(s...)
	matMulPacked(out, a, b, ep, 0)
	return out
}

// MatMulPackedTo stores epilogue(a·op(b)) into dst, which must have the
// result shape (a's shape with the last axis n); see MatMulPacked. dst
// must not share data with a.
func MatMulPackedTo(dst, a *Tensor, b *Packed, ep Epilogue) {
	checkPackedDst("MatMulPackedTo", dst, a, b, ep)
	matMulPacked(dst, a, b, ep, 0)
}

func checkPacked(name string, a *Tensor, b *Packed, ep Epilogue) {
	r := len(a.shape)
	if r < 2 || a.shape[r-1] != b.Rows() {
		panic(fmt.Sprintf("tensor.%s: shape %v does not end in the %d rows of the packed operand [%d %d]",
			name, a.shape, b.Rows(), b.Rows(), b.Cols()))
	}
	if ep.Bias != nil && (ep.Bias.Rank() != 1 || ep.Bias.shape[0] != b.Cols()) {
		panic(fmt.Sprintf("tensor.%s: bias has shape %v, want [%d]", name, ep.Bias.shape, b.Cols()))
	}
	if ep.Act > ActGELU {
		panic(fmt.Sprintf("tensor.%s: unknown activation %d", name, ep.Act))
	}
}

// checkPackedDst panics unless a, b and ep make a valid packed product
// and dst has its result shape.
func checkPackedDst(name string, dst, a *Tensor, b *Packed, ep Epilogue) {
	checkPacked(name, a, b, ep)
	r := len(a.shape)
	ok := len(dst.shape) == r && dst.shape[r-1] == b.Cols()
	for i := 0; ok && i < r-1; i++ {
		ok = dst.shape[i] == a.shape[i]
	}
	if !ok {
		panic(fmt.Sprintf("tensor.%s: %v times packed [%d %d] gives [... %d], dst has shape %v",
			name, a.shape, b.Rows(), b.Cols(), b.Cols(), dst.shape))
	}
}

// matMulPacked computes dst = a·b + beta·dst with ep applied (beta 0 or 1).
func matMulPacked(dst, a *Tensor, b *Packed, ep Epilogue, beta float32) {
	k, n := b.Rows(), b.Cols()
	m := prod(a.shape[:len(a.shape)-1])
	var kep kernel.Epilogue
	if ep.Bias != nil {
		kep.Bias = ep.Bias.data
	}
	switch ep.Act {
	case ActReLU:
		kep.Act = kernel.ActReLU
	case ActGELU:
		kep.Act = kernel.ActGELU
	}
	kernel.GemmPacked(false, m, 1, a.data, max(k, 1), b.p, beta, dst.data, max(n, 1), kep)
}
