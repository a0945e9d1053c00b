package tensor

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// t32 builds a tensor from values and a shape.
func t32(data []float32, shape ...int) *Tensor { return New(data, shape...) }

// requireClose fails unless got has want's shape and values within 1e-5.
func requireClose(t *testing.T, want, got *Tensor, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, want.Shape(), got.Shape(), msgAndArgs...)
	require.InDeltaSlice(t, want.Data(), got.Data(), 1e-5, msgAndArgs...)
}

// unravel converts a flat row-major offset to a multi-index.
func unravel(off int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = off % shape[d]
		off /= shape[d]
	}
	return idx
}

// bcastAt reads t at the multi-index idx of a broadcast result.
func bcastAt(t *Tensor, idx []int) float32 {
	sh := t.Shape()
	lead := len(idx) - len(sh)
	off := 0
	for i, d := range sh {
		v := idx[lead+i]
		if d == 1 {
			v = 0
		}
		off = off*d + v
	}
	return t.Data()[off]
}

// refBinary is a slow, obviously correct broadcast evaluation of f.
func refBinary(a, b *Tensor, f func(x, y float32) float32) *Tensor {
	shape, ok := BroadcastShape(a.Shape(), b.Shape())
	if !ok {
		panic("refBinary: not broadcastable")
	}
	out := Zeros(shape...)
	for i := range out.Data() {
		idx := unravel(i, shape)
		out.Data()[i] = f(bcastAt(a, idx), bcastAt(b, idx))
	}
	return out
}

// randT returns a tensor of uniform values in [-2, 2).
func randT(r *rand.Rand, shape ...int) *Tensor { return RandU(r, -2, 2, shape...) }

// naiveMatMul computes a·b for 2-D row-major tensors (no transposes).
func naiveMatMul(a, b *Tensor) *Tensor {
	m, k, n := a.Dim(0), a.Dim(1), b.Dim(1)
	out := Zeros(m, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a.At(i, p)) * float64(b.At(p, j))
			}
			out.Set(float32(s), i, j)
		}
	}
	return out
}

// naiveT transposes a 2-D tensor with At/Set.
func naiveT(a *Tensor) *Tensor {
	out := Zeros(a.Dim(1), a.Dim(0))
	for i := 0; i < a.Dim(0); i++ {
		for j := 0; j < a.Dim(1); j++ {
			out.Set(a.At(i, j), j, i)
		}
	}
	return out
}
