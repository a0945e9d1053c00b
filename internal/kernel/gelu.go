package kernel

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
// cancellation). NaN stays NaN.
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
