//go:build !amd64 || purego

package kernel

func lnVarSum(x []float32, mu float32) float32 { return lnVarSumPortable(x, mu) }

func lnApply(dst, x, w, b []float32, mu, inv float32) { lnApplyPortable(dst, x, w, b, mu, inv) }

func lnGradSums(x, g, w, gw, gb []float32, mu, inv float32) (s1, s2 float32) {
	return lnGradSumsPortable(x, g, w, gw, gb, mu, inv)
}

func lnGradApply(gx, prior, g, x, w []float32, mu, inv, b, c float32) {
	lnGradApplyPortable(gx, prior, g, x, w, mu, inv, b, c)
}
