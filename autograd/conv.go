package autograd

import (
	"fmt"
	"math"
	"sync"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Conv2DOptions configures Conv2D. Zero values select stride 1, no padding,
// dilation 1 and a single group, as in PyTorch's defaults.
type Conv2DOptions struct {
	Stride   [2]int // step between windows, vertical and horizontal (default 1, 1)
	Padding  [2]int // zeros added on each side, vertical and horizontal (default 0, 0)
	Dilation [2]int // spacing between kernel taps (default 1, 1)
	Groups   int    // input and output channels split into this many independent groups (default 1)
	// ReLU applies max(0, ·) to the output in the same pass (as ReLU would
	// after the op, without its extra tensor and passes over memory); the
	// gradient then flows only where the output is positive (or NaN).
	ReLU bool
}

// Conv2D returns the 2-D cross-correlation of x with the filters w plus the
// bias b, in PyTorch's layout: x is [N, C, H, W], w is [outC, C/groups, kh,
// kw], b is [outC] (or nil) and the result is [N, outC, oh, ow] with
// oh = (H + 2·padH − dilH·(kh−1) − 1)/strideH + 1 (and likewise ow).
//
// Each sample is unfolded into a column matrix (im2col) and multiplied by
// the filters in one GEMM per group; samples are spread over the worker
// pool. Under an arena the columns are kept for the backward; otherwise the
// backward unfolds the input again rather than holding them.
func Conv2D(x, w, b *Var, opt Conv2DOptions) *Var {
	g := newConvGeom(x.value.Shape(), w.value.Shape(), opt)
	var ins [3]*Var
	ins[0], ins[1] = x, w
	inputs := ins[:2]
	bd := g.checkBias("Conv2D", b, w)
	if b != nil {
		inputs = ins[:3]
		ins[2] = b
	}
	out := wrap(alloc([]int{g.n, g.oc, g.oh, g.ow}, inputs...), inputs...)
	if !out.requiresGrad {
		g.forward(out.value.Data(), x.value.Data(), w.value.Data(), bd, poolGeom{}, nil, nil)
		return out
	}
	saved := g.savedColumns(out, x, w, b)
	g.forwardTrain(out.value.Data(), x.value.Data(), w.value.Data(), bd, poolGeom{}, nil, saved)
	return recordConv(out, g, x, w, b, saved)
}

// recordConv attaches the backward of Conv2D to out.
func recordConv(out *Var, g convGeom, x, w, b *Var, saved []float32) *Var {
	inputs := []*Var{x, w}
	if b != nil {
		inputs = append(inputs, b)
	}
	xv, wv, yv := x.value, w.value, out.value
	return out.record("Conv2D", func(gy *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(inputs))
		var gx, gw, gb, y []float32
		if x.requiresGrad {
			grads[0] = gradBuf(xv.Shape(), inputs...)
			gx = grads[0].Data()
		}
		if w.requiresGrad {
			grads[1] = zeroGradBuf(wv.Shape(), inputs...)
			gw = grads[1].Data()
		}
		if b != nil && b.requiresGrad {
			grads[2] = zeroGradBuf(b.value.Shape(), inputs...)
			gb = grads[2].Data()
		}
		if g.relu {
			y = yv.Data()
		}
		g.backward(gx, gw, gb, convGrad{gy: gy.Data(), y: y, cols: saved}, xv.Data(), wv.Data())
		return grads
	}, inputs...)
}

// colRowsFor is the number of rows of each group's column matrix: cg·kh·kw,
// plus the row of ones when there is a bias.
func (g *convGeom) colRowsFor(bias bool) int {
	if bias {
		return g.ckk + 1
	}
	return g.ckk
}

// savedColumns returns a buffer for the forward pass to leave every
// sample's column matrices in (groups·colRows·oh·ow values per sample), so
// that the backward need not unfold the input again, or nil. They are kept
// only in training under an arena, which reuses the buffer from step to
// step, only when a weight or bias gradient will read them, and only when
// they are small (savedColumnsMax): larger ones go out to memory and back,
// and unfolding the input again, chunk by chunk in cache, is faster.
func (g *convGeom) savedColumns(out, x, w, b *Var) []float32 {
	if !out.requiresGrad || !(w.requiresGrad || b != nil && b.requiresGrad) {
		return nil
	}
	k := g.colRowsFor(b != nil)
	if g.direct && k == g.ckk || g.n*g.groups*k*g.l > savedColumnsMax {
		return nil // the input is its own column matrix, or they are too large
	}
	inputs := []*Var{x, w}
	if b != nil {
		inputs = append(inputs, b)
	}
	if arenaOf(inputs...) == nil || g.winoTrain() {
		return nil // the Winograd passes make no columns
	}
	return alloc([]int{g.n, g.groups * k * g.l}, inputs...).Data()
}

// savedColumnsMax is the largest number of column values a training step
// keeps for the backward (1 MB). Measured on the Keras convnet at batch
// 128 (0.9 and 4.5 million values), under load on two Zen 4 cores:
// unfolding again in the backward makes the step about 6 % faster than
// keeping them.
const savedColumnsMax = 1 << 18

// checkBias panics unless b is nil or a vector of one value per output
// channel, and returns its data.
func (g *convGeom) checkBias(op string, b, w *Var) []float32 {
	if b == nil {
		return nil
	}
	if b.value.Rank() != 1 || b.value.Dim(0) != g.oc {
		panic(fmt.Sprintf("autograd.%s: bias %v does not match weight %v (want [%d])", op, b.value.Shape(), w.value.Shape(), g.oc))
	}
	return b.value.Data()
}

// convGeom holds the sizes of one convolution.
type convGeom struct {
	n, c, h, w     int // input
	oc, kh, kw     int // filters
	sh, sw         int // stride
	ph, pw         int // padding
	dh, dw         int // dilation
	groups         int
	oh, ow         int // output plane
	cg, ocg        int // input and output channels per group
	ckk            int // rows of one group's column matrix: cg·kh·kw
	l              int // output positions per sample: oh·ow
	inSize, outSz  int // elements per sample of x and y
	direct         bool
	relu           bool // fused ReLU on the output
	colRows, colSz int  // rows and elements of one sample's column matrix
}

func newConvGeom(xs, ws []int, opt Conv2DOptions) convGeom {
	if len(xs) != 4 || len(ws) != 4 {
		panic(fmt.Sprintf("autograd.Conv2D: input %v and weight %v must both be 4-D ([N, C, H, W] and [outC, C/groups, kh, kw])", xs, ws))
	}
	g := convGeom{n: xs[0], c: xs[1], h: xs[2], w: xs[3], oc: ws[0], kh: ws[2], kw: ws[3], groups: opt.Groups, relu: opt.ReLU}
	g.sh, g.sw = def1(opt.Stride[0]), def1(opt.Stride[1])
	g.dh, g.dw = def1(opt.Dilation[0]), def1(opt.Dilation[1])
	g.ph, g.pw = opt.Padding[0], opt.Padding[1]
	if g.groups == 0 {
		g.groups = 1
	}
	if g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 || g.ph < 0 || g.pw < 0 || g.groups < 1 {
		panic(fmt.Sprintf("autograd.Conv2D: invalid options %+v", opt))
	}
	if g.c%g.groups != 0 || g.oc%g.groups != 0 || ws[1]*g.groups != g.c {
		panic(fmt.Sprintf("autograd.Conv2D: input %v and weight %v do not match with %d groups (want weight [outC, C/groups, kh, kw], C and outC divisible by groups)", xs, ws, g.groups))
	}
	g.oh = (g.h+2*g.ph-g.dh*(g.kh-1)-1)/g.sh + 1
	g.ow = (g.w+2*g.pw-g.dw*(g.kw-1)-1)/g.sw + 1
	if g.kh < 1 || g.kw < 1 || g.h+2*g.ph < g.dh*(g.kh-1)+1 || g.w+2*g.pw < g.dw*(g.kw-1)+1 {
		panic(fmt.Sprintf("autograd.Conv2D: kernel %dx%d (dilation %d, %d) does not fit input %v padded by %d, %d", g.kh, g.kw, g.dh, g.dw, xs, g.ph, g.pw))
	}
	g.cg, g.ocg = g.c/g.groups, g.oc/g.groups
	g.ckk = g.cg * g.kh * g.kw
	g.l = g.oh * g.ow
	g.inSize, g.outSz = g.c*g.h*g.w, g.oc*g.l
	g.colRows = g.c * g.kh * g.kw
	g.colSz = g.colRows * g.l
	// A 1×1 kernel with unit stride and no padding needs no unfolding: the
	// input plane is already the column matrix.
	g.direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0
	return g
}

func def1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// validRange returns the half-open range [lo, hi) of output positions o
// whose input position o·stride + off lies in [0, size), clipped to outN.
func validRange(off, outN, size, stride int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if size-1-off >= 0 {
		hi = (size-1-off)/stride + 1
	}
	lo, hi = min(lo, outN), min(hi, outN)
	return lo, max(hi, lo)
}

// im2col unfolds one sample src [C, H, W] into the column matrices of its
// groups: row r of group gi (r < cg·kh·kw) is dst[(gi·rows + r)·l:], so that
// rows ≥ cg·kh·kw of each group (a row of ones for the bias) are left alone.
func (g *convGeom) im2col(dst, src []float32, rows int) { g.im2colLd(dst, src, rows, g.l) }

// im2colLd is im2col into column matrices whose rows are ld values apart
// (ld ≥ oh·ow): row r of group gi is dst[(gi·rows + r)·ld:][:oh·ow]. The
// training passes unfold several samples side by side this way, sample j
// at dst[j·oh·ow:] with ld = samples·oh·ow, so that one GEMM covers them.
func (g *convGeom) im2colLd(dst, src []float32, rows, ld int) {
	hw, l := g.h*g.w, g.l
	_ = dst[(g.groups*rows-1)*ld+l-1]
	if g.sw == 1 && (g.ph > 0 || g.pw > 0) {
		g.im2colPadded(dst, src, rows, ld)
		return
	}
	h, w, oh, ow := g.h, g.w, g.oh, g.ow
	kh, kw, sh, sw, ph, pw, dh, dw := g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw
	for c := 0; c < g.c; c++ {
		plane := src[c*hw : (c+1)*hw]
		gi := c / g.cg
		base := (gi*rows + (c-gi*g.cg)*kh*kw) * ld
		if g.direct {
			copy(dst[base:base+l], plane)
			continue
		}
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				row := dst[base+(ki*kw+kj)*ld : base+(ki*kw+kj)*ld+l]
				off := kj*dw - pw
				lo, hi := validRange(off, ow, w, sw)
				o0 := 0
				if sw == 1 && lo == 0 && hi == ow {
					o0 = copyRowsWide(row, src[c*hw:], ow, oh, w, sh, ki*dh-ph+0, off, h)
				}
				for o := o0; o < oh; o++ {
					seg := row[o*ow : (o+1)*ow]
					ih := o*sh - ph + ki*dh
					if ih < 0 || ih >= h {
						clear(seg)
						continue
					}
					if lo > 0 {
						clear(seg[:lo])
					}
					if hi < ow {
						clear(seg[hi:])
					}
					srow := plane[ih*w+lo*sw+off : ih*w+w]
					seg = seg[lo:hi]
					if sw == 1 {
						copySmall(seg, srow)
						continue
					}
					for i := range seg {
						seg[i] = srow[i*sw]
					}
				}
			}
		}
	}
}

// im2colPadded is im2colLd for a padded input at unit horizontal stride:
// each channel is copied once into a zero-bordered plane, from which every
// segment of every unfolded row is a full-width copy (the fixed-size moves
// of copyRowsWide), where the clipped segments at the border would
// otherwise each take a clear and a short copy.
func (g *convGeom) im2colPadded(dst, src []float32, rows, ld int) {
	hw, l := g.h*g.w, g.l
	hp, wp := g.h+2*g.ph, g.w+2*g.pw
	// 32 values of slack after the plane: copyRowsWide's moves may read
	// past a segment's end.
	pb := getScratch(hp*wp + 32)
	defer scratch.Put(pb)
	xp := *pb
	clear(xp) // the border and the slack stay zero: every channel writes the same interior
	oh, ow, sh := g.oh, g.ow, g.sh
	for c := 0; c < g.c; c++ {
		plane := src[c*hw : (c+1)*hw]
		for i := 0; i < g.h; i++ {
			copy(xp[(i+g.ph)*wp+g.pw:(i+g.ph)*wp+g.pw+g.w], plane[i*g.w:(i+1)*g.w])
		}
		gi := c / g.cg
		base := (gi*rows + (c-gi*g.cg)*g.kh*g.kw) * ld
		for ki := 0; ki < g.kh; ki++ {
			for kj := 0; kj < g.kw; kj++ {
				row := dst[base+(ki*g.kw+kj)*ld : base+(ki*g.kw+kj)*ld+l]
				ih0, off := ki*g.dh, kj*g.dw
				o := copyRowsWide(row, xp, ow, oh, wp, sh, ih0, off, hp)
				for ; o < oh; o++ {
					at := (o*sh+ih0)*wp + off
					copySmall(row[o*ow:(o+1)*ow], xp[at:at+ow])
				}
			}
		}
	}
}

// copyRowsWide copies the leading full-width segments of one unfolded row
// (row = oh segments of ow values; segment o is plane row o·sh + ih0 from
// column off, plane = the channel's h×w plane and what follows it in the
// sample) with fixed-size moves of 16 or 32 values, each spilling into the
// next segment, which is written after it. It returns the first segment it
// left to the caller: the last one (whose spill would leave the row), one
// whose source row lies outside the plane, or one whose fixed-size read
// would run past the end of the sample.
func copyRowsWide(row, plane []float32, ow, oh, w, sh, ih0, off, h int) int {
	if ow < 8 || ow > 32 {
		return 0
	}
	o := 0
	if ow <= 16 {
		for ; o < oh-1; o++ {
			ih := o*sh + ih0
			at := ih*w + off
			if ih < 0 || ih >= h || at+16 > len(plane) {
				break
			}
			move16(row[o*ow:o*ow+16], plane[at:at+16])
		}
		return o
	}
	for ; o < oh-1; o++ {
		ih := o*sh + ih0
		at := ih*w + off
		if ih < 0 || ih >= h || at+32 > len(plane) {
			break
		}
		move16(row[o*ow:o*ow+16], plane[at:at+16])
		move16(row[o*ow+16:o*ow+32], plane[at+16:at+32])
	}
	return o
}

// move16 copies 16 values as four 16-byte moves, which the compiler
// emits inline (a 64-byte array copy is a call to memmove).
func move16(dst, src []float32) {
	dst, src = dst[:16:16], src[:16:16]
	*(*[4]float32)(dst[0:4]) = *(*[4]float32)(src[0:4])
	*(*[4]float32)(dst[4:8]) = *(*[4]float32)(src[4:8])
	*(*[4]float32)(dst[8:12]) = *(*[4]float32)(src[8:12])
	*(*[4]float32)(dst[12:16]) = *(*[4]float32)(src[12:16])
}

// copySmall is copy for the short rows of small images, where moving four
// values at a time beats the call to memmove.
func copySmall(dst, src []float32) {
	n := len(dst)
	if n > 32 {
		copy(dst, src)
		return
	}
	src = src[:n:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		*(*[4]float32)(dst[i : i+4]) = *(*[4]float32)(src[i : i+4])
	}
	for ; i < n; i++ {
		dst[i] = src[i]
	}
}

// col2imLd folds a column matrix src [C·kh·kw, oh·ow], whose rows are ld
// values apart (see im2colLd), back onto one sample dst [C, H, W], adding
// overlapping contributions.
func (g *convGeom) col2imLd(dst, src []float32, ld int) {
	hw, l := g.h*g.w, g.l
	_ = src[(g.colRows-1)*ld+l-1]
	for c := 0; c < g.c; c++ {
		plane := dst[c*hw : (c+1)*hw]
		for ki := 0; ki < g.kh; ki++ {
			for kj := 0; kj < g.kw; kj++ {
				r := (c*g.kh+ki)*g.kw + kj
				row := src[r*ld : r*ld+l]
				off := kj*g.dw - g.pw
				lo, hi := validRange(off, g.ow, g.w, g.sw)
				if lo >= hi {
					continue
				}
				for oh := 0; oh < g.oh; oh++ {
					ih := oh*g.sh - g.ph + ki*g.dh
					if ih < 0 || ih >= g.h {
						continue
					}
					seg := row[oh*g.ow+lo : oh*g.ow+hi]
					drow := plane[ih*g.w : (ih+1)*g.w]
					if g.sw == 1 {
						d := drow[lo+off : hi+off]
						d = d[:len(seg)]
						for i, v := range seg {
							d[i] += v
						}
						continue
					}
					s := g.sw
					for i, v := range seg {
						drow[(lo+i)*s+off] += v
					}
				}
			}
		}
	}
}

// scratch holds reusable column buffers; pooled so that concurrent
// inference on one model shares no mutable state.
var scratch = sync.Pool{New: func() any { return new([]float32) }}

func getScratch(n int) *[]float32 {
	p := scratch.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// forward computes y for every sample, spreading samples over the workers.
// The bias rides in the GEMM: each group's column matrix gets a row of ones
// and the filters a column holding the bias, so that one pass writes the
// output and the fused ReLU runs while it is still in cache.
//
// With a pooling window (pool.kh > 0; Conv2DReLUMaxPool) each sample's
// output is pooled while in cache and y receives the pooled, rectified values; idx (when non-nil)
// the winning offsets. saved, when non-nil, receives every sample's column
// matrices (see savedColumns).
//
// pool travels by value so that an inference call allocates nothing for
// it.
func (g *convGeom) forward(y, x, w, b []float32, pool poolGeom, idx []int32, saved []float32) {
	if saved == nil && g.forwardDirect(y, x, w, b, pool, idx) {
		return
	}
	if saved == nil && g.winograd() {
		g.winoForward(y, x, w, b, pool, idx)
		return
	}
	wa, k, buf := g.biasFilters(w, b)
	if buf != nil {
		defer scratch.Put(buf)
	}
	if g.n == 1 || parallel.Workers() == 1 {
		g.forwardRange(0, g.n, y, x, wa, k, pool, idx, saved)
		return
	}
	gg := *g
	parallel.For(g.n, 1, func(lo, hi int) { gg.forwardRange(lo, hi, y, x, wa, k, pool, idx, saved) })
}

// biasFilters returns the filters w with the bias b appended to each
// output channel's row when b is non-nil (the GEMM then adds the bias
// through a row of ones in the columns), with the row length k; buf, when
// non-nil, is the scratch buffer holding them, for the caller to return.
func (g *convGeom) biasFilters(w, b []float32) (wa []float32, k int, buf *[]float32) {
	if b == nil {
		return w, g.ckk, nil
	}
	k = g.ckk + 1
	buf = getScratch(g.oc * k)
	wa = *buf
	for o := 0; o < g.oc; o++ {
		copy(wa[o*k:o*k+g.ckk], w[o*g.ckk:(o+1)*g.ckk])
		wa[o*k+g.ckk] = b[o]
	}
	return wa, k, buf
}

// columns returns a scratch buffer for the column matrices of one sample
// with rows rows per group; when rows exceeds the unfolded rows, the last
// row of each group is filled with ones (the bias row).
func (g *convGeom) columns(rows int) *[]float32 {
	l := g.l
	buf := getScratch(g.groups * rows * l)
	g.fillOnes(*buf, rows)
	return buf
}

// fillOnes sets the last row of each group's column matrix in cols (rows
// rows per group) to ones when rows exceeds the unfolded rows.
func (g *convGeom) fillOnes(cols []float32, rows int) {
	if rows == g.ckk {
		return
	}
	l := g.l
	for gi := 0; gi < g.groups; gi++ {
		ones := cols[(gi*rows+g.ckk)*l : (gi*rows+rows)*l]
		for i := range ones {
			ones[i] = 1
		}
	}
}

// forwardRange computes samples [lo, hi) with the filters wa, whose rows
// hold k values (the bias last when k exceeds cg·kh·kw).
func (g *convGeom) forwardRange(lo, hi int, y, x, wa []float32, k int, pool poolGeom, idx []int32, saved []float32) {
	l, ocg := g.l, g.ocg
	var pg *poolGeom
	if pool.kh > 0 {
		pg = &pool
	}
	var buf, zb *[]float32
	if saved == nil && (!g.direct || k > g.ckk) {
		buf = g.columns(k)
		defer scratch.Put(buf)
	}
	ySz := g.outSz
	if pg != nil {
		zb = getScratch(g.outSz)
		defer scratch.Put(zb)
		ySz = g.oc * pg.oh * pg.ow
	}
	for s := lo; s < hi; s++ {
		xs := x[s*g.inSize : (s+1)*g.inSize]
		cols := xs
		if buf != nil {
			cols = *buf
			g.im2col(cols, xs, k)
		} else if saved != nil {
			sz := g.groups * k * l
			cols = saved[s*sz : (s+1)*sz]
			g.im2col(cols, xs, k)
			g.fillOnes(cols, k)
		}
		ys := y[s*ySz : (s+1)*ySz]
		zs := ys
		if pg != nil {
			zs = *zb
		}
		for gi := 0; gi < g.groups; gi++ {
			kernel.Gemm(false, false, ocg, l, k, 1,
				wa[gi*ocg*k:], k, cols[gi*k*l:], l, 0, zs[gi*ocg*l:], l)
		}
		if pg != nil {
			// The ReLU after the pooling: max and ReLU commute, and the
			// winner is the same (see Conv2DReLUMaxPool).
			var ids []int32
			if idx != nil {
				ids = idx[s*ySz : (s+1)*ySz]
			}
			if pg.is2x2() {
				pg.maxReLU2x2(0, g.oc, ys, zs, ids)
				continue
			}
			pg.maxRange(0, g.oc, ys, zs, ids)
		}
		if g.relu {
			kernel.Relu(ys, ys)
		}
	}
}

// wgradPlan is the layout of a partial weight (and bias) gradient: per
// group, a rows×ocg matrix (transposed, tr) or an ocg×rows one, where rows
// is cg·kh·kw plus one when the bias gradient is wanted.
type wgradPlan struct {
	rows int
	tr   bool
	size int // elements of a partial; 0 when no weight or bias gradient is wanted
}

// addWeightGrad adds a partial gradient p laid out as wp says onto gw and
// gb (either may be nil).
func (g *convGeom) addWeightGrad(gw, gb, p []float32, wp wgradPlan) {
	ckk, ocg, rows := g.ckk, g.ocg, wp.rows
	for gi := 0; gi < g.groups; gi++ {
		pg := p[gi*rows*ocg : (gi+1)*rows*ocg]
		for o := 0; o < ocg; o++ {
			if gw != nil {
				dst := gw[(gi*ocg+o)*ckk : (gi*ocg+o+1)*ckk]
				if wp.tr {
					for r := range dst {
						dst[r] += pg[r*ocg+o]
					}
				} else {
					for r, v := range pg[o*rows : o*rows+ckk] {
						dst[r] += v
					}
				}
			}
			if gb != nil {
				if wp.tr {
					gb[gi*ocg+o] += pg[ckk*ocg+o]
				} else {
					gb[gi*ocg+o] += pg[o*rows+ckk]
				}
			}
		}
	}
}

// convGrad is where backwardRange reads the gradient of the convolution's
// output: gy itself, gy masked by the fused ReLU's output y, or (pool
// non-nil) the gradient gy of the pooled, rectified output p scattered back
// to the winners idx.
//
// cols, when non-nil, holds every sample's column matrices as the forward
// pass left them (see savedColumns), with a bias row when the op has a
// bias.
type convGrad struct {
	gy, y []float32
	pool  *poolGeom
	p     []float32
	idx   []int32
	cols  []float32
	wt    []float32 // the filters by tap, for the tap GEMMs of the input gradient (see tapWeights)
}

// sample returns the output gradient of sample s, built in buf when it
// needs building.
func (src *convGrad) sample(g *convGeom, s int, buf []float32) []float32 {
	if src.pool == nil {
		gys := src.gy[s*g.outSz : (s+1)*g.outSz]
		if src.y == nil {
			return gys
		}
		reluMask(buf, gys, src.y[s*g.outSz:(s+1)*g.outSz])
		return buf
	}
	pg := src.pool
	sz := g.oc * pg.oh * pg.ow
	buf = buf[:g.outSz]
	pg.reluPoolGrad(buf, src.gy[s*sz:(s+1)*sz], src.p[s*sz:(s+1)*sz], src.idx[s*sz:(s+1)*sz], g.oc)
	return buf
}

// reluMask sets dst to g where the ReLU output y is positive or NaN and to
// 0 where it is zero (ReLU's gradient, read off its output). The select is
// on the bits of y, which is +0, positive or NaN, so that the loop has no
// data-dependent branch.
func reluMask(dst, g, y []float32) {
	g, y = g[:len(dst)], y[:len(dst)]
	for i, v := range y {
		var m uint32
		if math.Float32bits(v) != 0 {
			m = ^uint32(0)
		}
		dst[i] = math.Float32frombits(math.Float32bits(g[i]) & m)
	}
}
