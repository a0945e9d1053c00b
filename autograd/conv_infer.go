package autograd

import (
	"sync"
	"sync/atomic"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// ConvCache keeps the filters of one convolution packed for inference and
// runs the convolution with them: Conv2D and Conv2DReLUMaxPool as the
// package functions compute them, but, for an input in inference mode
// (NoGrad, Arena.Input) and a cacheable weight (Var.SetCacheable,
// nn.PackForInference), as an implicit GEMM that reads the image in place
// for each filter tap instead of unfolding it into columns, with the
// filters packed once rather than on every call. nn.Conv2D and the onnx
// importer keep one per convolution.
//
// The fast path serves ungrouped convolutions with unit stride (any
// padding and dilation) and, for Conv2DReLUMaxPool, 2×2 windows at stride
// 2, there in the Winograd F(2×2, 3×3) form for 3×3 filters over 8 input
// channels or more (conv_wino_infer.go); everything else, every call that may
// record a gradient, and the convolutions for which the package functions
// take their own Winograd form (3×3 over 64 channels and more, many
// tiles; ConvCache's own replaces it under 2×2 pooling unless Direct),
// runs the package functions. Which of these forms runs depends on the
// shape, batch size included, so one sample's output can differ in the
// last bits between batches of different sizes. Its outputs equal theirs
// up to float32 rounding: the same products summed in another order
// (filter tap by tap), or the Winograd transforms' rounding.
//
// The filters are packed again when the weight's Var holds another tensor
// or its version (Var.Version) moved on. The zero value is ready to use;
// a ConvCache is safe for concurrent use and must not be copied after
// first use.
type ConvCache struct {
	// Direct, when set (before first use), keeps the direct form where
	// the Winograd one would apply, so that Conv2DReLUMaxPool's values are
	// those of Conv2D followed by ReLU and MaxPool2D, bit for bit (the onnx
	// importer's fused chains promise it).
	Direct bool

	p atomic.Pointer[convFilters]
}

// Conv2D returns Conv2D(x, w, b, opt), from the packed filters when the
// fast path applies (see ConvCache).
func (cc *ConvCache) Conv2D(x, w, b *Var, opt Conv2DOptions) *Var {
	if cc != nil && x.inference && x.value.Rank() == 4 && w.value.Rank() == 4 {
		g := newConvGeom(x.value.Shape(), w.value.Shape(), opt)
		// Where Conv2D takes its own Winograd form, it is the faster.
		if f := cc.filtersIf(!g.winograd(), x, w, opt); f != nil {
			bd := g.checkBias("Conv2D", b, w)
			var ins [3]*Var
			inputs := convInputs(&ins, x, w, b)
			out := wrap(alloc([]int{g.n, g.oc, g.oh, g.ow}, inputs...), inputs...)
			f.run(&g, out.value.Data(), x.value.Data(), bd, poolGeom{}, false)
			return out
		}
	}
	return Conv2D(x, w, b, opt)
}

// Conv2DReLUMaxPool returns Conv2DReLUMaxPool(x, w, b, opt, pool), from
// the packed filters when the fast path applies (see ConvCache).
func (cc *ConvCache) Conv2DReLUMaxPool(x, w, b *Var, opt Conv2DOptions, pool Pool2DOptions) *Var {
	if cc != nil && x.inference && x.value.Rank() == 4 && w.value.Rank() == 4 {
		opt.ReLU = true
		g := newConvGeom(x.value.Shape(), w.value.Shape(), opt)
		ys := [4]int{g.n, g.oc, g.oh, g.ow}
		pg := newPoolGeom("Conv2DReLUMaxPool", ys[:], pool)
		if f := cc.filtersIf(pg.is2x2() && !(cc.Direct && g.winograd()), x, w, opt); f != nil {
			bd := g.checkBias("Conv2DReLUMaxPool", b, w)
			var ins [3]*Var
			inputs := convInputs(&ins, x, w, b)
			out := wrap(alloc([]int{g.n, g.oc, pg.oh, pg.ow}, inputs...), inputs...)
			f.run(&g, out.value.Data(), x.value.Data(), bd, pg, !cc.Direct)
			return out
		}
	}
	return Conv2DReLUMaxPool(x, w, b, opt, pool)
}

// convInputs returns the inputs of a convolution in ins, without a nil
// bias.
func convInputs(ins *[3]*Var, x, w, b *Var) []*Var {
	ins[0], ins[1], ins[2] = x, w, b
	if b == nil {
		return ins[:2]
	}
	return ins[:3]
}

// filtersIf returns cc.filters(x, w, opt) when ok, and nil otherwise.
func (cc *ConvCache) filtersIf(ok bool, x, w *Var, opt Conv2DOptions) *convFilters {
	if !ok {
		return nil
	}
	return cc.filters(x, w, opt)
}

// filters returns w packed when the fast path applies to x, w and opt,
// and nil otherwise.
func (cc *ConvCache) filters(x, w *Var, opt Conv2DOptions) *convFilters {
	if cc == nil || !x.inference || !w.Cacheable() || x.value.Rank() != 4 || w.value.Rank() != 4 {
		return nil
	}
	if max(opt.Groups, 1) != 1 || def1(opt.Stride[0]) != 1 || def1(opt.Stride[1]) != 1 {
		return nil
	}
	t, v := w.value, w.Version()
	if f := cc.p.Load(); f != nil && f.src == t && f.version == v {
		return f
	}
	f := packConvFilters(t)
	f.version = v
	cc.p.Store(f)
	return f
}

// convFilters is a weight [outC, C, kh, kw] packed for the implicit GEMM,
// in one of two orientations chosen by the number of input channels:
//
//   - channels (C ≥ convChannelRows): the output is computed as
//     [positions, outC], a tile's rows being consecutive positions of one
//     output row read in place from the padded image (one step per input
//     channel, a plane apart), its columns output channels. The filters
//     are packed as the right operand: for each tap (ki, kj) and panel of
//     NR output channels, C rows of NR values. The epilogue transposes
//     back to [outC, oh, ow] while it adds the bias, rectifies and pools.
//   - rows (few channels, the first layer of an image model): the output
//     is computed as [outC, positions] over the padded image's grid (rows
//     Wp apart, the columns past the output's width thrown away), from
//     C·kh·kw shifted copies of the padded image (one long copy each, where
//     im2col makes one per output row), its rows output channels. The
//     filters are packed as the left operand: for each panel of MR output
//     channels, C·kh·kw steps of MR values; the bias comes in the sum.
type convFilters struct {
	src      *tensor.Tensor
	version  uint64
	oc, c    int
	kh, kw   int
	channels bool
	tile     kernel.Tile
	panels   int // panels of output channels: ⌈outC/NR⌉ (channels) or ⌈outC/MR⌉ (rows)
	packed   []float32
	wino     []float32 // 3×3 channels filters transformed for Winograd (conv_wino_infer.go), or nil
}

// convChannelRows is the number of input channels from which the
// convolution runs in the channels orientation: a tap then has enough
// steps to amortise the tile's loads and stores.
const convChannelRows = 8

// convWideRows is a row count large enough for kernel.TileFor to choose
// its tile by the other dimension alone.
const convWideRows = 1 << 12

func packConvFilters(t *tensor.Tensor) *convFilters {
	s := t.Shape()
	f := &convFilters{src: t, oc: s[0], c: s[1], kh: s[2], kw: s[3]}
	w := t.Data()
	ckk, kk := f.c*f.kh*f.kw, f.kh*f.kw
	f.channels = f.c >= convChannelRows
	if f.channels {
		f.tile = kernel.TileFor(convWideRows, f.oc)
		nr := f.tile.NR()
		f.panels = (f.oc + nr - 1) / nr
		f.packed = kernel.AlignedFloats(kk * f.panels * f.c * nr)
		for t := range kk {
			for q := range f.panels {
				dst := f.packed[(t*f.panels+q)*f.c*nr:]
				for p := range f.c {
					row := dst[p*nr : (p+1)*nr]
					for j := range row {
						if o := q*nr + j; o < f.oc {
							row[j] = w[o*ckk+p*kk+t]
						}
					}
				}
			}
		}
		if f.kh == 3 && f.kw == 3 {
			f.wino = packWino(w, f.oc, f.c, nr, f.panels)
		}
		return f
	}
	f.tile = kernel.TileFor(f.oc, convWideRows)
	mr := f.tile.MR()
	f.panels = (f.oc + mr - 1) / mr
	f.packed = kernel.AlignedFloats(f.panels * ckk * mr)
	for i := range f.panels {
		dst := f.packed[i*ckk*mr : (i+1)*ckk*mr]
		for p := range ckk {
			for r := range mr {
				if o := i*mr + r; o < f.oc {
					dst[p*mr+r] = w[o*ckk+p]
				}
			}
		}
	}
	return f
}

// convWork is the scratch of one goroutine's share of a call: the padded
// image, the shifted copies of the rows orientation, the output grid, the
// taps and the padded bias.
type convWork struct {
	xp, cols, y, bias []float32
	sc                []float32 // the Winograd transforms' scratch
	taps              []kernel.Tap
}

var convWorks = sync.Pool{New: func() any { return new(convWork) }}

// grow returns s with n elements, reallocated (and aligned) when short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return kernel.AlignedFloats(n)
	}
	return s[:n]
}

// inferPlan is the layout of one call: the padded image (hp×wp planes of
// xpSize values, slack included) and the output grid.
type inferPlan struct {
	hp, wp, plane int
	xpSize        int
	// channels: output rows of owp positions (⌈ow/MR⌉ panels), ldy = NR
	// × panels. rows: ldy = ⌈n/NR⌉·NR grid columns, n = (oh−1)·wp + ow,
	// mp·MR channel rows.
	owp, ldy, n, ySize int
	colsSize           int // rows: C·kh·kw shifted copies of ldy values
	// tile computes the channels orientation: of the tiles as wide as the
	// packed panels, the one that pads an output row least.
	tile kernel.Tile
}

func (f *convFilters) plan(g *convGeom) inferPlan {
	var p inferPlan
	p.tile = f.tile
	if t := kernel.TileFor(g.ow, f.oc); f.channels && t.NR() == f.tile.NR() {
		p.tile = t
	}
	mr, nr := p.tile.MR(), p.tile.NR()
	p.hp, p.wp = g.h+2*g.ph, g.w+2*g.pw
	p.plane = p.hp * p.wp
	reach := (f.kh-1)*g.dh*p.wp + (f.kw-1)*g.dw // farthest tap from a position
	if f.channels {
		p.owp = (g.ow + mr - 1) / mr * mr
		p.ldy = f.panels * nr
		p.ySize = g.oh * p.owp * p.ldy
		// The last tile's rows reach owp−ow positions past the last.
		p.xpSize = max(f.c*p.plane, (f.c-1)*p.plane+(g.oh-1)*p.wp+p.owp+reach)
		return p
	}
	p.n = (g.oh-1)*p.wp + g.ow
	p.ldy = (p.n + nr - 1) / nr * nr
	p.ySize = f.panels * mr * p.ldy
	p.xpSize = max(f.c*p.plane, (f.c-1)*p.plane+reach+p.ldy)
	p.colsSize = f.c * f.kh * f.kw * p.ldy
	return p
}

// run computes samples of y = conv(x) (+ bias, ReLU and the 2×2 pooling
// when pool.kh > 0, in the Winograd form where it applies when wino is
// set), spreading samples over the workers.
func (f *convFilters) run(g *convGeom, y, x, b []float32, pool poolGeom, wino bool) {
	p := f.plan(g)
	ySz := g.outSz
	if pool.kh > 0 {
		ySz = g.oc * pool.oh * pool.ow
	}
	if g.n == 1 || parallel.Workers() == 1 {
		f.runRange(0, g.n, g, &p, y, x, b, pool, ySz, wino)
		return
	}
	gg, pp := *g, p
	parallel.For(g.n, 1, func(lo, hi int) { f.runRange(lo, hi, &gg, &pp, y, x, b, pool, ySz, wino) })
}

func (f *convFilters) runRange(lo, hi int, g *convGeom, p *inferPlan, y, x, b []float32, pool poolGeom, ySz int, wino bool) {
	wk := convWorks.Get().(*convWork)
	defer convWorks.Put(wk)
	wk.xp = grow(wk.xp, p.xpSize)
	wk.y = grow(wk.y, p.ySize)
	f.setTaps(wk, g, p)
	if !f.channels {
		mr := f.tile.MR()
		wk.cols = grow(wk.cols, p.colsSize)
		wk.bias = grow(wk.bias, f.panels*mr)
		clear(wk.bias)
		copy(wk.bias, b)
	}
	var wp winoPlan
	wino = wino && winoInfer && f.wino != nil && pool.kh > 0 && g.dh == 1 && g.dw == 1
	if wino {
		wp = f.winoPlan(g, &pool)
		wk.cols = grow(wk.cols, wp.vSize)
		wk.y = grow(wk.y, wp.mSize)
		wk.sc = grow(wk.sc, max(8*(wp.tilesAcross+1), 8*g.oc))
	}
	for s := lo; s < hi; s++ {
		f.pad(wk.xp, x[s*g.inSize:(s+1)*g.inSize], g, p)
		ys := y[s*ySz : (s+1)*ySz]
		if wino {
			f.winoInput(wk.cols, wk.xp, wk.sc, p, &wp)
			f.winoProducts(wk.y, wk.cols, &wp)
			f.winoOutput(ys, wk.y, b, wk.sc, g.oc, &wp)
			continue
		}
		if f.channels {
			f.sumChannels(wk, g, p)
			f.epilogueChannels(ys, wk.y, b, g, p, pool)
		} else {
			f.sumRows(wk, g, p, b != nil)
			f.epilogueRows(ys, wk.y, g, p, pool)
		}
	}
}

// setTaps lists the taps of one tile relative to its first operand
// values.
func (f *convFilters) setTaps(wk *convWork, g *convGeom, p *inferPlan) {
	wk.taps = wk.taps[:0]
	if f.channels {
		nr := f.tile.NR()
		for ki := range f.kh {
			for kj := range f.kw {
				t := ki*f.kw + kj
				wk.taps = append(wk.taps, kernel.Tap{A: ki*g.dh*p.wp + kj*g.dw, B: t * f.panels * f.c * nr, K: f.c})
			}
		}
		return
	}
	wk.taps = append(wk.taps, kernel.Tap{K: f.c * f.kh * f.kw})
}

// pad copies the sample xs [C, H, W] into the zero-padded planes of xp.
func (f *convFilters) pad(xp, xs []float32, g *convGeom, p *inferPlan) {
	if g.ph == 0 && g.pw == 0 {
		copy(xp, xs)
		clear(xp[len(xs):])
		return
	}
	clear(xp)
	for c := range g.c {
		for i := range g.h {
			copy(xp[c*p.plane+(i+g.ph)*p.wp+g.pw:], xs[(c*g.h+i)*g.w:(c*g.h+i+1)*g.w])
		}
	}
}

// sumChannels computes the [oh·owp, ldy] output grid of the channels
// orientation.
func (f *convFilters) sumChannels(wk *convWork, g *convGeom, p *inferPlan) {
	t := p.tile
	mr, nr := t.MR(), t.NR()
	for oy := range g.oh {
		for ox := 0; ox < g.ow; ox += mr {
			a := wk.xp[oy*p.wp+ox:]
			for q := range f.panels {
				c := wk.y[(oy*p.owp+ox)*p.ldy+q*nr:]
				t.SumTaps(wk.taps, a, 1, p.plane, f.packed[q*f.c*nr:], nr, nil, c, p.ldy)
			}
		}
	}
}

// sumRows computes the [mp·MR, ldy] output grid of the rows orientation,
// the bias included, from the shifted copies of the padded image.
func (f *convFilters) sumRows(wk *convWork, g *convGeom, p *inferPlan, bias bool) {
	t := f.tile
	mr, nr := t.MR(), t.NR()
	cols := wk.cols
	for c := range f.c {
		for ki := range f.kh {
			for kj := range f.kw {
				r := (c*f.kh+ki)*f.kw + kj
				off := c*p.plane + ki*g.dh*p.wp + kj*g.dw
				copy(cols[r*p.ldy:(r+1)*p.ldy], wk.xp[off:])
			}
		}
	}
	for i := range f.panels {
		a := f.packed[i*f.c*f.kh*f.kw*mr:]
		var bs []float32
		if bias {
			bs = wk.bias[i*mr : (i+1)*mr]
		}
		for j := 0; j < p.n; j += nr {
			t.SumTaps(wk.taps, a, 1, mr, cols[j:], p.ldy, bs, wk.y[i*mr*p.ldy+j:], p.ldy)
		}
	}
}

// epilogueRows writes the sample's output from the rows grid: each
// channel's plane, rectified when g.relu, or pooled 2×2 and rectified.
func (f *convFilters) epilogueRows(ys, grid []float32, g *convGeom, p *inferPlan, pool poolGeom) {
	if pool.kh > 0 {
		op := pool.oh * pool.ow
		for o := range g.oc {
			kernel.MaxPool2x2Rows(ys[o*op:(o+1)*op], grid[o*p.ldy:], g.oh, g.ow, p.wp, true)
		}
		return
	}
	for o := range g.oc {
		for oy := range g.oh {
			dst := ys[(o*g.oh+oy)*g.ow : (o*g.oh+oy+1)*g.ow]
			copy(dst, grid[o*p.ldy+oy*p.wp:])
			if g.relu {
				kernel.Relu(dst, dst)
			}
		}
	}
}

// epilogueChannels writes the sample's output [outC, ...] from the
// channels grid [positions, outC]: it transposes while it adds the bias
// and rectifies (g.relu), or pools each 2×2 window, adds the bias and
// rectifies. Adding the bias after the window's maximum gives the
// maximum of the biased values (rounding is monotonic); a window holding
// a NaN gives NaN, as in the pooling kernels. The maxima are taken
// without branches (the builtin max), which data-dependent comparisons
// would mispredict.
func (f *convFilters) epilogueChannels(ys, grid, b []float32, g *convGeom, p *inferPlan, pool poolGeom) {
	ldy, oc := p.ldy, g.oc
	if pool.kh > 0 {
		// Channel by channel, so that the output is written in order
		// (the grid, read across, stays in cache).
		op := pool.oh * pool.ow
		for o := range oc {
			dst := ys[o*op : (o+1)*op]
			var bo float32
			if b != nil {
				bo = b[o]
			}
			for py := range pool.oh {
				i0 := (2*py*p.owp)*ldy + o
				i2 := i0 + p.owp*ldy
				d := dst[py*pool.ow : (py+1)*pool.ow]
				for px := range d {
					k := 2 * px * ldy
					m := max(grid[i0+k], grid[i0+k+ldy], grid[i2+k], grid[i2+k+ldy])
					m = max(m+bo, 0)
					d[px] = m
				}
			}
		}
		return
	}
	l := g.l
	for oy := range g.oh {
		for ox := range g.ow {
			row := grid[(oy*p.owp+ox)*ldy:][:oc]
			dst := ys[oy*g.ow+ox:]
			switch {
			case b != nil && g.relu:
				for o, v := range row {
					dst[o*l] = max(v+b[o], 0)
				}
			case b != nil:
				for o, v := range row {
					dst[o*l] = v + b[o]
				}
			case g.relu:
				for o, v := range row {
					dst[o*l] = max(v, 0)
				}
			default:
				for o, v := range row {
					dst[o*l] = v
				}
			}
		}
	}
}
