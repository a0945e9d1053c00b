//go:build !amd64 || purego

package kernel

func lnGradSums(x, g, w, gw, gb []float32, mu, inv float32) (s1, s2 float32) {
	return lnGradSumsPortable(x, g, w, gw, gb, mu, inv)
}

func lnGradApply(gx, prior, g, x, w []float32, mu, inv, b, c float32) {
	lnGradApplyPortable(gx, prior, g, x, w, mu, inv, b, c)
}

func lnRowAsm([]float32, []float32, []float32, []float32, float32) (mean, inv float32, ok bool) {
	return 0, 0, false
}
