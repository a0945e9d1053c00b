//go:build arm64 && !purego

package kernel

// adamNEON applies adamPortable's update to the first n elements, n a
// positive multiple of 4.
//
//go:noescape
func adamNEON(p, grad, m, v *float32, n int, a *AdamParams)

func adam(p, g, m, v []float32, a *AdamParams) {
	n := len(p) &^ 3
	if hasASIMD && n > 0 {
		adamNEON(&p[0], &g[0], &m[0], &v[0], n, a)
	}
	adamPortable(p[n:], g[n:], m[n:], v[n:], a)
}
