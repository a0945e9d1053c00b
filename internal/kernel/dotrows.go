package kernel

// DotRows computes the matrix–vector product with a row-major matrix:
// dst[j] = a·b[j·ldb : j·ldb+len(a)] + beta·dst[j] for every j <
// len(dst) (dst is overwritten, not read, when beta is 0). It is the
// product x·Wᵀ of one input row with a layer's weight W [out, in], taken
// four rows of W at a time so that a is read once per four outputs. It
// panics when b is too short.
func DotRows(dst, a, b []float32, ldb int, beta float32) {
	k, n := len(a), len(dst)
	if n == 0 {
		return
	}
	if ldb < k || len(b) < (n-1)*ldb+k {
		panic("kernel.DotRows: matrix too short for the rows asked")
	}
	dotRows(dst, a, b, ldb, beta)
}

// dotRowsPortable is the portable twin of dotRows.
func dotRowsPortable(dst, a, b []float32, ldb int, beta float32) {
	k := len(a)
	for j := range dst {
		v := dotPortable(a, b[j*ldb:j*ldb+k])
		if beta != 0 {
			v += beta * dst[j]
		}
		dst[j] = v
	}
}
