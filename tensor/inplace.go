package tensor

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// The in-place operations below are what optimizers and gradient
// accumulation run every step. They allocate nothing (except, for very
// large tensors, the bookkeeping of splitting work across goroutines).

// AddInPlace computes dst += src, where src broadcasts to dst's shape.
func AddInPlace(dst, src *Tensor) { inPlace(opAdd, "AddInPlace", dst, src) }

// SubInPlace computes dst -= src, where src broadcasts to dst's shape.
func SubInPlace(dst, src *Tensor) { inPlace(opSub, "SubInPlace", dst, src) }

// MulInPlace computes dst *= src, where src broadcasts to dst's shape.
func MulInPlace(dst, src *Tensor) { inPlace(opMul, "MulInPlace", dst, src) }

// DivInPlace computes dst /= src, where src broadcasts to dst's shape.
func DivInPlace(dst, src *Tensor) { inPlace(opDiv, "DivInPlace", dst, src) }

func inPlace(op binOp, name string, dst, src *Tensor) {
	if !broadcastsTo(dst.shape, src.shape, dst.shape) {
		panic(fmt.Sprintf("tensor.%s: shape %v does not broadcast to dst shape %v", name, src.shape, dst.shape))
	}
	binaryInto(op, dst.data, dst.shape, dst.data, dst.shape, src.data, src.shape)
}

// AddScaled computes dst += alpha·src (axpy). dst and src must have the
// same number of elements.
func AddScaled(dst *Tensor, alpha float32, src *Tensor) {
	if len(dst.data) != len(src.data) {
		panic(fmt.Sprintf("tensor.AddScaled: shapes %v and %v differ in size", dst.shape, src.shape))
	}
	n := len(dst.data)
	if n <= grainCheap {
		kernel.Axpy(alpha, src.data, dst.data)
		return
	}
	d, s := dst.data, src.data
	parallel.For(n, grainCheap, func(lo, hi int) { kernel.Axpy(alpha, s[lo:hi], d[lo:hi]) })
}

// ScaleInPlace computes t *= s.
func ScaleInPlace(t *Tensor, s float32) {
	n := len(t.data)
	if n <= grainCheap {
		kernel.Scale(s, t.data)
		return
	}
	d := t.data
	parallel.For(n, grainCheap, func(lo, hi int) { kernel.Scale(s, d[lo:hi]) })
}

// AddScalarInPlace computes t += s.
func AddScalarInPlace(t *Tensor, s float32) { mapInto(opAddScalar, t.data, t.data, s, 0) }

// Fill sets every element of t to v.
func Fill(t *Tensor, v float32) { fill(t.data, v) }

// Zero sets every element of t to 0.
func Zero(t *Tensor) { clear(t.data) }

// Copy copies src into dst, which must have the same shape.
func Copy(dst, src *Tensor) {
	if !SameShape(dst, src) {
		panic(fmt.Sprintf("tensor.Copy: dst shape %v does not match src shape %v", dst.shape, src.shape))
	}
	copy(dst.data, src.data)
}
