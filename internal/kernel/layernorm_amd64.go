//go:build amd64 && !purego

package kernel

// The LayerNorm row kernels (layernorm_amd64.s): n is the multiple-of-8
// prefix of the row, mask the VMASKMOVPS lanes of the rest (nil when the
// row has no rest). Sums run over fixed lanes in a fixed order: a row
// gives the same bits whatever else runs.

//go:noescape
func lnGradSumsAVX2(x, gy, w, gw, gb *float32, n int, mu, inv float32, mask *int32) (s1, s2 float32)

//go:noescape
func lnGradApplyAVX2(gx, prior, gy, x, w *float32, n int, mu, inv, b, c float32, mask *int32)

//go:noescape
func lnRowAVX2(dst, x, w, b *float32, n int, fd, eps float32, mask *int32) (mean, inv float32)

// lnRowAsm runs LayerNormRow's kernel (w and b not nil), reporting false
// when the machine has none.
func lnRowAsm(dst, x, w, b []float32, eps float32) (mean, inv float32, ok bool) {
	if !hasAVX2 {
		return 0, 0, false
	}
	n := len(x)
	_, _, _ = dst[n-1], w[n-1], b[n-1]
	mean, inv = lnRowAVX2(&dst[0], &x[0], &w[0], &b[0], n&^7, float32(n), eps, tailMask(n))
	return mean, inv, true
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
