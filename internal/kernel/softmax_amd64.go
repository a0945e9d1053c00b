//go:build amd64 && !purego

package kernel

// The softmax row kernels (softmax_amd64.s): n is the multiple-of-8
// prefix of the row, mask the VMASKMOVPS lanes of the rest (nil when the
// row has no rest).

//go:noescape
func expShiftSumAVX2(x *float32, n int, shift float32, mask *int32) float32

//go:noescape
func expShiftSumAVX512(x *float32, n int, shift float32) float32

//go:noescape
func softmaxBackwardAVX2(e, dp *float32, n int, inv float32, mask *int32) float32

//go:noescape
func softmaxBackwardAVX512(e, dp *float32, n int, inv float32, w int) float32

//go:noescape
func softmaxExpAVX512(x *float32, n int) (m, sum float32)

//go:noescape
func prefetchAVX2(x *float32, n int)

// prefetch asks for the cache lines of x.
func prefetch(x []float32) {
	if hasAVX2 && len(x) > 0 {
		prefetchAVX2(&x[0], len(x))
	}
}

// tailMask returns the lane mask of the last n%8 values of a row of n, or
// nil when n is a multiple of 8.
func tailMask(n int) *int32 {
	if w := n & 7; w > 0 {
		return &maskLanes[8-w]
	}
	return nil
}

// expShiftSumAsm runs the AVX2 kernel over x, reporting false when the
// machine has none.
func expShiftSumAsm(x []float32, shift float32) (float32, bool) {
	if !hasAVX2 {
		return 0, false
	}
	if len(x) == 0 {
		return 0, true
	}
	if hasAVX512 {
		return expShiftSumAVX512(&x[0], len(x), shift), true
	}
	return expShiftSumAVX2(&x[0], len(x)&^7, shift, tailMask(len(x))), true
}

// softmaxBackwardAsm runs the AVX2 kernel over e and dp (as long as e),
// reporting false when the machine has none.
func softmaxBackwardAsm(e, dp []float32, inv float32) (float32, bool) {
	if !hasAVX2 {
		return 0, false
	}
	if len(e) == 0 {
		return 0, true
	}
	if hasAVX512 {
		return softmaxBackwardAVX512(&e[0], &dp[0], len(e)&^7, inv, len(e)&7), true
	}
	return softmaxBackwardAVX2(&e[0], &dp[0], len(e)&^7, inv, tailMask(len(e))), true
}

// softmaxExpAsm runs the AVX-512 kernel over x (not empty), reporting
// false when the machine has none.
func softmaxExpAsm(x []float32) (m, sum float32, ok bool) {
	if !hasAVX512 {
		return 0, 0, false
	}
	m, sum = softmaxExpAVX512(&x[0], len(x))
	return m, sum, true
}
