package kernel

import (
	"fmt"
	"math"
)

// ExpShiftSum sets x[i] = exp(x[i] − shift) for every element of x and
// returns their sum: the exponentials of a softmax row and its
// denominator, in one pass over the row instead of a subtraction, an exp
// and a sum. The exp is Exp's (a few ulp, 0 below about −103.97). The sum
// runs in a fixed order, so a row gives the same bits wherever it is
// computed; the accelerated kernel and the portable twin may differ in the
// last bits.
func ExpShiftSum(x []float32, shift float32) float32 {
	if s, ok := expShiftSumAsm(x, shift); ok {
		return s
	}
	return expShiftSumPortable(x, shift)
}

// SoftmaxExp turns a softmax row into its exponentials in one call: with
// m = max x (NaN when x holds a NaN) it sets x[i] = exp(x[i] − m), as
// ExpShiftSum(x, m) does, and returns m and the sum. When every value is
// −Inf (or x is empty) it returns −Inf and 0 and leaves x alone.
func SoftmaxExp(x []float32) (m, sum float32) {
	if len(x) == 0 {
		return float32(math.Inf(-1)), 0
	}
	if m, s, ok := softmaxExpAsm(x); ok {
		return m, s
	}
	return softmaxExpPortable(x)
}

// softmaxExpPortable is SoftmaxExp without its AVX-512 kernel: Max, then
// ExpShiftSum.
func softmaxExpPortable(x []float32) (m, sum float32) {
	m = maxOf(x)
	if math.IsInf(float64(m), -1) {
		return m, 0
	}
	return m, ExpShiftSum(x, m)
}

// SoftmaxBackward is the gradient of a softmax row from its kept
// exponentials: with e = exp(z − max z) over len(e) values, inv = 1/Σe
// (so that p = e·inv is the softmax of z) and dp the gradient of p (dp at
// least as long as e), it writes p into e and the gradient of z,
// p∘(dp − Σ p·dp), into dp, and returns Σ p·dp. It reads the row twice
// (once for the sum, once to write both results), where scaling,
// a dot product, a subtraction and a product read it four times. The sum
// runs in a fixed order; the accelerated kernel and the portable twin may
// differ in its last bits.
func SoftmaxBackward(e, dp []float32, inv float32) float32 {
	if len(dp) < len(e) {
		panic(fmt.Sprintf("kernel.SoftmaxBackward: dp holds %d values, e %d", len(dp), len(e)))
	}
	dp = dp[:len(e)]
	if s, ok := softmaxBackwardAsm(e, dp, inv); ok {
		return s
	}
	return softmaxBackwardPortable(e, dp, inv)
}

// Prefetch asks the processor to bring x into the cache without waiting
// for it (a hint, a no-op without the assembly kernels): for data written
// long ago that a computation will read once another, independent one
// has run.
func Prefetch(x []float32) { prefetch(x) }

// expShiftSumPortable is the portable twin of ExpShiftSum's kernel: the
// subtraction, expPortable and sumPortable in turn.
func expShiftSumPortable(x []float32, shift float32) float32 {
	for i := range x {
		x[i] -= shift
	}
	expPortable(x, x)
	return sumPortable(x)
}

// softmaxBackwardPortable is the portable twin of SoftmaxBackward's
// kernel, summing (e·inv)·dp in four partial sums like dotPortable.
func softmaxBackwardPortable(e, dp []float32, inv float32) float32 {
	n := len(e)
	dp = dp[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += e[i] * inv * dp[i]
		s1 += e[i+1] * inv * dp[i+1]
		s2 += e[i+2] * inv * dp[i+2]
		s3 += e[i+3] * inv * dp[i+3]
	}
	for ; i < n; i++ {
		s0 += e[i] * inv * dp[i]
	}
	s := (s0 + s1) + (s2 + s3)
	for i, v := range e {
		p := v * inv
		e[i] = p
		dp[i] = p * (dp[i] - s)
	}
	return s
}
