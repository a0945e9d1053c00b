package kernel

import (
	"fmt"
	"sync"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// parallelGELUElems is the length from which GELU and GELUGrad spread over
// the worker pool.
const parallelGELUElems = 1 << 14

// The GELU constants (see gen/gelu.go, whose assembly must use the same
// values): Φ(−|x|) = t·poly(t)·exp(−x²/2), t = 1/(1 + geluP·|x|), after
// Abramowitz and Stegun 7.1.26 with the ½ and 1/√2 folded in.
const (
	geluP          = 0.3275911 * 0.70710678118654752440
	geluA1         = 0.5 * 0.254829592
	geluA2         = 0.5 * -0.284496736
	geluA3         = 0.5 * 1.421413741
	geluA4         = 0.5 * -1.453152027
	geluA5         = 0.5 * 1.061405429
	geluInvSqrt2Pi = 0.39894228040143267794
)

// GELU computes dst = x·Φ(x), the exact (erf) Gaussian error linear unit,
// over len(dst) elements. Φ is evaluated as 1 − Q or Q for the tail
// probability Q = Φ(−|x|), whose absolute error is below 2e−7 and which
// keeps its relative accuracy far into the negative tail (no 1 + erf
// cancellation). NaN stays NaN. The amd64 vector kernels (GELU, GELUGrad,
// GELUBiasDeriv) take t = 1/(1 + p·|x|) from a reciprocal estimate and a
// Newton step rather than a division, and set Q to zero where
// exp(−x²/2) < e^−87 (|x| > 13.19); the portable twins divide and let the
// exponential underflow on its own: the two agree within a few ulp.
func GELU(dst, x []float32) {
	x = x[:len(dst)]
	if len(dst) >= parallelGELUElems {
		parallelVec(parallelGELUElems/2, func(_ float32, dst, x, _ []float32) { gelu(dst, x) }, 0, dst, x, nil)
		return
	}
	gelu(dst, x)
}

// GELUGrad computes dst = dy·GELU'(x) = dy·(Φ(x) + x·φ(x)), φ the standard
// normal density, over len(dst) elements. dst may be dy.
func GELUGrad(dst, x, dy []float32) {
	x, dy = x[:len(dst)], dy[:len(dst)]
	if len(dst) >= parallelGELUElems {
		parallelVec(parallelGELUElems/2, func(_ float32, dst, x, dy []float32) { geluGrad(dst, x, dy) }, 0, dst, x, dy)
		return
	}
	geluGrad(dst, x, dy)
}

// geluChunk is the number of elements the portable kernels take through
// one exp call.
const geluChunk = 128

// geluCDFPortable sets cdf[i] = Φ(x[i]) and e[i] = exp(−x[i]²/2).
func geluCDFPortable(cdf, e, x []float32) {
	for i, v := range x {
		e[i] = -0.5 * v * v
	}
	expPortable(e, e[:len(x)])
	for i, v := range x {
		t := 1 / (1 + geluP*abs32(v))
		p := float32(geluA5)
		p = p*t + geluA4
		p = p*t + geluA3
		p = p*t + geluA2
		p = p*t + geluA1
		q := p * t * e[i]
		if v >= 0 {
			q += 1 - 2*q
		}
		cdf[i] = q
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// geluPortable is the portable twin of the GELU kernel.
func geluPortable(dst, x []float32) {
	var cdf, e [geluChunk]float32
	for lo := 0; lo < len(dst); lo += geluChunk {
		xs := x[lo:min(lo+geluChunk, len(dst))]
		geluCDFPortable(cdf[:], e[:], xs)
		d := dst[lo : lo+len(xs)]
		for i, v := range xs {
			d[i] = v * cdf[i]
		}
	}
}

// geluGradPortable is the portable twin of the GELU gradient kernel.
func geluGradPortable(dst, x, dy []float32) {
	var cdf, e [geluChunk]float32
	for lo := 0; lo < len(dst); lo += geluChunk {
		xs := x[lo:min(lo+geluChunk, len(dst))]
		geluCDFPortable(cdf[:], e[:], xs)
		d, g := dst[lo:lo+len(xs)], dy[lo:lo+len(xs)]
		for i, v := range xs {
			d[i] = g[i] * (cdf[i] + v*(geluInvSqrt2Pi*e[i]))
		}
	}
}

// GELUBiasDeriv computes, for each row of pre (rows of len(bias) values,
// as many as fit len(dst)), x = pre + bias, dst = x·Φ(x) (GELU's value,
// as GELU computes it) and der = Φ(x) + x·φ(x) (its derivative, as
// GELUGrad computes it with dy = 1): the forward of a linear layer's bias
// and GELU, keeping what the backward needs, in one pass while the row
// is in cache. der may be pre (it then overwrites the pre-activation);
// dst must not overlap either. Large inputs are split by rows across the
// worker pool, so every value is the same whatever the number of workers.
// On amd64 each row's multiple-of-16 prefix goes through an AVX-512
// kernel where the CPU has one, sixteen floats a vector, two vectors in
// flight; its reciprocal estimate has 14 bits rather than the AVX2
// kernel's 12, so a few values (2 in 100,000 on GELU's test inputs) differ
// from the AVX2 kernel's by a few ulp. It panics when the lengths do not
// match.
func GELUBiasDeriv(dst, der, pre, bias []float32) {
	out := len(bias)
	if out == 0 || len(dst)%out != 0 || len(der) != len(dst) || len(pre) != len(dst) {
		panic(fmt.Sprintf("kernel.GELUBiasDeriv: dst %d, der %d, pre %d values for rows of %d (bias)", len(dst), len(der), len(pre), out))
	}
	rows := len(dst) / out
	if len(dst) < parallelGELUElems || parallel.Workers() == 1 {
		geluBiasDerivRows(dst, der, pre, bias, 0, rows)
		return
	}
	t := geluBDTasks.Get().(*geluBDTask)
	t.dst, t.der, t.pre, t.bias = dst, der, pre, bias
	parallel.For(rows, max(1, parallelGELUElems/2/out), t.fn)
	t.dst, t.der, t.pre, t.bias = nil, nil, nil, nil
	geluBDTasks.Put(t)
}

// geluBDTask is a split GELUBiasDeriv, its closure bound once.
type geluBDTask struct {
	dst, der, pre, bias []float32
	fn                  func(lo, hi int)
}

var geluBDTasks = sync.Pool{New: func() any {
	t := new(geluBDTask)
	t.fn = func(lo, hi int) { geluBiasDerivRows(t.dst, t.der, t.pre, t.bias, lo, hi) }
	return t
}}

// geluBiasDerivRows runs geluBiasDeriv on rows [lo, hi), one call per row,
// so that a value does not depend on which rows a call covers.
func geluBiasDerivRows(dst, der, pre, bias []float32, lo, hi int) {
	out := len(bias)
	for i := lo; i < hi; i++ {
		r := i * out
		geluBiasDeriv(dst[r:r+out], der[r:r+out], pre[r:r+out], bias)
	}
}

// geluBiasDerivPortable is the portable twin of the biased GELU and
// derivative kernel: one row of len(bias) values.
func geluBiasDerivPortable(dst, der, pre, bias []float32) {
	var cdf, e, x [geluChunk]float32
	for lo := 0; lo < len(bias); lo += geluChunk {
		n := min(geluChunk, len(bias)-lo)
		xs := x[:n]
		for i := range xs {
			xs[i] = pre[lo+i] + bias[lo+i]
		}
		geluCDFPortable(cdf[:], e[:], xs)
		d, g := dst[lo:lo+n], der[lo:lo+n]
		for i, v := range xs {
			d[i] = v * cdf[i]
			g[i] = cdf[i] + v*(geluInvSqrt2Pi*e[i])
		}
	}
}
