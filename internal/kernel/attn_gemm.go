package kernel

import "fmt"

// SmallGemm computes C = alpha·A·B + beta·C for the many small products of
// attention (a few dozen rows, columns and steps), on the caller's
// goroutine. A is m×k with element (i, p) at a[i·rsA + p·csA] (rsA = lda,
// csA = 1 for a row-major A; rsA = 1, csA = lda for a transposed one), B is
// k×n row-major with row stride ldb, and C is m×n row-major with row stride
// ldc. When beta is zero C is written without being read.
//
// Unlike Gemm it plans nothing and packs nothing: the micro-kernel reads A
// and B where they lie, and only the ragged edges (fewer rows than a tile,
// or fewer columns) are copied, zero-padded, into scratch. Use it when the
// operands are small enough to stay in cache; Gemm's packing wins beyond.
func SmallGemm(m, n, k int, alpha float32, a []float32, rsA, csA int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 || rsA < 0 || csA < 0 || ldb < max(n, 1) || ldc < max(n, 1) {
		panic(fmt.Sprintf("kernel.SmallGemm: m=%d n=%d k=%d rsA=%d csA=%d ldb=%d ldc=%d", m, n, k, rsA, csA, ldb, ldc))
	}
	if m == 0 || n == 0 {
		return
	}
	if need := (m-1)*ldc + n; len(c) < need {
		panic(fmt.Sprintf("kernel.SmallGemm: C holds %d elements, need %d", len(c), need))
	}
	if k == 0 || alpha == 0 {
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else if beta != 1 {
				scalePortable(beta, row)
			}
		}
		return
	}
	if need := (m-1)*rsA + (k-1)*csA + 1; len(a) < need {
		panic(fmt.Sprintf("kernel.SmallGemm: A holds %d elements, need %d", len(a), need))
	}
	if need := (k-1)*ldb + n; len(b) < need {
		panic(fmt.Sprintf("kernel.SmallGemm: B holds %d elements, need %d", len(b), need))
	}
	smallGemmWith(pickImpl(m, n), m, n, k, alpha, a, rsA, csA, b, ldb, beta, c, ldc)
}

// smallGemmWith is SmallGemm, its arguments checked, with the micro-kernel
// of im.
func smallGemmWith(im *gemmImpl, m, n, k int, alpha float32, a []float32, rsA, csA int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := im.mr, im.nr
	rm, rn := m%mr, n%nr // ragged rows and columns
	var buf *buffer
	var ap, bp, tile []float32
	if rm != 0 || rn != 0 {
		buf = getBuf(mr*k + k*nr + mr*nr)
		ap, bp, tile = buf.s[:mr*k], buf.s[mr*k:mr*k+k*nr], buf.s[mr*k+k*nr:mr*k+k*nr+mr*nr]
		defer putBuf(buf)
	}
	if rm != 0 {
		// The last rm rows of A, as a zero-padded panel: ap[p·mr + r].
		packPanel(ap, a, (m-rm)*rsA, csA, rsA, k, rm, mr)
	}
	if rn != 0 {
		// The last rn columns of B, as a zero-padded panel: bp[p·nr + j].
		packPanel(bp, b, n-rn, ldb, 1, k, rn, nr)
	}
	for j0 := 0; j0 < n; j0 += nr {
		w := min(nr, n-j0)
		var bptr *float32
		csB := nr
		if w == nr {
			bptr, csB = &b[j0], ldb
		} else {
			bptr = &bp[0]
		}
		for i0 := 0; i0 < m; i0 += mr {
			h := min(mr, m-i0)
			var aptr *float32
			rs, cs := 1, mr
			if h == mr {
				aptr, rs, cs = &a[i0*rsA], rsA, csA
			} else {
				aptr = &ap[0]
			}
			ci := i0*ldc + j0
			if h == mr && w == nr {
				im.kern(k, aptr, rs, cs, bptr, csB, &c[ci], ldc, alpha, beta)
				continue
			}
			im.kern(k, aptr, rs, cs, bptr, csB, &tile[0], nr, alpha, 0)
			mergeTile(c[ci:], ldc, tile, nr, h, w, beta)
		}
	}
}

// Transpose writes n rows of d values, row r at x[off + r·ld], as the
// columns of dst, whose rows are ldd ≥ n apart:
// dst[c·ldd + r] = x[off + r·ld + c]. It transposes 8×8 blocks with
// vector shuffles where the machine has them.
func Transpose(dst, x []float32, off, ld, n, d, ldd int) {
	if n < 0 || d < 0 || ldd < n || (n > 1 && ld < d) {
		panic(fmt.Sprintf("kernel.Transpose: %d rows of %d values, ld=%d, ldd=%d", n, d, ld, ldd))
	}
	packTransposed(dst, x, off, ld, d, n, ldd)
}
