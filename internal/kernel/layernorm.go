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

// negZerosBuf holds a read-only vector of −0, the exact identity of
// float addition (x + −0 is x, −0 included), which stands for an absent
// bias in the fused LayerNorm kernels.
var (
	negZerosBuf  atomic.Pointer[[]float32]
	negZerosGrow sync.Mutex
)

// negZeros returns a shared, read-only slice of n negative zeros.
func negZeros(n int) []float32 {
	if p := negZerosBuf.Load(); p != nil && len(*p) >= n {
		return (*p)[:n]
	}
	negZerosGrow.Lock()
	defer negZerosGrow.Unlock()
	if p := negZerosBuf.Load(); p != nil && len(*p) >= n {
		return (*p)[:n]
	}
	v := make([]float32, max(n, 256))
	nz := float32(math.Copysign(0, -1))
	for i := range v {
		v[i] = nz
	}
	negZerosBuf.Store(&v)
	return v[:n]
}

// LayerNormRows normalises each row of d values of x into dst:
// dst = (x − μ)/√(σ² + eps)·w + b, with μ and σ² the row's mean and
// biased variance (two passes: the variance sums squared deviations). w
// and b, when non-nil, hold d values. Each row is LayerNormRow. dst may
// be x.
func LayerNormRows(dst, x, w, b []float32, d int, eps float32) {
	if d < 1 || len(x)%d != 0 || len(dst) != len(x) || w != nil && len(w) != d || b != nil && len(b) != d {
		panic(fmt.Sprintf("kernel.LayerNormRows: dst %d, x %d, w %d, b %d values for rows of %d", len(dst), len(x), len(w), len(b), d))
	}
	for r := 0; r < len(x); r += d {
		LayerNormRow(dst[r:r+d], x[r:r+d], w, b, eps)
	}
}

// LayerNormRow normalises the row x into dst (as long):
// dst = (x − μ)·σ⁻¹·w + b with μ = Σx/d, σ⁻¹ = 1/√(Σ(x − μ)²/d + eps)
// (the biased variance, from a second pass over the deviations, σ⁻¹
// rounded from float64), and returns μ and σ⁻¹. w and b hold d values
// each or are nil (ones and zeros); the accelerated kernel fuses the last
// multiply with the add of b. dst may be x.
func LayerNormRow(dst, x, w, b []float32, eps float32) (mean, invStd float32) {
	d := len(x)
	if d == 0 || len(dst) != d || w != nil && len(w) != d || b != nil && len(b) != d {
		panic(fmt.Sprintf("kernel.LayerNormRow: dst %d, x %d, w %d, b %d values", len(dst), len(x), len(w), len(b)))
	}
	if w == nil {
		w = Ones(d)
	}
	if b == nil {
		b = negZeros(d)
	}
	if mean, invStd, ok := lnRowAsm(dst, x, w, b, eps); ok {
		return mean, invStd
	}
	fd := float32(d)
	mean = sum(x) / fd
	v := lnVarSumPortable(x, mean) / fd
	invStd = float32(1 / math.Sqrt(float64(v)+float64(eps)))
	lnApplyPortable(dst, x, w, b, mean, invStd)
	return mean, invStd
}

// LayerNormGradRow is the backward of LayerNormRow for one row, from its
// input x, its output's gradient g, the weight w (nil: ones) and the
// row's μ and σ⁻¹. With x̂ = (x − μ)·σ⁻¹ and ĝ = g·w, it adds g·x̂ into gw
// and g into gb (each when non-nil) and, when gx is non-nil, writes the
// input's gradient gx = σ⁻¹·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), plus prior
// when prior is non-nil (a gradient gathered for x elsewhere, added in
// the same pass). Every slice holds d values; gx may be prior.
func LayerNormGradRow(gx, prior, g, x, w, gw, gb []float32, mean, invStd float32) {
	d := len(x)
	if d == 0 || len(g) != d || w != nil && len(w) != d || gw != nil && len(gw) != d || gb != nil && len(gb) != d ||
		gx != nil && len(gx) != d || prior != nil && len(prior) != d {
		panic(fmt.Sprintf("kernel.LayerNormGradRow: gx %d, prior %d, g %d, x %d, w %d, gw %d, gb %d values", len(gx), len(prior), len(g), d, len(w), len(gw), len(gb)))
	}
	if w == nil {
		w = Ones(d)
	}
	s1, s2 := lnGradSums(x, g, w, gw, gb, mean, invStd)
	if gx == nil {
		return
	}
	fd := float32(d)
	s1, s2 = s1/fd, s2/fd
	lnGradApply(gx, prior, g, x, w, mean, invStd, -invStd*s2, -invStd*s1)
}

// lnVarSumPortable is the portable twin of lnVarSum: Σ (x − mu)².
func lnVarSumPortable(x []float32, mu float32) float32 {
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		a, b := x[i]-mu, x[i+1]-mu
		s0 += a * a
		s1 += b * b
	}
	if i < len(x) {
		a := x[i] - mu
		s0 += a * a
	}
	return s0 + s1
}

// lnApplyPortable is the portable twin of lnApply:
// dst = (x − mu)·inv·w + b.
func lnApplyPortable(dst, x, w, b []float32, mu, inv float32) {
	n := len(x)
	dst, w, b = dst[:n], w[:n], b[:n]
	for i, v := range x {
		dst[i] = (v-mu)*inv*w[i] + b[i]
	}
}

// lnGradSumsPortable is the portable twin of lnGradSums: with
// x̂ = (x − mu)·inv and ĝ = g·w, gw += g·x̂ and gb += g (when non-nil),
// and it returns Σ ĝ and Σ ĝ·x̂.
func lnGradSumsPortable(x, g, w, gw, gb []float32, mu, inv float32) (s1, s2 float32) {
	n := len(x)
	g, w = g[:n], w[:n]
	for i, v := range x {
		xh := (v - mu) * inv
		if gw != nil {
			gw[i] += g[i] * xh
		}
		if gb != nil {
			gb[i] += g[i]
		}
		gn := g[i] * w[i]
		s1 += gn
		s2 += gn * xh
	}
	return s1, s2
}

// lnGradApplyPortable is the portable twin of lnGradApply:
// gx = inv·ĝ + (b·x̂ + c), plus prior when non-nil.
func lnGradApplyPortable(gx, prior, g, x, w []float32, mu, inv, b, c float32) {
	n := len(x)
	gx, g, w = gx[:n], g[:n], w[:n]
	for i, v := range x {
		xh := (v - mu) * inv
		r := inv*(g[i]*w[i]) + (b*xh + c)
		if prior != nil {
			r += prior[i]
		}
		gx[i] = r
	}
}
