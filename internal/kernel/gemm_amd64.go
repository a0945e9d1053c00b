//go:build amd64 && !purego

package kernel

import "unsafe"

//go:noescape
func transpose8AVX2(dst, src *float32, sj, nr, kb int)

// transpose8 packs eight rows of kb floats (row j at src[j·sj:]) as eight
// columns of dst (dst[p·nr + j]) for the multiple-of-8 prefix of kb and
// returns how many values of p it packed; packTransposed does the rest.
func transpose8(dst, src unsafe.Pointer, sj, nr, kb int) int {
	kb &^= 7
	if !hasAVX2 || kb == 0 {
		return 0
	}
	transpose8AVX2((*float32)(dst), (*float32)(src), sj, nr, kb)
	return kb
}

//go:noescape
func gemvN64AVX2(k int, a, b *float32, ldb int, dst *float32)

//go:noescape
func gemvN16AVX2(k int, a, b *float32, ldb int, dst *float32)

//go:noescape
func dot4AVX2(k int, a, b *float32, ldb int, dst *float32, groups int)

// gemvCols sets dst[j] = Σ_p a[p]·b[p·ldb + j] (p < len(a), len(a) ≥ 1)
// for the leading columns of dst in blocks of 64, then 16, and returns how
// many it set; gemv does the rest.
func gemvCols(a, b []float32, ldb int, dst []float32) int {
	k, n := len(a), len(dst)
	if !hasAVX2 || k == 0 || n < 16 {
		return 0
	}
	_ = b[(k-1)*ldb+n&^15-1] // the last float read
	j := 0
	for ; j+64 <= n; j += 64 {
		gemvN64AVX2(k, &a[0], &b[j], ldb, &dst[j])
	}
	for ; j+16 <= n; j += 16 {
		gemvN16AVX2(k, &a[0], &b[j], ldb, &dst[j])
	}
	return j
}

// dotRows sets dst[r] = Σ_p a[p]·b[r·ldb + p] over the multiple-of-8
// prefix of a, p < k8, for the rows r of dst in groups of four, and returns
// how many rows it set and k8; gemv adds the rest.
func dotRows(a, b []float32, ldb int, dst []float32) (rows, k8 int) {
	k8, rows = len(a)&^7, len(dst)&^3
	if !hasAVX2 || k8 == 0 || rows == 0 {
		return 0, 0
	}
	_ = b[(rows-1)*ldb+k8-1]
	dot4AVX2(k8, &a[0], &b[0], ldb, &dst[0], rows/4)
	return rows, k8
}
