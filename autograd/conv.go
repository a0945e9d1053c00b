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
// pool. The backward recomputes the columns rather than keeping them.
func Conv2D(x, w, b *Var, opt Conv2DOptions) *Var {
	g := newConvGeom(x.value.Shape(), w.value.Shape(), opt)
	var ins [3]*Var
	ins[0], ins[1] = x, w
	inputs := ins[:2]
	var bd []float32
	if b != nil {
		if b.value.Rank() != 1 || b.value.Dim(0) != g.oc {
			panic(fmt.Sprintf("autograd.Conv2D: bias %v does not match weight %v (want [%d])", b.value.Shape(), w.value.Shape(), g.oc))
		}
		inputs = ins[:3]
		ins[2] = b
		bd = b.value.Data()
	}
	out := wrap(alloc([]int{g.n, g.oc, g.oh, g.ow}, inputs...), inputs...)
	g.forward(out.value.Data(), x.value.Data(), w.value.Data(), bd)
	if !out.requiresGrad {
		return out
	}
	return recordConv(out, g, x, w, b)
}

// recordConv attaches the backward of Conv2D to out.
func recordConv(out *Var, g convGeom, x, w, b *Var) *Var {
	inputs := []*Var{x, w}
	if b != nil {
		inputs = append(inputs, b)
	}
	xv, wv, yv := x.value, w.value, out.value
	return out.record("Conv2D", func(gy *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(inputs))
		if g.relu {
			m := gradBuf(gy.Shape(), inputs...)
			reluMask(m.Data(), gy.Data(), yv.Data())
			gy = m
		}
		var gx, gw []float32
		if x.requiresGrad {
			grads[0] = zeroGradBuf(xv.Shape(), inputs...)
			gx = grads[0].Data()
		}
		if w.requiresGrad {
			grads[1] = zeroGradBuf(wv.Shape(), inputs...)
			gw = grads[1].Data()
		}
		if gx != nil || gw != nil {
			g.backward(gx, gw, gy.Data(), xv.Data(), wv.Data())
		}
		if b != nil && b.requiresGrad {
			grads[2] = zeroGradBuf(b.value.Shape(), inputs...)
			g.biasGrad(grads[2].Data(), gy.Data())
		}
		return grads
	}, inputs...)
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

// im2col unfolds one sample src [C, H, W] into dst [C·kh·kw, oh·ow].
func (g *convGeom) im2col(dst, src []float32) {
	hw, l := g.h*g.w, g.l
	_ = dst[g.colSz-1]
	for c := 0; c < g.c; c++ {
		plane := src[c*hw : (c+1)*hw]
		for ki := 0; ki < g.kh; ki++ {
			for kj := 0; kj < g.kw; kj++ {
				r := (c*g.kh+ki)*g.kw + kj
				row := dst[r*l : (r+1)*l]
				off := kj*g.dw - g.pw
				lo, hi := validRange(off, g.ow, g.w, g.sw)
				for oh := 0; oh < g.oh; oh++ {
					seg := row[oh*g.ow : (oh+1)*g.ow]
					ih := oh*g.sh - g.ph + ki*g.dh
					if ih < 0 || ih >= g.h {
						clear(seg)
						continue
					}
					clear(seg[:lo])
					clear(seg[hi:])
					srow := plane[ih*g.w : (ih+1)*g.w]
					if g.sw == 1 {
						copy(seg[lo:hi], srow[lo+off:hi+off])
						continue
					}
					s := g.sw
					for ow := lo; ow < hi; ow++ {
						seg[ow] = srow[ow*s+off]
					}
				}
			}
		}
	}
}

// col2im folds a column matrix src [C·kh·kw, oh·ow] back onto one sample
// dst [C, H, W], adding overlapping contributions.
func (g *convGeom) col2im(dst, src []float32) {
	hw, l := g.h*g.w, g.l
	_ = src[g.colSz-1]
	for c := 0; c < g.c; c++ {
		plane := dst[c*hw : (c+1)*hw]
		for ki := 0; ki < g.kh; ki++ {
			for kj := 0; kj < g.kw; kj++ {
				r := (c*g.kh+ki)*g.kw + kj
				row := src[r*l : (r+1)*l]
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
func (g *convGeom) forward(y, x, w, b []float32) {
	if g.n == 1 || parallel.Workers() == 1 {
		g.forwardRange(0, g.n, y, x, w, b)
		return
	}
	gg := *g
	parallel.For(g.n, 1, func(lo, hi int) { gg.forwardRange(lo, hi, y, x, w, b) })
}

func (g *convGeom) forwardRange(lo, hi int, y, x, w, b []float32) {
	var buf *[]float32
	if !g.direct {
		buf = getScratch(g.colSz)
		defer scratch.Put(buf)
	}
	ckk, l, ocg := g.ckk, g.l, g.ocg
	for s := lo; s < hi; s++ {
		xs := x[s*g.inSize : (s+1)*g.inSize]
		cols := xs
		if !g.direct {
			cols = *buf
			g.im2col(cols, xs)
		}
		ys := y[s*g.outSz : (s+1)*g.outSz]
		for gi := 0; gi < g.groups; gi++ {
			kernel.Gemm(false, false, ocg, l, ckk, 1,
				w[gi*ocg*ckk:], ckk, cols[gi*ckk*l:], l, 0, ys[gi*ocg*l:], l)
		}
		for o, bv := range b {
			if bv == 0 {
				continue
			}
			row := ys[o*l : (o+1)*l]
			for i := range row {
				row[i] += bv
			}
		}
		if g.relu {
			kernel.Relu(ys, ys)
		}
	}
}

// backward accumulates the input gradient gx (when non-nil) and the weight
// gradient gw (when non-nil) from the output gradient gy.
func (g *convGeom) backward(gx, gw, gy, x, w []float32) {
	if g.n == 1 || parallel.Workers() == 1 {
		g.backwardRange(0, g.n, gx, gw, gy, x, w)
		return
	}
	// Each chunk of samples accumulates its own weight gradient; the
	// partial sums are added in a fixed order afterwards so that results
	// do not depend on scheduling.
	// The partial sums come from the scratch pool and go back to it.
	var parts []*[]float32
	if gw != nil {
		parts = make([]*[]float32, g.n)
	}
	gg := *g
	parallel.For(g.n, 1, func(lo, hi int) {
		pw := gw
		if gw != nil && lo > 0 {
			p := getScratch(len(gw))
			clear(*p)
			parts[lo] = p
			pw = *p
		}
		gg.backwardRange(lo, hi, gx, pw, gy, x, w)
	})
	for _, p := range parts {
		if p != nil {
			kernel.Axpy(1, *p, gw)
			scratch.Put(p)
		}
	}
}

func (g *convGeom) backwardRange(lo, hi int, gx, gw, gy, x, w []float32) {
	var cb, db *[]float32
	if gw != nil && !g.direct {
		cb = getScratch(g.colSz)
		defer scratch.Put(cb)
	}
	if gx != nil && !g.direct {
		db = getScratch(g.colSz)
		defer scratch.Put(db)
	}
	ckk, l, ocg := g.ckk, g.l, g.ocg
	for s := lo; s < hi; s++ {
		gys := gy[s*g.outSz : (s+1)*g.outSz]
		if gw != nil {
			xs := x[s*g.inSize : (s+1)*g.inSize]
			cols := xs
			if !g.direct {
				cols = *cb
				g.im2col(cols, xs)
			}
			for gi := 0; gi < g.groups; gi++ {
				kernel.Gemm(false, true, ocg, ckk, l, 1,
					gys[gi*ocg*l:], l, cols[gi*ckk*l:], l, 1, gw[gi*ocg*ckk:], ckk)
			}
		}
		if gx != nil {
			gxs := gx[s*g.inSize : (s+1)*g.inSize]
			if g.direct {
				for gi := 0; gi < g.groups; gi++ {
					kernel.Gemm(true, false, ckk, l, ocg, 1,
						w[gi*ocg*ckk:], ckk, gys[gi*ocg*l:], l, 0, gxs[gi*ckk*l:], l)
				}
				continue
			}
			dcols := *db
			for gi := 0; gi < g.groups; gi++ {
				kernel.Gemm(true, false, ckk, l, ocg, 1,
					w[gi*ocg*ckk:], ckk, gys[gi*ocg*l:], l, 0, dcols[gi*ckk*l:], l)
			}
			g.col2im(gxs, dcols)
		}
	}
}

// biasGrad sums the output gradient over samples and positions per channel.
func (g *convGeom) biasGrad(gb, gy []float32) {
	l := g.l
	for s := 0; s < g.n; s++ {
		ys := gy[s*g.outSz : (s+1)*g.outSz]
		for o := range gb {
			gb[o] += kernel.Sum(ys[o*l : (o+1)*l])
		}
	}
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
