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
	smallGemmChecked("kernel.SmallGemm", m, n, k, -m, k, alpha, a, rsA, csA, b, ldb, beta, c, ldc)
}

// SmallGemmBand is SmallGemm for an A whose row i is zero outside the
// steps [i+lo, i+hi) (clamped to [0, k)): each row tile of the
// micro-kernel multiplies only the steps that some row of it may use, and
// a tile with none gets beta·C. It serves the causal mask of attention,
// whose probability rows are zero past the keys a query may see
// (hi = the first query's last key + 1, lo ≤ −m) and whose transposed
// blocks are zero before the first query that sees a key (lo = the
// first key's first query, hi ≥ k). A skipped term is a zero product
// that adding would not change, so C gets the bits SmallGemm gives
// (when the operands are finite).
func SmallGemmBand(m, n, k, lo, hi int, alpha float32, a []float32, rsA, csA int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	smallGemmChecked("kernel.SmallGemmBand", m, n, k, lo, hi, alpha, a, rsA, csA, b, ldb, beta, c, ldc)
}

// smallGemmChecked checks SmallGemmBand's arguments, naming fn in its
// panics, and runs the product.
func smallGemmChecked(fn string, m, n, k, lo, hi int, alpha float32, a []float32, rsA, csA int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 || rsA < 0 || csA < 0 || ldb < max(n, 1) || ldc < max(n, 1) {
		panic(fmt.Sprintf("%s: m=%d n=%d k=%d rsA=%d csA=%d ldb=%d ldc=%d", fn, m, n, k, rsA, csA, ldb, ldc))
	}
	if m == 0 || n == 0 {
		return
	}
	if need := (m-1)*ldc + n; len(c) < need {
		panic(fmt.Sprintf("%s: C holds %d elements, need %d", fn, len(c), need))
	}
	if k == 0 || alpha == 0 {
		scaleRows(c, ldc, m, n, beta)
		return
	}
	if need := (m-1)*rsA + (k-1)*csA + 1; len(a) < need {
		panic(fmt.Sprintf("%s: A holds %d elements, need %d", fn, len(a), need))
	}
	if need := (k-1)*ldb + n; len(b) < need {
		panic(fmt.Sprintf("%s: B holds %d elements, need %d", fn, len(b), need))
	}
	smallGemmWith(pickImpl(m, n), m, n, k, lo, hi, alpha, a, rsA, csA, b, ldb, beta, c, ldc)
}

// SmallGemmTileRows returns the rows of the micro-kernel tile that
// SmallGemm uses for an m×n product: a product whose rows are a multiple
// of it runs no padded row tile.
func SmallGemmTileRows(m, n int) int { return pickImpl(m, n).mr }

// smallGemmWith is SmallGemmBand, its arguments checked, with the
// micro-kernel of im.
func smallGemmWith(im *gemmImpl, m, n, k, lo, hi int, alpha float32, a []float32, rsA, csA int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := im.mr, im.nr
	rm, rn := m%mr, n%nr // ragged rows and columns
	if nw := n - rn; rn != 0 && im.nr == 32 && narrow != nil && narrow.nr == 16 && rn <= 16 {
		// Up to 16 ragged columns of a 32-wide tile take the 16-wide
		// kernel rather than a padded panel: half the products (a
		// causal block's first half sees half of its diagonal keys).
		smallGemmWith(narrow, m, rn, k, lo, hi, alpha, a, rsA, csA, b[nw:], ldb, beta, c[nw:], ldc)
		if nw == 0 {
			return
		}
		n, rn = nw, 0
	}
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
		// B's panel: its columns in place, or the padded copy.
		bs, bo, csB := bp, 0, nr
		if w == nr {
			bs, bo, csB = b, j0, ldb
		}
		for i0 := 0; i0 < m; i0 += mr {
			h := min(mr, m-i0)
			ci := i0*ldc + j0
			// The steps the tile's rows may use.
			p0, p1 := min(max(i0+lo, 0), k), min(max(i0+h-1+hi, 0), k)
			if p1 <= p0 {
				scaleRows(c[ci:], ldc, h, w, beta)
				continue
			}
			var aptr *float32
			rs, cs := 1, mr
			if h == mr {
				aptr, rs, cs = &a[i0*rsA+p0*csA], rsA, csA
			} else {
				aptr = &ap[p0*mr]
			}
			bq := &bs[bo+p0*csB]
			if h == mr && w == nr {
				im.kern(p1-p0, aptr, rs, cs, bq, csB, &c[ci], ldc, alpha, beta)
				continue
			}
			im.kern(p1-p0, aptr, rs, cs, bq, csB, &tile[0], nr, alpha, 0)
			mergeTile(c[ci:], ldc, tile, nr, h, w, beta)
		}
	}
}

// scaleRows sets the h×w corner of C (rows ldc apart) to beta·C, zero
// without reading it when beta is zero.
func scaleRows(c []float32, ldc, h, w int, beta float32) {
	for i := range h {
		row := c[i*ldc : i*ldc+w]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			scalePortable(beta, row)
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
