//go:build amd64 && !purego

package kernel

//go:noescape
func adamAVX2(p, grad, m, v *float32, n int, a *AdamParams)

func adam(p, g, m, v []float32, a *AdamParams) {
	n := len(p) &^ 7
	if hasAVX2 && n > 0 {
		adamAVX2(&p[0], &g[0], &m[0], &v[0], n, a)
	}
	adamPortable(p[n:], g[n:], m[n:], v[n:], a)
}
