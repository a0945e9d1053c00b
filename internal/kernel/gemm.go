package kernel

//go:generate go run ./gen -out .

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// microKernel computes one mr×nr tile: C = alpha·A·B + beta·C over k steps.
// Row r of A at step p is at a[r·rsA + p·csA]; the nr values of B at step p
// are contiguous from b[p·csB]; row r of C starts at c[r·ldc]. All strides
// count elements. When beta is zero C is written without being read.
type microKernel func(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32)

// maskedKernel is a microKernel that computes only the first w columns of
// its tile, where mask = 2^w - 1, reading no other column of B or C: a
// ragged last column panel is then read in place and written straight to
// C.
type maskedKernel func(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32, mask int)

// tilesKernel is a microKernel that computes nt tiles in one call, tile t
// with A, B and C advanced by t·astep, t·bstep and t·cstep elements: the
// full tiles of a row panel against one A micro-panel (astep 0), or of a
// column panel against one B panel (bstep 0), each with the bits of a
// call of the microKernel. Meanwhile it prefetches pfn cache lines from
// pf on (none when pfn is 0), one each two steps of k.
type tilesKernel func(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32, nt, astep, bstep, cstep int, pf *float32, pfn int)

// gemmImpl is one GEMM implementation: a micro-kernel, its tile and the
// cache blocking that suits it.
type gemmImpl struct {
	name   string
	mr, nr int
	kern   microKernel
	// masked, when set, is the kernel with a column mask, which computes
	// the tiles of a ragged last column panel in place.
	masked maskedKernel
	// tiles, when set, is the kernel for several full tiles in one
	// call: a call per tile, with its bookkeeping in Go, costs about 5%
	// of a product of k 128 (4096×128·128×512) on the 12-row AVX-512
	// tile.
	tiles      tilesKernel
	kc, mc, nc int
	packB      bool // pack B whatever the shape
	// packTransA packs a transposed A of more than 4·mr rows against
	// more than one column panel: a kernel whose few rows are read in
	// place from columns lda apart is slower than the packing. An
	// inPlaceA implementation packs it only against B read in place
	// and more than eight column panels (see choosePacking).
	packTransA bool
	// inPlaceA reads A in place, never packed, when its stored rows are
	// at most inPlaceALd floats apart: the kernel then streams mr short
	// rows (or, transposed, mr adjacent values per step) faster than
	// packing them pays back, as in a transformer's [tokens, 128..512]
	// activations and their gradients.
	inPlaceA bool
	// packAbove is the work m·n·k above which both operands are packed
	// whatever their layout (zero: defaultPackAbove).
	packAbove int
	// rowsOuter walks the tiles of a block row panel by row panel, each
	// A micro-panel then staying in L1 while the column panels of B
	// stream past it from L2, rather than column panel by column panel.
	// With A read in place (mr rows, each a stream of its own) the
	// packed B panels, one sequential stream, are the cheaper operand to
	// stream: 4096×128·128×512 takes about 9% less time, 1024³ 6%. The
	// six-row AVX2 tile, whose B panels are larger than its A panels, is
	// faster the other way, and the 8-row AVX-512 one gains nothing on
	// its products of few rows.
	rowsOuter bool
	// oneBlockK is the longest k that a small product of few rows takes
	// in one k block (zero: 2·kc; see run). That choice depends on the
	// shape, so a row of C computed in products of different heights is
	// summed in different blocks when k lies between kc and oneBlockK.
	// Callers that compute one product in pieces of different shapes
	// (a convolution's fused and separate paths) are tested against the
	// bound of 768 that blocks of 384 gave, so a longer kc keeps it.
	oneBlockK int
}

// defaultPackAbove is the work m·n·k above which a product packs both
// operands unless its implementation says otherwise: smaller ones read
// row-major operands in place.
const defaultPackAbove = 1 << 27

// inPlaceALd is the longest row stride of A that inPlaceA reads in place;
// beyond it (1024 and up) packing wins again by a few percent.
const inPlaceALd = 512

// inPlaceBRows is the most rows of C for which an inPlaceA implementation
// reads a row-major B in place at any size (see choosePacking).
const inPlaceBRows = 512

// portableImpl is the pure-Go implementation, available everywhere. It
// always packs B: its narrow panels read in place from rows a power of two
// apart fall into a few cache sets.
var portableImpl = &gemmImpl{name: "go1x6", mr: 1, nr: 6, kern: kernGo1x6, kc: 256, mc: 64, nc: 1020, packB: true}

// Packing policies; packMode is changed only by tests and benchmarks.
const (
	packAuto = iota
	packNever
	packAlways
	packOnlyA
	packOnlyB
)

var packMode = packAuto

// gemmParallelFlops is the work (m·n·k) below which GEMM stays on the
// caller's goroutine.
const gemmParallelFlops = 1 << 19

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X or its transpose. op(A) is m×k, op(B) is k×n and C is m×n; lda,
// ldb and ldc are the row strides of A, B and C as stored. When beta is zero,
// C is overwritten without being read (NaNs in C do not propagate). Gemm
// panics when a dimension is negative, a stride is too small or a slice is
// too short.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmWith(pickImpl(m, n), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// shortRows is the row count up to which a shorter tile may replace the
// active one: beyond it the padding of the last row panel is a small part
// of the work.
const shortRows = 256

// pickImpl chooses the kernel for an m×n product: a 16-wide tile for
// narrow outputs, which wastes less of each FMA, and a shorter tile when
// it pads the last row panel less (64 rows are 8 panels of 8, but 5⅓ of
// 12).
func pickImpl(m, n int) *gemmImpl {
	if n <= 16 && narrow != nil {
		// Below 64 rows the 16-row narrow tile may pad more than the
		// tail kernel's 6 (10 rows: 16 against 12).
		if tail != nil && m < 4*narrow.mr && roundUp(m, tail.mr) < roundUp(m, narrow.mr) {
			return tail
		}
		return narrow
	}
	if short != nil && m <= shortRows && roundUp(m, short.mr) < roundUp(m, active.mr) {
		return short
	}
	return active
}

// GemmImpl returns the name of the micro-kernel Gemm uses on this machine.
func GemmImpl() string { return active.name }

func checkMat(name string, x []float32, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("kernel.Gemm: ld%s = %d is smaller than the %d columns of %s", name, ld, cols, name))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernel.Gemm: %s holds %d elements, need %d for %d×%d with stride %d", name, len(x), (rows-1)*ld+cols, rows, cols, ld))
	}
}

// GemmEpilogue computes C = ep(alpha·op(A)·op(B)): Gemm with beta zero
// (C is written without being read), each output row then becoming
// act(row + ep.Bias) + ep.Residual's row in the pass that finishes it,
// while the block of rows is still in cache, rather than in a pass of its
// own over C. ep.Bias, when not nil, holds at least n values, one per
// column of C; ep.Residual, when not nil, is m×n with rows ldc apart, as
// C's (it may not overlap C). The bias, the ReLU and the residual act on
// each element's final value alone, exactly, so the result does not
// depend on the number of workers and equals the unfused passes bit for
// bit. The GELU's vector kernel rounds the columns past its last full
// vector differently, so it runs over whole rows after the product, in a
// pass of its own (the residual after it), where a block split by columns
// cannot shift them. GemmEpilogue panics as Gemm does, and when ep.Bias
// or ep.Residual is too short.
func GemmEpilogue(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	gemmEpilogueWith(pickImpl(m, n), transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, ep)
}

// gemmEpilogueWith is GemmEpilogue with the micro-kernel of im.
func gemmEpilogueWith(im *gemmImpl, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	if ep.Bias != nil && len(ep.Bias) < n {
		panic(fmt.Sprintf("kernel.GemmEpilogue: bias holds %d values, need %d", len(ep.Bias), n))
	}
	if ep.Residual != nil && m > 0 && n > 0 && len(ep.Residual) < (m-1)*ldc+n {
		panic(fmt.Sprintf("kernel.GemmEpilogue: residual holds %d values, need %d for %d×%d with stride %d", len(ep.Residual), (m-1)*ldc+n, m, n, ldc))
	}
	if ep.Act != ActGELU {
		gemmWithEp(im, transA, transB, m, n, k, alpha, a, lda, b, ldb, 0, c, ldc, ep, nil, nil)
		return
	}
	gemmWithEp(im, transA, transB, m, n, k, alpha, a, lda, b, ldb, 0, c, ldc, Epilogue{Bias: ep.Bias}, nil, nil)
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		gelu(row, row)
		if ep.Residual != nil {
			add(row, row, ep.Residual[i*ldc:i*ldc+n])
		}
	}
}

func gemmWith(im *gemmImpl, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmWithEp(im, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Epilogue{}, nil, nil)
}

// GemmGELUBiasDeriv computes the forward of a linear layer's bias and
// GELU from the product P = op(A)·op(B) (m×n): with X = P + bias (bias
// holds n values), y = GELU(X) and der = GELU'(X), both m×n with rows n
// apart, the same bits as Gemm into der followed by
// GELUBiasDeriv(y, der, der, bias), whatever the number of workers. Each
// block of rows gets its GELU as the product finishes it, while it is in
// cache, where a worker's block spans whole rows (GELUBiasDeriv's vector
// kernel rounds the columns past its last full vector differently, so a
// block cut between columns would change bits); otherwise, a product
// split by columns, it runs in a pass of its own after the product. It
// panics as Gemm does, and when the lengths of bias, y or der do not fit.
func GemmGELUBiasDeriv(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, bias, y, der []float32) {
	gemmGELUBiasDerivWith(pickImpl(m, n), transA, transB, m, n, k, a, lda, b, ldb, bias, y, der)
}

// gemmGELUBiasDerivWith is GemmGELUBiasDeriv with the micro-kernel of im.
func gemmGELUBiasDerivWith(im *gemmImpl, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, bias, y, der []float32) {
	if n < 1 || m < 0 || len(bias) != n || len(y) != m*n || len(der) != m*n {
		panic(fmt.Sprintf("kernel.GemmGELUBiasDeriv: m=%d n=%d with bias %d, y %d, der %d values (want n, m·n, m·n)", m, n, len(bias), len(y), len(der)))
	}
	gemmWithEp(im, transA, transB, m, n, k, 1, a, lda, b, ldb, 0, der, n, Epilogue{}, y, bias)
}

// gemmWithEp is gemmWith with an epilogue applied to each finished block
// of C (none when ep is the zero Epilogue), and, when gy is not nil,
// GemmGELUBiasDeriv's GELU with bias gb, gy its output (C's rows then
// ldc = n apart).
func gemmWithEp(im *gemmImpl, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep Epilogue, gy, gb []float32) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernel.Gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	// Element (i, p) of op(A) is a[i·rsA + p·csA]; (p, j) of op(B) is
	// b[p·rsB + j·csB].
	rsA, csA, rsB, csB := lda, 1, ldb, 1
	if transA {
		checkMat("A", a, k, m, lda)
		rsA, csA = 1, lda
	} else {
		checkMat("A", a, m, k, lda)
	}
	if transB {
		checkMat("B", b, n, k, ldb)
		rsB, csB = 1, ldb
	} else {
		checkMat("B", b, k, n, ldb)
	}
	checkMat("C", c, m, n, ldc)
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
			if ep.hasWork() {
				epilogueCols(row, ep, 0, i*ldc)
			}
		}
		if gy != nil {
			geluBiasDerivRows(gy, c, c, gb, 0, m)
		}
		return
	}
	if m == 1 && im != portableImpl {
		gemv(transB, n, k, alpha, a, csA, b, ldb, beta, c)
		if ep.hasWork() {
			epilogueCols(c[:n], ep, 0, 0)
		}
		if gy != nil {
			geluBiasDerivRows(gy, c, c, gb, 0, m)
		}
		return
	}
	if t := transposedImpl(im, transA, transB, m, n, k, lda, beta); t != nil && !ep.hasWork() && gy == nil {
		gemmTransposed(t, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	g := gemmPlan{im: im, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, rsA: rsA, csA: csA, b: b, rsB: rsB, csB: csB, c: c, ldc: ldc, ep: ep,
		geluY: gy, geluBias: gb}
	g.run()
}

// transposedImpl returns the implementation that computes Aᵀ·B (A k×m
// and B k×n as stored) faster as its transpose Bᵀ·A, or nil. That is a
// weight gradient of many rows and few columns whose transposed A (the
// output gradient) has rows 2 KB apart (lda 512): the 12-row tile reads
// 12 floats per step from those rows in place, whose lines share a few
// L1 sets, and packing them costs more than it gains, while the
// transpose, few rows against many columns, takes the 8-row tile, which
// packs its B (see choosePacking): 512×2048·2048×128 takes about 7% less
// time, 512×4096·4096×128 8%. The two products sum each element in the
// same k blocks and order (the tiles share kc, and k is beyond the one
// block of a small product), with beta 0 or 1, so that the bits are
// those of the direct product.
func transposedImpl(im *gemmImpl, transA, transB bool, m, n, k, lda int, beta float32) *gemmImpl {
	if !transA || transB || !im.rowsOuter || !im.inPlaceA || lda != inPlaceALd || beta != 0 && beta != 1 ||
		n > m || k <= 2*im.kc || k <= im.oneBlockK {
		return nil
	}
	t := pickImpl(n, m)
	if t == im || t.rowsOuter || t.kc != im.kc || t.oneBlockK != im.oneBlockK || t.tiles == nil {
		return nil
	}
	return t
}

// gemmTransposed computes C = alpha·Aᵀ·B + beta·C (A k×m, B k×n as
// stored; beta 0 or 1) as Cᵀ = alpha·Bᵀ·A + beta·Cᵀ on the
// implementation t, Cᵀ in a buffer of its own.
func gemmTransposed(t *gemmImpl, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	buf := getBuf(m * n)
	defer putBuf(buf)
	ct := buf.s
	if beta != 0 {
		packTransposed(ct, c, 0, ldc, n, m, m) // ct[j·m + i] = c[i·ldc + j]
	}
	gemmWith(t, true, false, n, m, k, alpha, b, ldb, a, lda, beta, ct, m)
	packTransposed(c, ct, 0, m, m, n, ldc) // c[i·ldc + j] = ct[j·m + i]
}

// gemmPlan holds one GEMM call while it runs through the blocked loops.
type gemmPlan struct {
	im          *gemmImpl
	m, n, k     int
	alpha, beta float32
	a           []float32
	rsA, csA    int
	b           []float32
	rsB, csB    int
	c           []float32
	ldc         int
	packA       bool
	packB       bool
	kc          int // k block, the same for every worker
	ep          Epilogue
	// GemmGELUBiasDeriv's output and bias (geluY nil otherwise), and
	// whether every block spans whole rows, so that the GELU runs on each
	// as it is finished.
	geluY, geluBias []float32
	geluInLoop      bool
}

// run chooses packing and threading and walks the Goto/BLIS loops: jc over
// column blocks, pc over k blocks (B block packed), ic over mc rows (A block
// packed), jr over NR panels and ir over MR panels (or ir
// outside jr: see gemmImpl.rowsOuter). With several workers the
// product is handed to the pool once: each worker owns a range of row panels
// of C (or of column panels) and walks every k block of it alone, packing
// the B (or A) it needs itself, so that no worker waits for another between
// k blocks. The k blocking does not depend on the number
// of workers and every tile is computed as on one worker, so the result is
// the same bit for bit.
func (g *gemmPlan) run() {
	im := g.im
	m, n, k := g.m, g.n, g.k
	small := g.choosePacking()
	workers := 1
	if m*n*k >= gemmParallelFlops {
		workers = parallel.Workers()
	}
	kc := im.kc
	oneBlockK := im.oneBlockK
	if oneBlockK == 0 {
		oneBlockK = 2 * kc
	}
	if small && k <= oneBlockK && m <= 2*im.mc {
		// One k block: a small product of few rows is then one packing
		// pass per worker, and C is read and written once. Many rows keep
		// the blocks, whose B panels stay in L1.
		kc = k
	}
	// Balance k blocks: no tiny last block.
	if nkb := (k + kc - 1) / kc; nkb > 1 {
		kc = (k + nkb - 1) / nkb
	}
	g.kc = kc
	mp := (m + im.mr - 1) / im.mr // row panels
	np := (n + im.nr - 1) / im.nr // column panels
	parts, byRows := splitPanels(workers, m, n, k, mp, np, g.packA, g.packB)
	if g.geluY != nil {
		g.geluInLoop = (parts <= 1 || byRows) && n <= im.nc
		if !g.geluInLoop {
			defer geluBiasDerivRows(g.geluY, g.c, g.c, g.geluBias, 0, m)
		}
	}
	if parts <= 1 {
		g.part(0, mp, 0, np)
		return
	}
	// The pool's workers get a recycled task whose closure is bound once,
	// so that a threaded call allocates nothing either.
	t := getTask()
	t.g, t.parts, t.byRows, t.mp, t.np = *g, parts, byRows, mp, np
	t.next.Store(0)
	parallel.For(min(workers, parts), 1, t.fn)
	putTask(t)
}

// choosePacking sets packA and packB for the plan's shape, layout and
// packMode, and reports whether the product counts as small (at most the
// implementation's packAbove): B is read in place when it is row-major
// and small enough that packing would not pay, its rows then feeding the
// micro-kernel directly; A is read in place (any layout) unless it is
// reused across many column panels.
func (g *gemmPlan) choosePacking() (small bool) {
	im, m, n, k := g.im, g.m, g.n, g.k
	packAbove := im.packAbove
	if packAbove == 0 {
		packAbove = defaultPackAbove
	}
	small = m*n*k <= packAbove || m <= 4*im.mr || n <= 2*im.nr
	// A few rows against a long k (a weight gradient Xᵀ·dY over all
	// tokens) reuse each B panel too little for its packing to pay: it
	// costs a pass over all of B (6 MB for 4096×384) for each m/mr uses
	// of it, and on two workers the two halves of every row of B are then
	// packed at once, each pass slower. Read in place, with rows at most
	// inPlaceALd apart, B's panels stay in L2. The six-row AVX2 tile
	// reuses a panel less per pass and is held to 32 row panels and a k
	// of at least 8m (its 512×4096×128 still gains from packing).
	inPlaceB := m <= inPlaceBRows && g.rsB <= inPlaceALd && (im.inPlaceA || m <= 32*im.mr && k >= 8*m)
	// A kernel that walks the row panels inside each column panel keeps
	// that B panel in L1, which rows of B 2 KB apart (512 floats, the
	// most inPlaceALd allows) defeat: each row's two lines fall into the
	// same four L1 sets. Packed, 128×4096·4096×512 takes 5-10% less time
	// on the 8-row AVX-512 tile, and so does a small product of more
	// than two k blocks and enough row and column panels:
	// 128×2048·2048×512 (a transformer's MLP output projection's weight
	// gradient over 2048 tokens, 2²⁷ flops) about 7% less, while
	// 128×1024·1024×512 gains nothing and 128×512·512×512 loses 5%.
	conflictB := im.inPlaceA && !im.rowsOuter && g.rsB == inPlaceALd
	if conflictB {
		inPlaceB = false
	}
	g.packB = g.csB != 1 || !small && !inPlaceB || conflictB && m > 4*im.mr && n > 2*im.nr && k > 2*im.kc || im.packB && m > 4
	// A packed transposed A pays only when its panels serve several
	// column panels: with one (n ≤ nr) each is read once either way.
	packTransA := im.packTransA && g.csA != 1 && m > 4*im.mr && n > im.nr
	if im.inPlaceA && (g.packB || conflictB || n <= 8*im.nr) {
		// The 8-row AVX-512 tile reads a transposed A in place (8
		// adjacent floats per step) faster than it packs it, unless B is
		// read in place, from rows less than 2 KB apart, against many
		// column panels: with B packed, 128×2048·2048×512 takes 3-4%
		// less time with A in place, 128×2048·2048×128 (four column
		// panels) 12% less, while 128×4096·4096×384 (B in place,
		// twelve panels) takes about 4% less with A packed.
		packTransA = false
	}
	g.packA = !small && !(im.inPlaceA && max(g.rsA, g.csA) <= inPlaceALd) || packTransA
	switch packMode {
	case packNever:
		g.packA, g.packB = false, g.csB != 1
	case packAlways:
		g.packA, g.packB = true, true
	case packOnlyA:
		g.packA, g.packB = true, g.csB != 1
	case packOnlyB:
		g.packA, g.packB = false, true
	}
	return small
}

// splitPanels returns how many parts an m×n product of mp row panels and
// np column panels is split into for workers, and whether by rows. It
// splits the panels of the operand that is read in place, so that each
// part packs only its own share of the other: by columns when only B is
// packed (each part packs its own B panels), unless m ≥ 8n, when every
// part streaming all of A (m×k) would cost more than every part packing
// all of B (k×n); by rows when only A is. When both are packed, each part
// packs all of the operand it does not split, so the larger one is split:
// by rows when m ≥ n, by columns when n > m (a weight gradient over many
// tokens), unless that way has too few panels. When neither is, each part
// reads the whole of the operand it does not split (all of B when split
// by rows, all of A by columns): the smaller one is read again, A when
// m < n, unless that direction has fewer than two panels per worker and
// the other more. The MLP's 64×784×128 goes by columns (B, 400 KB, read
// once) and its weight gradient 128×64×784 too (A, the 32 KB output
// gradient, read by every part rather than the 200 KB input).
//
// Where no part packs what another packs too, and the operand that every
// part reads whole is at most overSplitMax floats (it then stays in L2
// between parts), there are up to overSplit parts per worker, taken in
// turn (see poolTask), so that a worker that falls behind is made up for;
// otherwise one part per worker.
func splitPanels(workers, m, n, k, mp, np int, packA, packB bool) (parts int, byRows bool) {
	byRows = mp >= 2*workers || mp >= np
	switch {
	case packB && !packA && np >= 2*workers:
		// Each part packs its own B panels and reads all of A, unless A
		// is the far larger (a language model's 4096 tokens against a
		// 128×384 weight): then every part packing all of B costs less
		// than every part streaming all of A.
		byRows = m >= 8*n && mp >= 2*workers
	case packA && !packB && mp >= 2*workers:
		byRows = true
	case packA && packB:
		// Each part packs all of the operand it does not split: split
		// the larger, B when n > m (a weight gradient's k×n B against
		// its k×m A), unless it has too few panels.
		byRows = mp >= 2*workers && (m >= n || np < 2*workers) || mp >= np && np < 2*workers
	case !packA && !packB:
		byRows = m >= n
		if byRows && mp < 2*workers && np > mp {
			byRows = false
		} else if !byRows && np < 2*workers && mp > np {
			byRows = true
		}
	}
	panels, twice, whole := np, packA, m*k
	if byRows {
		panels, twice, whole = mp, packB, k*n
	}
	if workers <= 1 || twice || whole > overSplitMax {
		return min(workers, panels), byRows
	}
	return min(overSplit*workers, panels), byRows
}

// overSplit is the most parts per worker when the split packs nothing
// twice; overSplitMax is the largest operand (in floats, 256 KB) that each
// of them may read whole.
const (
	overSplit    = 4
	overSplitMax = 1 << 16
)

// split returns the range [lo, hi) of n panels that part w of parts owns;
// the parts differ by at most one panel.
func split(n, parts, w int) (lo, hi int) {
	return w * n / parts, (w + 1) * n / parts
}

// part computes the C tiles in row panels [r0, r1) and column panels
// [q0, q1) over all of k, packing into buffers of its own.
func (g *gemmPlan) part(r0, r1, q0, q1 int) {
	im := g.im
	nr, kc, nc := im.nr, g.kc, im.nc
	j0, j1 := q0*nr, min(q1*nr, g.n)
	if j0 >= j1 || r0 >= r1 {
		return
	}
	bbuf := getBuf(min(kc, g.k) * roundUp(min(nc, j1-j0), nr))
	defer putBuf(bbuf)
	for jc := j0; jc < j1; jc += nc {
		nb := min(nc, j1-jc)
		nbp := (nb + nr - 1) / nr // column panels
		for pc := 0; pc < g.k; pc += kc {
			kb := min(kc, g.k-pc)
			beta := g.beta
			if pc > 0 {
				beta = 1
			}
			bp := bbuf.s
			if g.packB {
				g.packBRange(bp, pc, kb, jc, nb, 0, nbp)
			} else if nb%nr != 0 && im.masked == nil {
				// Only the ragged last panel needs zero padding (a masked
				// kernel reads it in place).
				g.packBRange(bp, pc, kb, jc, nb, nbp-1, nbp)
			}
			blk := blockTask{g: *g, bp: bp, pc: pc, kb: kb, jc: jc, nb: nb, beta: beta, last: pc+kb == g.k}
			blk.do(r0, r1, 0, nbp)
		}
	}
}

// packBRange packs column panels [lo, hi) of the kb×nb block of op(B) at
// (pc, jc) into bp, panel q at bp[q·kb·nr:], zero-padding the last one.
func (g *gemmPlan) packBRange(bp []float32, pc, kb, jc, nb, lo, hi int) {
	nr := g.im.nr
	if g.csB == 1 {
		packByRows(bp[lo*kb*nr:hi*kb*nr], g.b, pc*g.rsB+jc+lo*nr, g.rsB, kb, min(nb-lo*nr, (hi-lo)*nr), nr)
		return
	}
	for q := lo; q < hi; q++ {
		j0 := q * nr
		w := min(nr, nb-j0)
		packPanel(bp[q*kb*nr:(q+1)*kb*nr], g.b, pc*g.rsB+(jc+j0)*g.csB, g.rsB, g.csB, kb, w, nr)
	}
}

// blockTask is the work below the pc loop for one k block.
type blockTask struct {
	g      gemmPlan
	bp     []float32
	pc, kb int
	jc, nb int
	beta   float32
	last   bool // the last k block: the epilogue follows it
}

// poolTask is a product handed to the worker pool, with the closure the
// pool calls bound to it once, when it is first made. Each participant
// takes the next part (a share of the row panels or column panels of C)
// until none is left, so that a worker that starts late, or is descheduled
// on a busy machine, takes fewer parts rather than holding up the caller.
type poolTask struct {
	g             gemmPlan
	parts, mp, np int
	byRows        bool
	next          atomic.Int64 // the next part to take
	fn            func(lo, hi int)
}

var tasks = sync.Pool{New: func() any {
	t := new(poolTask)
	t.fn = func(_, _ int) {
		for {
			w := int(t.next.Add(1) - 1)
			if w >= t.parts {
				return
			}
			if t.byRows {
				r0, r1 := split(t.mp, t.parts, w)
				t.g.part(r0, r1, 0, t.np)
			} else {
				q0, q1 := split(t.np, t.parts, w)
				t.g.part(0, t.mp, q0, q1)
			}
		}
	}
	return t
}}

func getTask() *poolTask { return tasks.Get().(*poolTask) }

// putTask drops the task's references to the caller's matrices and
// recycles it.
func putTask(t *poolTask) {
	t.g = gemmPlan{}
	tasks.Put(t)
}

// do computes C rows in row panels [r0, r1) and columns in column panels
// [q0, q1) of the current column block.
func (t *blockTask) do(r0, r1, q0, q1 int) {
	g, im := &t.g, t.g.im
	mr, nr, kb := im.mr, im.nr, t.kb
	mc := max(im.mc/mr, 1)
	abuf := getBuf(mc*mr*kb + mr*nr)
	defer putBuf(abuf)
	ap, scratch := abuf.s[:mc*mr*kb], abuf.s[mc*mr*kb:]
	for ic := r0; ic < r1; ic += mc {
		icEnd := min(ic+mc, r1)
		rowLo := ic * mr
		mb := min(icEnd*mr, g.m) - rowLo
		if g.packA && g.rsA == 1 && g.csA > 1 {
			packByRows(ap, g.a, rowLo+t.pc*g.csA, g.csA, kb, mb, mr)
		} else if g.packA {
			for q := 0; q < icEnd-ic; q++ {
				i0 := rowLo + q*mr
				packPanel(ap[q*kb*mr:(q+1)*kb*mr], g.a, i0*g.rsA+t.pc*g.csA, g.csA, g.rsA, kb, min(mr, g.m-i0), mr)
			}
		} else if last := icEnd - ic - 1; (rowLo + (last+1)*mr) > g.m {
			// Pad the ragged last row panel.
			i0 := rowLo + last*mr
			packPanel(ap[last*kb*mr:(last+1)*kb*mr], g.a, i0*g.rsA+t.pc*g.csA, g.csA, g.rsA, kb, g.m-i0, mr)
		}
		if im.rowsOuter {
			for ir := 0; ir < mb; ir += mr {
				q := q0
				if im.tiles != nil && mb-ir >= mr {
					q = t.tileRow(ap, rowLo, ir, q0, q1)
				}
				for ; q < q1; q++ {
					t.tile(ap, scratch, rowLo, mb, q, ir)
				}
			}
		} else {
			for q := q0; q < q1; q++ {
				ir := 0
				if im.tiles != nil && t.nb-q*nr >= nr {
					ir = t.tileCol(ap, rowLo, mb, q)
				}
				for ; ir < mb; ir += mr {
					t.tile(ap, scratch, rowLo, mb, q, ir)
				}
			}
		}
		// The epilogue runs over each finished row of the block, all its
		// columns at once, while the block is in cache.
		if t.last && g.ep.hasWork() {
			if j0, j1 := t.jc+q0*nr, t.jc+min(q1*nr, t.nb); j1 > j0 {
				for r := range mb {
					ci := (rowLo+r)*g.ldc + j0
					epilogueCols(g.c[ci:ci+j1-j0], g.ep, j0, ci)
				}
			}
		}
		if t.last && g.geluInLoop {
			// The block spans whole rows (see run).
			for i := rowLo; i < rowLo+mb; i++ {
				row := g.c[i*g.n : (i+1)*g.n]
				geluBiasDeriv(g.geluY[i*g.n:(i+1)*g.n], row, row, g.geluBias)
			}
		}
	}
}

// tile computes the C tile of row panel ir (rows from rowLo+ir) and
// column panel q of the block.
func (t *blockTask) tile(ap, scratch []float32, rowLo, mb, q, ir int) {
	g, im := &t.g, t.g.im
	mr, nr, kb := im.mr, im.nr, t.kb
	j0 := q * nr
	w := min(nr, t.nb-j0)
	var bptr *float32
	csB := nr
	if g.packB || w < nr && im.masked == nil {
		bptr = &t.bp[q*kb*nr]
	} else {
		bptr = &g.b[t.pc*g.rsB+t.jc+j0]
		csB = g.rsB
	}
	h := min(mr, mb-ir)
	var aptr *float32
	rs, cs := 1, mr
	if g.packA || h < mr {
		aptr = &ap[(ir/mr)*kb*mr]
	} else {
		i := rowLo + ir
		aptr = &g.a[i*g.rsA+t.pc*g.csA]
		rs, cs = g.rsA, g.csA
	}
	ci := (rowLo+ir)*g.ldc + t.jc + j0
	if im.masked != nil && w < nr {
		mask := 1<<w - 1
		if h == mr {
			im.masked(kb, aptr, rs, cs, bptr, csB, &g.c[ci], g.ldc, g.alpha, t.beta, mask)
			return
		}
		im.masked(kb, aptr, rs, cs, bptr, csB, &scratch[0], nr, g.alpha, 0, mask)
		mergeTile(g.c[ci:], g.ldc, scratch, nr, h, w, t.beta)
		return
	}
	if h == mr && w == nr {
		im.kern(kb, aptr, rs, cs, bptr, csB, &g.c[ci], g.ldc, g.alpha, t.beta)
		return
	}
	im.kern(kb, aptr, rs, cs, bptr, csB, &scratch[0], nr, g.alpha, 0)
	mergeTile(g.c[ci:], g.ldc, scratch, nr, h, w, t.beta)
}

// tileRow computes the full tiles of row panel ir (rows from rowLo+ir,
// all mr of them in the block) in column panels [q0, q1) with one call of
// the tiles kernel, and returns the first column panel it left (the
// ragged last one, or q1).
func (t *blockTask) tileRow(ap []float32, rowLo, ir, q0, q1 int) int {
	g, im := &t.g, t.g.im
	mr, nr, kb := im.mr, im.nr, t.kb
	qf := min(q1, t.nb/nr)
	if qf <= q0 {
		return q0
	}
	var aptr, bptr *float32
	rs, cs := 1, mr
	if g.packA {
		aptr = &ap[(ir/mr)*kb*mr]
	} else {
		i := rowLo + ir
		aptr = &g.a[i*g.rsA+t.pc*g.csA]
		rs, cs = g.rsA, g.csA
	}
	csB, bstep := nr, kb*nr
	if g.packB {
		bptr = &t.bp[q0*kb*nr]
	} else {
		bptr = &g.b[t.pc*g.rsB+t.jc+q0*nr]
		csB, bstep = g.rsB, nr
	}
	// The next row panel's A, when it is read in place and contiguous
	// (rows of kb floats, one k block), is prefetched while this one
	// runs: 2048×128·128×512 takes 2-4% less time, 2048×512·512×128 up
	// to 5%.
	var pf *float32
	pfn := 0
	if i := rowLo + ir + mr; !g.packA && g.csA == 1 && g.rsA == kb && i+mr <= g.m {
		pf, pfn = &g.a[i*g.rsA+t.pc], mr*kb/16
	}
	ci := (rowLo+ir)*g.ldc + t.jc + q0*nr
	im.tiles(kb, aptr, rs, cs, bptr, csB, &g.c[ci], g.ldc, g.alpha, t.beta, qf-q0, 0, bstep, nr, pf, pfn)
	return qf
}

// tileCol computes the full tiles of column panel q (all nr of its
// columns in the block) in the block's row panels of mr rows, of the mb
// from rowLo, with one call of the tiles kernel, and returns the first
// row it left (that of a short last row panel, or mb).
func (t *blockTask) tileCol(ap []float32, rowLo, mb, q int) int {
	g, im := &t.g, t.g.im
	mr, nr, kb := im.mr, im.nr, t.kb
	nt := mb / mr
	if nt == 0 {
		return 0
	}
	var aptr, bptr *float32
	rs, cs, astep := 1, mr, kb*mr
	if g.packA {
		aptr = &ap[0]
	} else {
		aptr = &g.a[rowLo*g.rsA+t.pc*g.csA]
		rs, cs, astep = g.rsA, g.csA, mr*g.rsA
	}
	csB := nr
	if g.packB {
		bptr = &t.bp[q*kb*nr]
	} else {
		bptr = &g.b[t.pc*g.rsB+t.jc+q*nr]
		csB = g.rsB
	}
	ci := rowLo*g.ldc + t.jc + q*nr
	im.tiles(kb, aptr, rs, cs, bptr, csB, &g.c[ci], g.ldc, g.alpha, t.beta, nt, astep, 0, mr*g.ldc, nil, 0)
	return nt * mr
}

// hasWork reports whether the epilogue changes anything.
func (ep Epilogue) hasWork() bool {
	return ep.Bias != nil || ep.Act != ActNone || ep.Residual != nil
}

// epilogueCols applies ep to row, the part of an output row whose first
// column is j0 and whose first element is C's element ci (the residual's
// too: its rows lie ldc apart, as C's).
func epilogueCols(row []float32, ep Epilogue, j0, ci int) {
	if ep.Bias != nil {
		add(row, row, ep.Bias[j0:j0+len(row)])
	}
	switch ep.Act {
	case ActReLU:
		relu(row, row)
	case ActGELU:
		gelu(row, row)
	}
	if ep.Residual != nil {
		add(row, row, ep.Residual[ci:ci+len(row)])
	}
}

// mergeTile writes the h×w corner of a scratch tile into C: C = s + beta·C.
func mergeTile(c []float32, ldc int, s []float32, lds, h, w int, beta float32) {
	for r := 0; r < h; r++ {
		cr := c[r*ldc : r*ldc+w]
		sr := s[r*lds : r*lds+w]
		if beta == 0 {
			copy(cr, sr)
			continue
		}
		for j, v := range sr {
			cr[j] = v + beta*cr[j]
		}
	}
}

// packPanel copies a kb×w slab (element (p, j) at x[off + p·sp + j·sj]) into
// dst as kb rows of width nr, dst[p·nr + j], zero-filling columns w..nr-1.
func packPanel(dst, x []float32, off, sp, sj, kb, w, nr int) {
	dst = dst[:kb*nr]
	if w < nr {
		clear(dst)
	}
	switch {
	case sj == 1 && w == nr && (nr == 6 || nr%4 == 0):
		// Full panels (a transposed A, or B as stored): a few moves per
		// row, not a memmove call.
		_ = x[off+(kb-1)*sp+nr-1]
		copyRows(dst, x, off, sp, kb, nr)
	case sj == 1:
		for p := 0; p < kb; p++ {
			copy(dst[p*nr:p*nr+w], x[off+p*sp:off+p*sp+w])
		}
	case sp == 1:
		packTransposed(dst, x, off, sj, kb, w, nr)
	default:
		for p := 0; p < kb; p++ {
			for j := 0; j < w; j++ {
				dst[p*nr+j] = x[off+p*sp+j*sj]
			}
		}
	}
}

// copyRows copies kb rows of nr floats (6 or a multiple of 4), row p from
// x[off+p·sp:], to dst[p·nr:]. The caller has checked that the last row
// lies within x and dst holds kb·nr floats.
func copyRows(dst, x []float32, off, sp, kb, nr int) {
	if kb == 0 {
		return
	}
	_ = dst[kb*nr-1]
	d, s := unsafe.Pointer(&dst[0]), unsafe.Pointer(&x[off])
	for p := 0; p < kb; p++ {
		moveRow(unsafe.Add(d, p*nr*4), unsafe.Add(s, p*sp*4), nr)
	}
}

// moveRow copies nr floats (6 or a multiple of 4) from s to d in 16- and
// 8-byte moves, which the compiler emits inline: a copy of a larger array
// through pointers becomes a call of memmove, slower than the move itself
// for a few floats.
func moveRow(d, s unsafe.Pointer, nr int) {
	if nr == 6 {
		*(*[4]float32)(d) = *(*[4]float32)(s)
		*(*[2]float32)(unsafe.Add(d, 16)) = *(*[2]float32)(unsafe.Add(s, 16))
		return
	}
	for o := 0; o < nr*4; o += 16 {
		*(*[4]float32)(unsafe.Add(d, o)) = *(*[4]float32)(unsafe.Add(s, o))
	}
}

// scatter6 copies n runs of six floats, run q from s+24q to d+q·ps (ps
// in bytes). It is a function of its own so that its few variables stay
// in registers: inside packByRows they spill, and the loop then waits on
// its own stores. Offsets, not advancing pointers, which would end past
// the block (see packTransposed).
//
//go:noinline
func scatter6(d, s unsafe.Pointer, n int, ps uintptr) {
	for q, do, so := 0, uintptr(0), uintptr(0); q < n; q, do, so = q+1, do+ps, so+24 {
		*(*[4]float32)(unsafe.Add(d, do)) = *(*[4]float32)(unsafe.Add(s, so))
		*(*[2]float32)(unsafe.Add(d, do+16)) = *(*[2]float32)(unsafe.Add(s, so+16))
	}
}

// scatter4s is scatter6 for runs of w bytes, a multiple of 16.
//
//go:noinline
func scatter4s(d, s unsafe.Pointer, n int, ps, w uintptr) {
	for q, do, so := 0, uintptr(0), uintptr(0); q < n; q, do, so = q+1, do+ps, so+w {
		for o := uintptr(0); o < w; o += 16 {
			*(*[4]float32)(unsafe.Add(d, do+o)) = *(*[4]float32)(unsafe.Add(s, so+o))
		}
	}
}

// packByRows packs the panels of a kb×mb block whose stored rows run
// across the panels (a transposed A, or B as stored) in one pass over
// those rows: row p of the block, the mb contiguous floats at x[off+p·sp:],
// goes to dst[q·kb·mr + p·mr:][:mr] for each panel q, the last panel
// zero-padded to mr. Packing panel by panel would read kb short pieces sp
// floats apart (often a power of two) per panel: they fall into a few L1
// sets, and the hardware prefetchers stop at every page those strides
// cross, so each piece would come from L2 or L3 on demand.
func packByRows(dst, x []float32, off, sp, kb, mb, mr int) {
	if kb == 0 || mb == 0 {
		return
	}
	np, full := (mb+mr-1)/mr, mb/mr
	_ = dst[np*kb*mr-1]
	_ = x[off+(kb-1)*sp+mb-1] // the last float read
	rest := mb - full*mr
	if rest > 0 {
		clear(dst[full*kb*mr : np*kb*mr])
	}
	d0, s0 := unsafe.Pointer(&dst[0]), unsafe.Pointer(&x[off])
	ps := uintptr(kb * mr * 4) // bytes from one panel to the next
	for p := 0; p < kb; p++ {
		s := unsafe.Add(s0, p*sp*4)
		d := unsafe.Add(d0, p*mr*4)
		switch {
		case mr == 6:
			scatter6(d, s, full, ps)
		case mr%4 == 0:
			scatter4s(d, s, full, ps, uintptr(mr*4))
		default:
			for q := 0; q < full; q++ {
				copy(unsafe.Slice((*float32)(unsafe.Add(d, uintptr(q)*ps)), mr), unsafe.Slice((*float32)(unsafe.Add(s, q*mr*4)), mr))
			}
		}
		if rest > 0 {
			copy(unsafe.Slice((*float32)(unsafe.Add(d, full*kb*mr*4)), rest), unsafe.Slice((*float32)(unsafe.Add(s, full*mr*4)), rest))
		}
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// kernGo1x6 is the portable micro-kernel: one row of A against six columns
// of B, so that the six accumulators, their six products and the A value
// stay in registers. The Go compiler schedules all the products of a k step
// before the additions, so an r-accumulator tile needs about 2r registers
// and amd64 allocates 15: taller or wider tiles (4×4, 4×8) spill to the
// stack inside the loop and run at half the speed.
func kernGo1x6(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32) {
	var c0, c1, c2, c3, c4, c5 float32
	pa, pb := unsafe.Pointer(a), unsafe.Pointer(b)
	sa, sb := uintptr(csA)*4, uintptr(csB)*4
	var oa, ob uintptr
	// Two steps of k per trip halve the loop's bookkeeping; each step's
	// products are added in order, so the sums are those of the plain loop.
	for ; k > 1; k -= 2 {
		a0 := *(*float32)(unsafe.Add(pa, oa))
		bv := (*[6]float32)(unsafe.Add(pb, ob))
		c0 += a0 * bv[0]
		c1 += a0 * bv[1]
		c2 += a0 * bv[2]
		c3 += a0 * bv[3]
		c4 += a0 * bv[4]
		c5 += a0 * bv[5]
		a1 := *(*float32)(unsafe.Add(pa, oa+sa))
		bw := (*[6]float32)(unsafe.Add(pb, ob+sb))
		c0 += a1 * bw[0]
		c1 += a1 * bw[1]
		c2 += a1 * bw[2]
		c3 += a1 * bw[3]
		c4 += a1 * bw[4]
		c5 += a1 * bw[5]
		oa += 2 * sa
		ob += 2 * sb
	}
	if k > 0 {
		a0 := *(*float32)(unsafe.Add(pa, oa))
		bv := (*[6]float32)(unsafe.Add(pb, ob))
		c0 += a0 * bv[0]
		c1 += a0 * bv[1]
		c2 += a0 * bv[2]
		c3 += a0 * bv[3]
		c4 += a0 * bv[4]
		c5 += a0 * bv[5]
	}
	cr := (*[6]float32)(unsafe.Pointer(c))
	if beta == 0 {
		cr[0], cr[1], cr[2], cr[3], cr[4], cr[5] = alpha*c0, alpha*c1, alpha*c2, alpha*c3, alpha*c4, alpha*c5
		return
	}
	cr[0] = alpha*c0 + beta*cr[0]
	cr[1] = alpha*c1 + beta*cr[1]
	cr[2] = alpha*c2 + beta*cr[2]
	cr[3] = alpha*c3 + beta*cr[3]
	cr[4] = alpha*c4 + beta*cr[4]
	cr[5] = alpha*c5 + beta*cr[5]
}

// packTransposed packs w rows of kb contiguous floats (row j at x[off+j·sj])
// as columns: dst[p·nr + j]. Eight rows go at a time (then six, four and
// one), so that each step of p reads up to eight streams and writes one
// run of floats; the bounds are checked once up front, not per element.
// With AVX2 the eight-row groups are transposed by 8×8 blocks in
// registers (transpose8AVX2).
func packTransposed(dst, x []float32, off, sj, kb, w, nr int) {
	if kb == 0 || w == 0 {
		return
	}
	_ = dst[(kb-1)*nr+w-1]
	_ = x[off+(w-1)*sj+kb-1] // the last float read; rows ascend (sj ≥ 0)
	src, pd := unsafe.Pointer(&x[off]), unsafe.Pointer(&dst[0])
	rs, ds := uintptr(sj)*4, uintptr(nr)*4 // row strides of x and dst
	j := 0
	for ; j+8 <= w; j += 8 {
		s0 := unsafe.Add(src, uintptr(j)*rs)
		d0 := unsafe.Add(pd, j*4)
		// Assembly transposes 8×8 blocks; the loop below does the rest.
		for p := transpose8(d0, s0, sj, nr, kb); p < kb; p++ {
			// Addresses are formed from p each time: advancing a pointer
			// after the last element would leave it past the end of its
			// allocation, which the garbage collector may see.
			s := unsafe.Add(s0, p*4)
			d := unsafe.Add(d0, uintptr(p)*ds)
			v0 := *(*float32)(s)
			v1 := *(*float32)(unsafe.Add(s, rs))
			v2 := *(*float32)(unsafe.Add(s, 2*rs))
			v3 := *(*float32)(unsafe.Add(s, 3*rs))
			v4 := *(*float32)(unsafe.Add(s, 4*rs))
			v5 := *(*float32)(unsafe.Add(s, 5*rs))
			v6 := *(*float32)(unsafe.Add(s, 6*rs))
			v7 := *(*float32)(unsafe.Add(s, 7*rs))
			o := (*[8]float32)(d)
			o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = v0, v1, v2, v3, v4, v5, v6, v7
		}
	}
	if j+6 <= w {
		// Six rows: the A panel of the AVX2 kernel, in one pass.
		s0 := unsafe.Add(src, uintptr(j)*rs)
		d0 := unsafe.Add(pd, j*4)
		for p := 0; p < kb; p++ {
			s := unsafe.Add(s0, p*4)
			d := unsafe.Add(d0, uintptr(p)*ds)
			v0 := *(*float32)(s)
			v1 := *(*float32)(unsafe.Add(s, rs))
			v2 := *(*float32)(unsafe.Add(s, 2*rs))
			v3 := *(*float32)(unsafe.Add(s, 3*rs))
			v4 := *(*float32)(unsafe.Add(s, 4*rs))
			v5 := *(*float32)(unsafe.Add(s, 5*rs))
			o := (*[6]float32)(d)
			o[0], o[1], o[2], o[3], o[4], o[5] = v0, v1, v2, v3, v4, v5
		}
		j += 6
	}
	for ; j+4 <= w; j += 4 {
		s0 := unsafe.Add(src, uintptr(j)*rs)
		d0 := unsafe.Add(pd, j*4)
		for p := 0; p < kb; p++ {
			// Addresses are formed from p each time: advancing a pointer
			// after the last element would leave it past the end of its
			// allocation, which the garbage collector may see.
			s := unsafe.Add(s0, p*4)
			d := unsafe.Add(d0, uintptr(p)*ds)
			v0 := *(*float32)(s)
			v1 := *(*float32)(unsafe.Add(s, rs))
			v2 := *(*float32)(unsafe.Add(s, 2*rs))
			v3 := *(*float32)(unsafe.Add(s, 3*rs))
			o := (*[4]float32)(d)
			o[0], o[1], o[2], o[3] = v0, v1, v2, v3
		}
	}
	for ; j < w; j++ {
		src := x[off+j*sj : off+j*sj+kb]
		for p, v := range src {
			dst[p*nr+j] = v
		}
	}
}

// gemv computes the single row C = alpha·a·op(B) + beta·C, where element p
// of a is a[p·inc]. It is the batch-1 path: packing cannot pay for one row.
// With assembly, B in place is read in blocks of columns whose sums stay in
// registers over all of k, and a transposed B four rows at a time.
func gemv(transB bool, n, k int, alpha float32, a []float32, inc int, b []float32, ldb int, beta float32, c []float32) {
	c = c[:n]
	if inc != 1 {
		buf := getBuf(k)
		defer putBuf(buf)
		for p := range buf.s {
			buf.s[p] = a[p*inc]
		}
		a = buf.s
	}
	a = a[:k]
	// finish stores alpha·v + beta·C into c[j].
	finish := func(j int, v float32) {
		v *= alpha
		if beta != 0 {
			v += beta * c[j]
		}
		c[j] = v
	}
	if transB {
		// Each output is the dot product of a with one contiguous row of B.
		out := c
		if alpha != 1 || beta != 0 {
			buf := getBuf(n)
			defer putBuf(buf)
			out = buf.s
		}
		rows, k8 := dotRows(a, b, ldb, out)
		for j := 0; j < rows; j++ {
			v := out[j]
			if k8 < k {
				v += dotPortable(a[k8:], b[j*ldb+k8:j*ldb+k])
			}
			finish(j, v)
		}
		for j := rows; j < n; j++ {
			finish(j, dot(a, b[j*ldb:j*ldb+k]))
		}
		return
	}
	done := 0
	if alpha == 1 && beta == 0 {
		done = gemvCols(a, b, ldb, c)
	} else if n >= 16 {
		buf := getBuf(n)
		defer putBuf(buf)
		done = gemvCols(a, b, ldb, buf.s)
		for j, v := range buf.s[:done] {
			finish(j, v)
		}
	}
	if done == n {
		return
	}
	rest := c[done:]
	if beta == 0 {
		clear(rest)
	} else if beta != 1 {
		scale(beta, rest)
	}
	for p, v := range a {
		if v != 0 {
			axpy(alpha*v, b[p*ldb+done:p*ldb+n], rest)
		}
	}
}
