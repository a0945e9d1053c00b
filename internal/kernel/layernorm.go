package kernel

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// onesBuf holds a read-only vector of ones, grown on demand, for the
// broadcast adds that the row kernels express as Axpy(c, ones, row).
var (
	onesBuf  atomic.Pointer[[]float32]
	onesGrow sync.Mutex
)

// Ones returns a slice of n ones, shared by every caller and grown on
// demand; it must not be written. Row kernels use it to broadcast a scalar
// add as Axpy(c, ones, row).
func Ones(n int) []float32 {
	if p := onesBuf.Load(); p != nil && len(*p) >= n {
		return (*p)[:n]
	}
	onesGrow.Lock()
	defer onesGrow.Unlock()
	if p := onesBuf.Load(); p != nil && len(*p) >= n {
		return (*p)[:n]
	}
	v := make([]float32, max(n, 256))
	for i := range v {
		v[i] = 1
	}
	onesBuf.Store(&v)
	return v[:n]
}

// LayerNormRows normalises each row of d values of x into dst:
// dst = (x − μ)/√(σ² + eps)·w + b, with μ and σ² the row's mean and
// biased variance (two passes: the variance sums squared deviations). w
// and b, when non-nil, hold d values. Every step is a vector kernel, so a
// row costs a few SIMD passes rather than a scalar loop. dst may be x.
func LayerNormRows(dst, x, w, b []float32, d int, eps float32) {
	if d < 1 || len(x)%d != 0 || len(dst) != len(x) || w != nil && len(w) != d || b != nil && len(b) != d {
		panic(fmt.Sprintf("kernel.LayerNormRows: dst %d, x %d, w %d, b %d values for rows of %d", len(dst), len(x), len(w), len(b), d))
	}
	one := Ones(d)
	inv := 1 / float32(d)
	for r := 0; r < len(x); r += d {
		row, y := x[r:r+d], dst[r:r+d]
		mu := sum(row) * inv
		if &y[0] != &row[0] {
			copy(y, row)
		}
		axpy(-mu, one, y) // y = x − μ
		v := dot(y, y) * inv
		scale(float32(1/math.Sqrt(float64(v)+float64(eps))), y)
		if w != nil {
			mul(y, y, w)
		}
		if b != nil {
			add(y, y, b)
		}
	}
}
