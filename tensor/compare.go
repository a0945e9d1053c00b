package tensor

import (
	"fmt"

	"github.com/chewxy/math32"
)

// AllClose reports whether a and b have the same shape and every pair of
// elements satisfies |a-b| <= atol + rtol·|b|, like numpy.allclose. NaNs
// are never close; infinities are close only to the same infinity.
func AllClose(a, b *Tensor, rtol, atol float32) bool {
	if !SameShape(a, b) {
		return false
	}
	bd := b.data[:len(a.data)]
	for i, x := range a.data {
		y := bd[i]
		if x == y {
			continue // includes equal infinities
		}
		if !(math32.Abs(x-y) <= atol+rtol*math32.Abs(y)) {
			return false
		}
	}
	return true
}

// Equal reports whether a and b have the same shape and identical elements
// (NaN equals nothing, so a tensor holding NaN is not Equal to itself).
func Equal(a, b *Tensor) bool {
	if !SameShape(a, b) {
		return false
	}
	bd := b.data[:len(a.data)]
	for i, x := range a.data {
		if x != bd[i] {
			return false
		}
	}
	return true
}

// MaxAbsDiff returns the largest |a-b| over all elements (0 for empty
// tensors, NaN if any difference is NaN). It panics if the shapes differ.
func MaxAbsDiff(a, b *Tensor) float32 {
	if !SameShape(a, b) {
		panic(fmt.Sprintf("tensor.MaxAbsDiff: shapes %v and %v differ", a.shape, b.shape))
	}
	bd := b.data[:len(a.data)]
	var m float32
	for i, x := range a.data {
		d := math32.Abs(x - bd[i])
		if d > m || d != d {
			if d != d {
				return d
			}
			m = d
		}
	}
	return m
}
