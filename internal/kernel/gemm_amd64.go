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
