package kernel

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// Act is an activation that GemmPacked applies to each output tile while the
// tile is still in cache.
type Act uint8

// The activations of an Epilogue. ActReLU is max(x, +0) with NaN kept, as
// the ReLU vector kernel computes it; ActGELU is the exact (erf) GELU of
// the GELU kernel.
const (
	ActNone Act = iota
	ActReLU
	ActGELU
)

// Epilogue is the work GemmPacked and GemmEpilogue fuse into their last
// pass over C: each output row becomes act(row + Bias) + Residual's row.
// Bias, when not nil, holds one value per output column. Residual, when
// not nil, is a matrix of C's shape whose rows lie ldc apart, as C's do
// (a residual stream added to a layer's output); only GemmEpilogue takes
// it: GemmPacked panics on it.
type Epilogue struct {
	Bias     []float32
	Act      Act
	Residual []float32
}

// PackedB is the right operand op(B) (k×n) of a GEMM, packed once into the
// column panels of one GEMM implementation, so that products with many
// left operands (the weight of a layer at inference) skip the packing, and
// the transposition, that Gemm does on every call.
//
// The panels are a copy, taken when PackB ran; single-row products
// (a batch of one), which packing cannot speed up, read the source matrix
// itself, so the source must not change while the PackedB is in use: pack
// it again after a change. A PackedB is read-only and safe for concurrent
// use.
type PackedB struct {
	im     *gemmImpl
	k, n   int
	kc     int // rows of op(B) per k block (the last may hold fewer)
	np     int // column panels: ⌈n/nr⌉
	panels []float32
	src    []float32
	transB bool
	ldb    int
}

// PackB packs op(B), k×n, for GemmPacked, where op(B) is B or its transpose
// and ldb is the row stride of B as stored, with the micro-kernel that Gemm
// would use for an output n columns wide. It panics when a dimension is
// negative, the stride is too small or b is too short.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	im := active
	if n <= 16 && narrow != nil {
		im = narrow
	}
	return packBWith(im, transB, k, n, b, ldb)
}

func packBWith(im *gemmImpl, transB bool, k, n int, b []float32, ldb int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernel.PackB: negative dimension k=%d n=%d", k, n))
	}
	rsB, csB := ldb, 1
	if transB {
		checkMat("B", b, n, k, ldb)
		rsB, csB = 1, ldb
	} else {
		checkMat("B", b, k, n, ldb)
	}
	nr := im.nr
	p := &PackedB{im: im, k: k, n: n, np: (n + nr - 1) / nr, src: b, transB: transB, ldb: ldb}
	p.kc = im.kc
	// Balance k blocks as Gemm does: no tiny last block.
	if nkb := (k + p.kc - 1) / p.kc; nkb > 1 {
		p.kc = (k + nkb - 1) / nkb
	}
	size := k * p.np * nr
	raw := make([]float32, size+16)
	off := 0
	if len(raw) > 0 {
		off = int((64 - uintptr(unsafe.Pointer(&raw[0]))%64) % 64 / 4)
	}
	p.panels = raw[off : off+size : off+size]
	for pc := 0; pc < k; pc += p.kc {
		kb := min(p.kc, k-pc)
		blk := p.panels[pc*p.np*nr:]
		for q := 0; q < p.np; q++ {
			j0 := q * nr
			packPanel(blk[q*kb*nr:(q+1)*kb*nr], b, pc*rsB+j0*csB, rsB, csB, kb, min(nr, n-j0), nr)
		}
	}
	return p
}

// K returns the number of rows of op(B), the inner dimension.
func (p *PackedB) K() int { return p.k }

// N returns the number of columns of op(B), the output width.
func (p *PackedB) N() int { return p.n }

// Impl returns the name of the micro-kernel the panels were packed for.
func (p *PackedB) Impl() string { return p.im.name }

// gemvRows is the number of rows up to which GemmPacked computes each row
// as a matrix–vector product on the source instead: an mr-row micro-kernel
// would spend most of its work on padding. It stays at one, so that from
// two rows on every row of the result is the same, bit for bit, whatever
// the number of rows (the serve package's batching relies on it).
const gemvRows = 1

// GemmPacked computes C = ep(alpha·op(A)·B + beta·C) for a packed B (k×n):
// op(A) is m×k with row stride lda as stored, C is m×n with row stride ldc,
// and the epilogue adds ep.Bias to each row of the result and applies
// ep.Act, while each tile is in cache. When beta is zero, C is overwritten
// without being read. A row of C does not depend on the other rows of A
// when m ≥ 2: it is the same, bit for bit, in a product of two rows or of
// many (a single row takes a matrix–vector path that sums in another
// order). Large products are split across the worker pool;
// small ones stay on the caller's goroutine. GemmPacked panics when a
// stride is too small, a slice is too short or the bias does not have n
// values.
func GemmPacked(transA bool, m int, alpha float32, a []float32, lda int, p *PackedB, beta float32, c []float32, ldc int, ep Epilogue) {
	k, n := p.k, p.n
	if m < 0 {
		panic(fmt.Sprintf("kernel.GemmPacked: negative dimension m=%d", m))
	}
	if ep.Residual != nil {
		panic("kernel.GemmPacked: Epilogue.Residual is GemmEpilogue's only (use beta = 1 over a copy)")
	}
	rsA, csA := lda, 1
	if transA {
		checkMat("A", a, k, m, lda)
		rsA, csA = 1, lda
	} else {
		checkMat("A", a, m, k, lda)
	}
	checkMat("C", c, m, n, ldc)
	if ep.Bias != nil && len(ep.Bias) != n {
		panic(fmt.Sprintf("kernel.GemmPacked: bias has %d values, want %d", len(ep.Bias), n))
	}
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else if beta != 1 {
				scalePortable(beta, row)
			}
			epilogueRow(row, ep)
		}
		return
	}
	if m <= gemvRows && p.im != portableImpl {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			gemv(p.transB, n, k, alpha, a[i*rsA:], csA, p.src, p.ldb, beta, row)
			epilogueRow(row, ep)
		}
		return
	}
	t := packedTasks.Get().(*packedTask)
	t.packedJob = packedJob{p: p, m: m, alpha: alpha, beta: beta, a: a, rsA: rsA, csA: csA, c: c, ldc: ldc, ep: ep}
	t.packA = !(m*n*k <= 1<<27 || m <= 4*p.im.mr || n <= 2*p.im.nr)
	t.tail = tailImpl(p.im)
	mp := (m + p.im.mr - 1) / p.im.mr
	workers := 1
	if m*n*k >= gemmParallelFlops {
		workers = parallel.Workers()
	}
	switch {
	case workers <= 1:
		t.do(0, mp, 0, p.np)
	case splitRows(mp, p.np, workers, t.packA, t.tail != nil && m%p.im.mr != 0 && m%p.im.mr <= t.tail.mr):
		t.mp = mp
		parallel.For(mp, 1, t.rows)
	default:
		t.mp = mp
		parallel.For(p.np, 1, t.cols)
	}
	t.packedJob = packedJob{}
	packedTasks.Put(t)
}

// splitRows reports whether a packed product of mp row panels and np
// column panels is shared out among workers by rows (each worker packs
// and reads only its rows of A) rather than by columns (each reads all of
// A, and half as much B): rows when A is packed, which columns would do
// once per worker, and otherwise whichever leaves the busiest worker the
// fewer tiles, counting a short last row panel on the tail kernel as half
// a tile.
func splitRows(mp, np, workers int, packA, halfTail bool) bool {
	if packA {
		return true
	}
	last := 2 // the last row panel, in half tiles
	if halfTail {
		last = 1
	}
	byRows := (mp + workers - 1) / workers * 2 * np
	byCols := (2*(mp-1) + last) * ((np + workers - 1) / workers)
	return byRows <= byCols
}

// tailImpl returns the kernel that computes a short last row panel for
// im: one with fewer rows whose panels tile im's (the AVX2 kernel under
// the AVX-512 one), or nil. Both sum each output in the same order, so a
// row's result does not depend on which of them computed it.
func tailImpl(im *gemmImpl) *gemmImpl {
	if tm := tail; tm != nil && tm != im && tm.mr < im.mr && im.nr%tm.nr == 0 {
		return tm
	}
	return nil
}

// epilogueRow applies ep to one finished output row (or part of one, with
// the matching part of the bias).
func epilogueRow(row []float32, ep Epilogue) {
	if ep.Bias != nil {
		add(row, row, ep.Bias[:len(row)])
	}
	switch ep.Act {
	case ActReLU:
		relu(row, row)
	case ActGELU:
		gelu(row, row)
	}
}

// packedJob is one GemmPacked call.
type packedJob struct {
	p           *PackedB
	m           int
	alpha, beta float32
	a           []float32
	rsA, csA    int
	c           []float32
	ldc         int
	ep          Epilogue
	packA       bool
	tail        *gemmImpl // kernel for a short last row panel, or nil
}

// packedTask is a packedJob with the closures the worker pool calls bound
// to it once, so that a threaded call allocates no closure.
type packedTask struct {
	packedJob
	mp         int
	rows, cols func(lo, hi int)
}

var packedTasks = sync.Pool{New: func() any {
	t := new(packedTask)
	t.rows = func(lo, hi int) { t.do(lo, hi, 0, t.p.np) }
	t.cols = func(lo, hi int) { t.do(0, t.mp, lo, hi) }
	return t
}}

// do computes the C tiles in row panels [r0, r1) and column panels
// [q0, q1), walking every k block, and applies the epilogue to each tile
// after its last block.
func (t *packedJob) do(r0, r1, q0, q1 int) {
	p, im := t.p, t.p.im
	mr, nr := im.mr, im.nr
	mc := max(im.mc/mr, 1)
	kc := min(p.kc, p.k)
	abuf := getBuf(mc*mr*kc + mr*nr)
	defer putBuf(abuf)
	ap, scratch := abuf.s[:mc*mr*kc], abuf.s[mc*mr*kc:]
	for pc := 0; pc < p.k; pc += p.kc {
		kb := min(p.kc, p.k-pc)
		last := pc+kb == p.k
		beta := t.beta
		if pc > 0 {
			beta = 1
		}
		blk := p.panels[pc*p.np*nr:]
		for ic := r0; ic < r1; ic += mc {
			icEnd := min(ic+mc, r1)
			rowLo := ic * mr
			mb := min(icEnd*mr, t.m) - rowLo
			if t.packA {
				for q := 0; q < icEnd-ic; q++ {
					i0 := rowLo + q*mr
					packPanel(ap[q*kb*mr:(q+1)*kb*mr], t.a, i0*t.rsA+pc*t.csA, t.csA, t.rsA, kb, min(mr, t.m-i0), mr)
				}
			} else if lp := icEnd - ic - 1; rowLo+(lp+1)*mr > t.m {
				// Pad the ragged last row panel.
				i0 := rowLo + lp*mr
				packPanel(ap[lp*kb*mr:(lp+1)*kb*mr], t.a, i0*t.rsA+pc*t.csA, t.csA, t.rsA, kb, t.m-i0, mr)
			}
			for q := q0; q < q1; q++ {
				j0 := q * nr
				w := min(nr, p.n-j0)
				bptr := &blk[q*kb*nr]
				for ir := 0; ir < mb; ir += mr {
					h := min(mr, mb-ir)
					var aptr *float32
					rs, cs := 1, mr
					if t.packA || h < mr {
						aptr = &ap[(ir/mr)*kb*mr]
					} else {
						aptr = &t.a[(rowLo+ir)*t.rsA+pc*t.csA]
						rs, cs = t.rsA, t.csA
					}
					ci := (rowLo+ir)*t.ldc + j0
					if tm := t.tail; tm != nil && h <= tm.mr {
						// A short last row panel on the shorter kernel: its
						// padded rows cost mr/tm.mr times less.
						for s := 0; s*tm.nr < w; s++ {
							ws := min(tm.nr, w-s*tm.nr)
							tm.kern(kb, aptr, 1, mr, &blk[q*kb*nr+s*tm.nr], nr, &scratch[0], tm.nr, t.alpha, 0)
							mergeTile(t.c[ci+s*tm.nr:], t.ldc, scratch, tm.nr, h, ws, beta)
						}
					} else if h == mr && w == nr {
						im.kern(kb, aptr, rs, cs, bptr, nr, &t.c[ci], t.ldc, t.alpha, beta)
					} else {
						im.kern(kb, aptr, rs, cs, bptr, nr, &scratch[0], nr, t.alpha, 0)
						mergeTile(t.c[ci:], t.ldc, scratch, nr, h, w, beta)
					}
				}
			}
			// The epilogue runs once per finished row of the block, over
			// all its columns, rather than once per row of each mr×nr tile:
			// a 32-float row is too short to amortise the vector kernels'
			// calls.
			if last && (t.ep.Bias != nil || t.ep.Act != ActNone) {
				if j0, j1 := q0*nr, min(q1*nr, p.n); j1 > j0 {
					t.tileEpilogue(rowLo*t.ldc+j0, mb, j0, j1-j0)
				}
			}
		}
	}
}

// tileEpilogue applies the epilogue to the h×w block of C at offset ci,
// whose first column is j0, row by row with the vector kernels.
func (t *packedJob) tileEpilogue(ci, h, j0, w int) {
	var bias []float32
	if t.ep.Bias != nil {
		bias = t.ep.Bias[j0 : j0+w]
	}
	for r := 0; r < h; r++ {
		row := t.c[ci+r*t.ldc : ci+r*t.ldc+w]
		if bias != nil {
			add(row, row, bias)
		}
		switch t.ep.Act {
		case ActReLU:
			relu(row, row)
		case ActGELU:
			gelu(row, row)
		}
	}
}
