package autograd

import (
	"sync/atomic"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// The training passes of Conv2D and Conv2DReLUMaxPool work on chunks of
// samples rather than one sample at a time: a chunk's column matrices lie
// side by side (row r of the chunk holds row r of each sample's matrix, one
// after the other; see im2colLd), so that the forward product, the
// weight gradient and the input gradient are each one GEMM per chunk and
// group, with samples·oh·ow columns, instead of one small GEMM per sample.
// The output (and its gradient) of a chunk is laid out alike, [outC,
// samples·oh·ow]: each output plane is still contiguous, so the pooling,
// the ReLU and their gradients run plane by plane as before.

// convChunkFloats is about how many column values one chunk unfolds into
// (256 KB, to stay in a core's L2 cache): a chunk of the Keras convnet's
// first layer (10 rows of 676 columns per sample) holds 9 samples, one of
// its second layer (289 rows of 121) a single sample. On a quiet Zen 4
// core the products of the second layer alone run faster in larger chunks
// (90–100 GFLOP/s with 16 samples per GEMM against 65–85 with one), but
// their columns then leave the cache; on the shared machine, whole
// training steps were about 5 % faster with this size than with 2 MB.
const convChunkFloats = 1 << 16

// convMinChunks is the number of chunks a batch is cut into at least
// (when it has that many samples), so that the workers share them.
const convMinChunks = 4

// chunk returns the number of samples per chunk of the training passes; it
// depends on the geometry alone, so that the forward and the backward cut
// the batch (and lay out the saved columns) alike.
func (g *convGeom) chunk() int {
	per := max(1, convChunkFloats/(g.groups*g.colRowsFor(true)*g.l))
	per = min(per, (g.n+convMinChunks-1)/convMinChunks)
	chunks := (g.n + per - 1) / per
	return (g.n + chunks - 1) / chunks
}

// convGroups is the number of groups of chunks a parallel training pass
// hands out to the workers one at a time: more groups than workers, so
// that a worker slowed by other load on the machine takes fewer, and few
// enough that the partial weight gradients (one per group) stay small.
// The groups depend on the geometry alone, so that the sums, added in
// group order, do not depend on the workers or their scheduling.
const convGroups = 8

// chunkGroups returns the number of groups the chunks of a parallel pass
// form: convGroups, or one per chunk when there are fewer.
func chunkGroups(chunks int) int { return min(chunks, convGroups) }

// groupSpan returns the chunks [c0, c1) of group gi of groups over chunks
// chunks. The groups differ by at most one chunk, so that the workers
// finish together (43 chunks make groups of 5 and 6, where groups of 6
// would leave a last group of one and two workers 24 and 19 chunks).
func groupSpan(gi, groups, chunks int) (c0, c1 int) {
	return gi * chunks / groups, (gi + 1) * chunks / groups
}

// runGroups calls fn for each group in [0, groups) on the workers, which
// take the next group as they finish one.
func runGroups(groups int, fn func(gi int)) {
	var next atomic.Int64
	parallel.For(min(groups, parallel.Workers()), 1, func(int, int) {
		for {
			gi := int(next.Add(1)) - 1
			if gi >= groups {
				return
			}
			fn(gi)
		}
	})
}

// chunkSpan returns the first sample and the number of samples of chunk
// c, per samples per chunk.
func (g *convGeom) chunkSpan(c, per int) (s0, sc int) {
	s0 = c * per
	return s0, min(per, g.n-s0)
}

// fillOnesLd sets the bias row of each group (the last of rows rows, ld
// values long) of a chunk's column matrices to ones, when rows exceeds the
// unfolded rows.
func (g *convGeom) fillOnesLd(cols []float32, rows, ld int) {
	if rows == g.ckk {
		return
	}
	for gi := 0; gi < g.groups; gi++ {
		ones := cols[(gi*rows+g.ckk)*ld : (gi*rows+rows)*ld]
		for i := range ones {
			ones[i] = 1
		}
	}
}

// forwardTrain is forward for a training step: the same outputs (y, idx,
// and saved when non-nil, laid out by chunk), computed chunk by chunk.
// A 3×3 layer on the Winograd training path (winoTrain) takes it, in
// the forward and in backward.
func (g *convGeom) forwardTrain(y, x, w, b []float32, pool poolGeom, idx []int32, saved []float32) {
	if g.winoTrain() {
		g.winoForwardTrain(y, x, w, b, pool, idx)
		return
	}
	if saved == nil && g.forwardDirect(y, x, w, b, pool, idx) {
		return
	}
	wa, k, buf := g.biasFilters(w, b)
	if buf != nil {
		defer scratch.Put(buf)
	}
	per := g.chunk()
	chunks := (g.n + per - 1) / per
	if chunks == 1 || parallel.Workers() == 1 {
		g.forwardChunks(0, chunks, per, y, x, wa, k, pool, idx, saved)
		return
	}
	groups := chunkGroups(chunks)
	gg := *g
	runGroups(groups, func(gi int) {
		c0, c1 := groupSpan(gi, groups, chunks)
		gg.forwardChunks(c0, c1, per, y, x, wa, k, pool, idx, saved)
	})
}

// forwardChunks computes chunks [c0, c1) of per samples with the filters
// wa, whose rows hold k values (the bias last when k exceeds cg·kh·kw).
func (g *convGeom) forwardChunks(c0, c1, per int, y, x, wa []float32, k int, pool poolGeom, idx []int32, saved []float32) {
	l, ocg := g.l, g.ocg
	sz := g.groups * k * l // column values per sample
	var cb *[]float32
	if saved == nil {
		cb = getScratch(per * sz)
		defer scratch.Put(cb)
	}
	zb := getScratch(g.oc * per * l)
	defer scratch.Put(zb)
	ySz := g.outSz
	if pool.kh > 0 {
		ySz = g.oc * pool.oh * pool.ow
	}
	op := pool.oh * pool.ow
	for c := c0; c < c1; c++ {
		s0, sc := g.chunkSpan(c, per)
		ld := sc * l
		var cols []float32
		if saved != nil {
			cols = saved[s0*sz : (s0+sc)*sz]
		} else {
			cols = (*cb)[:sc*sz]
		}
		for j := range sc {
			g.im2colLd(cols[j*l:], x[(s0+j)*g.inSize:(s0+j+1)*g.inSize], k, ld)
		}
		g.fillOnesLd(cols, k, ld)
		z := (*zb)[:g.oc*ld]
		for gi := 0; gi < g.groups; gi++ {
			kernel.Gemm(false, false, ocg, ld, k, 1,
				wa[gi*ocg*k:], k, cols[gi*k*ld:], ld, 0, z[gi*ocg*ld:], ld)
		}
		for j := range sc {
			ys := y[(s0+j)*ySz : (s0+j+1)*ySz]
			for o := 0; o < g.oc; o++ {
				zp := z[o*ld+j*l : o*ld+j*l+l]
				if pool.kh == 0 {
					yp := ys[o*l : (o+1)*l]
					if g.relu {
						kernel.Relu(yp, zp)
					} else {
						copy(yp, zp)
					}
					continue
				}
				// The ReLU after the pooling: max and ReLU commute, and
				// the winner is the same (see Conv2DReLUMaxPool).
				var ids []int32
				if idx != nil {
					ids = idx[(s0+j)*ySz+o*op : (s0+j)*ySz+(o+1)*op]
				}
				yp := ys[o*op : (o+1)*op]
				if pool.is2x2() {
					kernel.MaxPool2x2(yp, ids, zp, pool.h, pool.w, true)
					continue
				}
				pool.maxRange(0, 1, yp, zp, ids)
				kernel.Relu(yp, yp)
			}
		}
	}
}

// backward computes the input gradient gx (when non-nil; overwritten) and
// accumulates the weight gradient gw and bias gradient gb (when non-nil)
// from the output gradient that src gives, chunk by chunk.
//
// Chunks are spread over the workers in groups (see convGroups). Each
// group sums its weight and bias gradients into a partial buffer, and the
// partials are added in group order afterwards, so that results depend
// neither on the number of workers nor on their scheduling.
// The bias gradient comes out of the weight-gradient GEMM as the product
// with a row of ones. The weight-gradient GEMM packs the transposed
// operand; it is oriented so that the smaller of the columns (cg·kh·kw
// rows) and the output gradient (outC/groups rows) is packed, except for
// fewer than 16 unfolded rows.
func (g *convGeom) backward(gx, gw, gb []float32, src convGrad, x, w []float32) {
	if g.winoTrain() { // first: its forward kept the winners in its own layout
		g.winoBackward(gx, gw, gb, &src, x, w)
		return
	}
	if g.poolWgrad(gx, src.pool) {
		g.poolWeightGrad(gw, gb, &src, x)
		return
	}
	if gx == nil && gw == nil && gb == nil {
		return
	}
	// A few unfolded rows (a single input channel) are better as the
	// rows of the product too: the output gradient is then the packed
	// operand, and the product avoids the narrow-output kernel (measured
	// on one Zen 4 core: 37 against 30 GFLOP/s for the Keras convnet's
	// first layer, 10 rows and 32 channels).
	wp := wgradPlan{rows: g.ckk, tr: g.ckk > g.ocg || g.ckk < 16}
	if gb != nil {
		wp.rows++
	}
	if gw != nil || gb != nil {
		wp.size = g.groups * wp.rows * g.ocg
	}
	if gx != nil && g.tapGrad() {
		wb := getScratch(len(w))
		defer scratch.Put(wb)
		g.tapWeights(*wb, w)
		src.wt = *wb
	}
	per := g.chunk()
	chunks := (g.n + per - 1) / per
	groups := chunkGroups(chunks)
	var parts []*[]float32
	if wp.size > 0 {
		parts = make([]*[]float32, groups)
	}
	gg := *g
	runGroups(groups, func(gi int) {
		c0, c1 := groupSpan(gi, groups, chunks)
		var pd []float32
		if parts != nil {
			p := getScratch(wp.size)
			clear(*p)
			parts[gi] = p
			pd = *p
		}
		gg.backwardChunks(c0, c1, per, gx, pd, wp, &src, x, w)
	})
	for _, p := range parts {
		if p != nil {
			g.addWeightGrad(gw, gb, *p, wp)
			scratch.Put(p)
		}
	}
}

// backwardChunks is backward for chunks [c0, c1) of per samples, summing
// the weight (and bias) gradient into part when it is non-nil.
func (g *convGeom) backwardChunks(c0, c1, per int, gx, part []float32, wp wgradPlan, src *convGrad, x, w []float32) {
	ckk, l, ocg, rows := g.ckk, g.l, g.ocg, wp.rows
	var cb, db *[]float32
	if part != nil && src.cols == nil {
		cb = getScratch(per * g.groups * rows * l)
		defer scratch.Put(cb)
	}
	var tb *[]float32
	var wt []float32
	if gx != nil && g.tapGrad() {
		wt = src.wt
		tb = getScratch(g.tapScratch())
		defer scratch.Put(tb)
	} else if gx != nil {
		db = getScratch(per * g.colSz)
		defer scratch.Put(db)
	}
	mb := getScratch(per * g.outSz)
	defer scratch.Put(mb)
	// Saved columns keep the forward's rows per group: one more (the bias
	// row) when the op has a bias, whether or not its gradient is wanted.
	var sz int
	if src.cols != nil {
		sz = len(src.cols) / g.n
	}
	for c := c0; c < c1; c++ {
		s0, sc := g.chunkSpan(c, per)
		ld := sc * l
		dy := (*mb)[:g.oc*ld]
		src.chunk(g, s0, sc, dy, ld)
		if part != nil {
			var cols []float32
			stride := rows * ld // between groups
			if cb != nil {
				cols = (*cb)[:g.groups*rows*ld]
				for j := range sc {
					g.im2colLd(cols[j*l:], x[(s0+j)*g.inSize:(s0+j+1)*g.inSize], rows, ld)
				}
				g.fillOnesLd(cols, rows, ld)
			} else {
				cols, stride = src.cols[s0*sz:(s0+sc)*sz], sz/g.groups*sc
			}
			for gi := 0; gi < g.groups; gi++ {
				cg, gg, p := cols[gi*stride:], dy[gi*ocg*ld:], part[gi*rows*ocg:]
				if wp.tr {
					kernel.Gemm(false, true, rows, ocg, ld, 1, cg, ld, gg, ld, 1, p, ocg)
				} else {
					kernel.Gemm(false, true, ocg, rows, ld, 1, gg, ld, cg, ld, 1, p, rows)
				}
			}
		}
		if wt != nil {
			for j := range sc {
				g.tapInputGrad(gx[(s0+j)*g.inSize:(s0+j+1)*g.inSize], dy[j*l:], ld, wt, *tb)
			}
		} else if gx != nil {
			dcols := (*db)[:g.colRows*ld]
			for gi := 0; gi < g.groups; gi++ {
				kernel.Gemm(true, false, ckk, ld, ocg, 1,
					w[gi*ocg*ckk:], ckk, dy[gi*ocg*ld:], ld, 0, dcols[gi*ckk*ld:], ld)
			}
			for j := range sc {
				gxs := gx[(s0+j)*g.inSize : (s0+j+1)*g.inSize]
				clear(gxs)
				g.col2imLd(gxs, dcols[j*l:], ld)
			}
		}
	}
}

// chunk writes the output gradient of samples [s0, s0+sc) into dst in the
// chunk layout [outC, sc·oh·ow] (rows ld = sc·oh·ow values long).
func (src *convGrad) chunk(g *convGeom, s0, sc int, dst []float32, ld int) {
	l := g.l
	for j := range sc {
		s := s0 + j
		if src.pool == nil {
			gys := src.gy[s*g.outSz : (s+1)*g.outSz]
			for o := 0; o < g.oc; o++ {
				d := dst[o*ld+j*l : o*ld+j*l+l]
				if src.y == nil {
					copy(d, gys[o*l:(o+1)*l])
				} else {
					reluMask(d, gys[o*l:(o+1)*l], src.y[s*g.outSz+o*l:s*g.outSz+(o+1)*l])
				}
			}
			continue
		}
		pg := src.pool
		op := pg.oh * pg.ow
		at := s * g.oc * op
		for o := 0; o < g.oc; o++ {
			d := dst[o*ld+j*l : o*ld+j*l+l]
			pg.reluPoolGrad(d, src.gy[at+o*op:at+(o+1)*op], src.p[at+o*op:at+(o+1)*op], src.idx[at+o*op:at+(o+1)*op], 1)
		}
	}
}

// The input gradient of a unit-stride convolution without the column
// matrix: for each kernel tap (ki, kj), the filters' slice at that tap
// (cg × ocg per group) times the output gradient adds onto the input
// gradient shifted by the tap. Laid out on rows as wide as the (padded)
// input, with zeros in the columns past the output's width, each tap's
// product is one GEMM whose C is the input gradient itself (rows are
// channel planes, ldc the plane size), accumulating with β = 1: the
// multiply-adds of the GEMM replace col2im's scattered additions and the
// column buffer. The zero columns cost (W+2·padW)/ow more multiply-adds
// (1.17× for 11 of 13 columns); a padded input gradient is built in a
// scratch plane and cropped.

// tapGrad reports whether the input gradient takes the tap GEMMs: unit
// stride, and channels enough per group (tapMinChannels) that the
// kh·kw small products run near the GEMM's speed.
func (g *convGeom) tapGrad() bool {
	return g.sh == 1 && g.sw == 1 && g.cg >= tapMinChannels && g.ocg >= tapMinChannels
}

// tapMinChannels is the number of input and output channels per group
// from which the tap GEMMs compute the input gradient.
var tapMinChannels = 16

// tapPlane returns the padded input plane's height and width.
func (g *convGeom) tapPlane() (hp, wp int) { return g.h + 2*g.ph, g.w + 2*g.pw }

// tapCols returns the columns of one tap product: the output rows laid
// out wp wide, the last one only ow long.
func (g *convGeom) tapCols() int {
	_, wp := g.tapPlane()
	return (g.oh-1)*wp + g.ow
}

// tapScratch is the size of a worker's scratch for tapInputGrad: the wide
// output gradient and, when padded, the padded input gradient.
func (g *convGeom) tapScratch() int {
	n := g.oc * g.tapCols()
	if g.ph > 0 || g.pw > 0 {
		hp, wp := g.tapPlane()
		n += g.c * hp * wp
	}
	return n
}

// tapWeights writes w [outC, cg, kh, kw] into wt laid out [kh·kw][groups]
// [cg][ocg]: the transposed filter slice of each tap and group.
func (g *convGeom) tapWeights(wt, w []float32) {
	taps, cg, ocg := g.kh*g.kw, g.cg, g.ocg
	for t := range taps {
		for gi := 0; gi < g.groups; gi++ {
			d := wt[(t*g.groups+gi)*cg*ocg : (t*g.groups+gi+1)*cg*ocg]
			for c := range cg {
				row := d[c*ocg : (c+1)*ocg]
				for o := range row {
					row[o] = w[(gi*ocg+o)*g.ckk+c*taps+t]
				}
			}
		}
	}
}

// tapInputGrad writes the input gradient gxs of one sample (overwritten)
// from its output gradient dy [outC, oh·ow] (rows ld apart) and the tap
// weights wt (see tapWeights), using buf (tapScratch values).
func (g *convGeom) tapInputGrad(gxs, dy []float32, ld int, wt, buf []float32) {
	hp, wp := g.tapPlane()
	nc, l, ow := g.tapCols(), g.l, g.ow
	dyw := buf[:g.oc*nc]
	for o := 0; o < g.oc; o++ {
		src, dst := dy[o*ld:o*ld+l], dyw[o*nc:(o+1)*nc]
		for y := 0; y < g.oh; y++ {
			copy(dst[y*wp:y*wp+ow], src[y*ow:(y+1)*ow])
			if y < g.oh-1 {
				clear(dst[y*wp+ow : (y+1)*wp])
			}
		}
	}
	target, tp := gxs, hp*wp
	padded := g.ph > 0 || g.pw > 0
	if padded {
		target = buf[g.oc*nc : g.oc*nc+g.c*tp]
	}
	clear(target)
	cg, ocg := g.cg, g.ocg
	for ki := 0; ki < g.kh; ki++ {
		for kj := 0; kj < g.kw; kj++ {
			t, off := ki*g.kw+kj, ki*g.dh*wp+kj*g.dw
			for gi := 0; gi < g.groups; gi++ {
				kernel.Gemm(false, false, cg, nc, ocg, 1, wt[(t*g.groups+gi)*cg*ocg:], ocg,
					dyw[gi*ocg*nc:], nc, 1, target[gi*cg*tp+off:], tp)
			}
		}
	}
	if !padded {
		return
	}
	for c := 0; c < g.c; c++ {
		for y := 0; y < g.h; y++ {
			copy(gxs[(c*g.h+y)*g.w:(c*g.h+y+1)*g.w], target[c*tp+(y+g.ph)*wp+g.pw:])
		}
	}
}
