//go:build amd64 && !purego

package kernel

// The LayerNorm row kernels (layernorm_amd64.s): n is the multiple-of-8
// prefix of the row, mask the VMASKMOVPS lanes of the rest (nil when the
// row has no rest). Sums run over fixed lanes in a fixed order: a row
// gives the same bits whatever else runs.

//go:noescape
func lnVarSumAVX2(x *float32, n int, mu float32, mask *int32) float32

//go:noescape
func lnApplyAVX2(dst, x, w, b *float32, n int, mu, inv float32, mask *int32)

//go:noescape
func lnGradSumsAVX2(x, gy, w, gw, gb *float32, n int, mu, inv float32, mask *int32) (s1, s2 float32)

//go:noescape
func lnGradApplyAVX2(gx, prior, gy, x, w *float32, n int, mu, inv, b, c float32, mask *int32)

// lnVarSum returns Σ (x − mu)².
func lnVarSum(x []float32, mu float32) float32 {
	if !hasAVX2 {
		return lnVarSumPortable(x, mu)
	}
	return lnVarSumAVX2(&x[0], len(x)&^7, mu, tailMask(len(x)))
}

// lnApply writes dst = (x − mu)·inv·w + b (w and b as long as x).
func lnApply(dst, x, w, b []float32, mu, inv float32) {
	if !hasAVX2 {
		lnApplyPortable(dst, x, w, b, mu, inv)
		return
	}
	n := len(x)
	_, _, _ = dst[n-1], w[n-1], b[n-1]
	lnApplyAVX2(&dst[0], &x[0], &w[0], &b[0], n&^7, mu, inv, tailMask(n))
}

// lnGradSums is LayerNormGradRow's first pass (see lnGradSumsPortable).
func lnGradSums(x, g, w, gw, gb []float32, mu, inv float32) (s1, s2 float32) {
	if !hasAVX2 {
		return lnGradSumsPortable(x, g, w, gw, gb, mu, inv)
	}
	n := len(x)
	_, _ = g[n-1], w[n-1]
	return lnGradSumsAVX2(&x[0], &g[0], &w[0], ptrOrNil(gw, n), ptrOrNil(gb, n), n&^7, mu, inv, tailMask(n))
}

// lnGradApply is LayerNormGradRow's second pass (see lnGradApplyPortable).
func lnGradApply(gx, prior, g, x, w []float32, mu, inv, b, c float32) {
	if !hasAVX2 {
		lnGradApplyPortable(gx, prior, g, x, w, mu, inv, b, c)
		return
	}
	n := len(x)
	_, _, _ = gx[n-1], g[n-1], w[n-1]
	lnGradApplyAVX2(&gx[0], ptrOrNil(prior, n), &g[0], &x[0], &w[0], n&^7, mu, inv, b, c, tailMask(n))
}

// ptrOrNil returns &s[0] after checking that s holds n values, or nil for
// a nil s.
func ptrOrNil(s []float32, n int) *float32 {
	if s == nil {
		return nil
	}
	return &s[:n][0]
}
