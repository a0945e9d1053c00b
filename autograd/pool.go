package autograd

import (
	"fmt"
	"math"
	"slices"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Pool2DOptions configures MaxPool2D and AvgPool2D. Kernel is required;
// Stride defaults to Kernel, Padding to 0 and Dilation to 1, as in PyTorch.
// Padding may be at most half the kernel size so that every window covers
// at least one input element.
type Pool2DOptions struct {
	Kernel   [2]int // window height and width
	Stride   [2]int // step between windows (default: Kernel)
	Padding  [2]int // implicit padding on each side (default 0, 0)
	Dilation [2]int // spacing between window taps (default 1, 1; MaxPool2D only)
}

// poolGeom holds the sizes of one pooling op.
type poolGeom struct {
	n, c, h, w     int
	kh, kw         int
	sh, sw, ph, pw int
	dh, dw         int
	oh, ow         int
}

func newPoolGeom(op string, xs []int, opt Pool2DOptions) poolGeom {
	if len(xs) != 4 {
		panic(fmt.Sprintf("autograd.%s: input %v is not 4-D [N, C, H, W]", op, slices.Clone(xs)))
	}
	g := poolGeom{n: xs[0], c: xs[1], h: xs[2], w: xs[3], kh: opt.Kernel[0], kw: opt.Kernel[1]}
	g.sh, g.sw = opt.Stride[0], opt.Stride[1]
	if g.sh == 0 {
		g.sh = g.kh
	}
	if g.sw == 0 {
		g.sw = g.kw
	}
	g.ph, g.pw = opt.Padding[0], opt.Padding[1]
	g.dh, g.dw = def1(opt.Dilation[0]), def1(opt.Dilation[1])
	if g.kh < 1 || g.kw < 1 || g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 ||
		g.ph < 0 || g.pw < 0 || 2*g.ph > g.kh || 2*g.pw > g.kw {
		panic(fmt.Sprintf("autograd.%s: invalid options %+v (padding may be at most half the kernel)", op, opt))
	}
	eh, ew := g.dh*(g.kh-1)+1, g.dw*(g.kw-1)+1
	if g.h+2*g.ph < eh || g.w+2*g.pw < ew {
		panic(fmt.Sprintf("autograd.%s: window %dx%d (dilation %d, %d) does not fit input %v padded by %d, %d", op, g.kh, g.kw, g.dh, g.dw, slices.Clone(xs), g.ph, g.pw))
	}
	g.oh = (g.h+2*g.ph-eh)/g.sh + 1
	g.ow = (g.w+2*g.pw-ew)/g.sw + 1
	return g
}

// run pools every plane of x into y (max or average), spread over the
// workers when the work is large. For max pooling, idx (when non-nil)
// receives the winning offsets.
func (g *poolGeom) run(avg bool, y, x []float32, idx []int32) {
	np := g.n * g.c
	work := np * g.oh * g.ow * g.kh * g.kw
	if work < 1<<15 || parallel.Workers() == 1 {
		g.runRange(avg, 0, np, y, x, idx)
		return
	}
	gg := *g
	parallel.For(np, 1, func(lo, hi int) { gg.runRange(avg, lo, hi, y, x, idx) })
}

func (g *poolGeom) runRange(avg bool, lo, hi int, y, x []float32, idx []int32) {
	if avg {
		g.avgRange(lo, hi, y, x)
	} else {
		g.maxRange(lo, hi, y, x, idx)
	}
}

// MaxPool2D returns the maximum over each window of x [N, C, H, W]; padded
// positions never win. A NaN in a window makes its output NaN, as in
// PyTorch. The gradient flows to the first maximal element of each window
// (the first NaN, if any).
func MaxPool2D(x *Var, opt Pool2DOptions) *Var {
	g := newPoolGeom("MaxPool2D", x.value.Shape(), opt)
	out := wrap(alloc([]int{g.n, g.c, g.oh, g.ow}, x), x)
	if !out.requiresGrad {
		g.run(false, out.value.Data(), x.value.Data(), nil)
		return out
	}
	idx := int32Buf(out.value.Size(), x)
	g.run(false, out.value.Data(), x.value.Data(), idx)
	return recordMaxPool(out, g, x, idx)
}

// recordMaxPool attaches the backward of MaxPool2D to out.
func recordMaxPool(out *Var, g poolGeom, x *Var, idx []int32) *Var {
	shape := x.value.Shape()
	plane := g.h * g.w
	oplane := g.oh * g.ow
	h, w, np, fast := g.h, g.w, g.n*g.c, g.is2x2()
	return out.record("MaxPool2D", func(gy *tensor.Tensor) []*tensor.Tensor {
		gx := gradBuf(shape, x)
		gxd, gyd := gx.Data(), gy.Data()
		// Each plane is cleared and scattered into while in cache (the
		// 2×2 kernel writes it whole); large inputs are spread over the
		// workers plane by plane.
		scatter := func(lo, hi int) {
			for p := lo; p < hi; p++ {
				dst := gxd[p*plane : (p+1)*plane]
				src := gyd[p*oplane : (p+1)*oplane]
				ids := idx[p*oplane : (p+1)*oplane]
				if fast {
					kernel.MaxPool2x2Grad(dst, src, ids, nil, h, w)
					continue
				}
				clear(dst)
				for i, v := range src {
					dst[ids[i]] += v
				}
			}
		}
		if np*plane >= 1<<16 && parallel.Workers() > 1 {
			parallel.For(np, 1, scatter)
		} else {
			scatter(0, np)
		}
		return []*tensor.Tensor{gx}
	}, x)
}

// is2x2 reports whether the window is the common 2×2 with stride 2, no
// padding and no dilation.
func (g *poolGeom) is2x2() bool {
	return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1
}

// maxRange pools planes [lo, hi), recording the winning offsets within
// each input plane in idx when it is non-nil.
func (g *poolGeom) maxRange(lo, hi int, y, x []float32, idx []int32) {
	plane, oplane := g.h*g.w, g.oh*g.ow
	fast := g.is2x2()
	for p := lo; p < hi; p++ {
		src := x[p*plane : (p+1)*plane]
		dst := y[p*oplane : (p+1)*oplane]
		var ids []int32
		if idx != nil {
			ids = idx[p*oplane : (p+1)*oplane]
		}
		if fast {
			g.max2x2(dst, src, ids)
		} else {
			g.generalMax(dst, src, ids)
		}
	}
}

// generalMax pools one plane src into dst for any window, recording the
// winning offsets in ids when it is non-nil.
func (g *poolGeom) generalMax(dst, src []float32, ids []int32) {
	negInf := float32(math.Inf(-1))
	for oh := 0; oh < g.oh; oh++ {
		ih0 := oh*g.sh - g.ph
		for ow := 0; ow < g.ow; ow++ {
			iw0 := ow*g.sw - g.pw
			best, bi := negInf, -1
		window:
			for ki := 0; ki < g.kh; ki++ {
				ih := ih0 + ki*g.dh
				if ih < 0 || ih >= g.h {
					continue
				}
				row := src[ih*g.w : (ih+1)*g.w]
				for kj := 0; kj < g.kw; kj++ {
					iw := iw0 + kj*g.dw
					if iw < 0 || iw >= g.w {
						continue
					}
					if v := row[iw]; v > best || bi < 0 || v != v {
						best, bi = v, ih*g.w+iw
						if v != v { // the first NaN wins, as in max2x2
							break window
						}
					}
				}
			}
			o := oh*g.ow + ow
			dst[o] = best
			if ids != nil {
				ids[o] = int32(bi)
			}
		}
	}
}

// max2x2 is the common 2×2, stride-2 case (kernel.MaxPool2x2). Like the
// general path it lets the first maximal element of a window win (a -0
// that comes before a +0 wins), and the first NaN when there is one.
func (g *poolGeom) max2x2(dst, src []float32, ids []int32) {
	kernel.MaxPool2x2(dst, ids, src, g.h, g.w, false)
}

// mask is all ones for true and zero for false.
func mask(b bool) uint32 {
	var m uint32
	if b {
		m = ^uint32(0)
	}
	return m
}

// AvgPool2D returns the mean over each window of x [N, C, H, W]. Padded
// positions count as zeros in the divisor (PyTorch's default
// count_include_pad=True), so every window divides by kh·kw. Dilation is
// not supported.
func AvgPool2D(x *Var, opt Pool2DOptions) *Var {
	if def1(opt.Dilation[0]) != 1 || def1(opt.Dilation[1]) != 1 {
		panic(fmt.Sprintf("autograd.AvgPool2D: dilation %v is not supported", opt.Dilation))
	}
	g := newPoolGeom("AvgPool2D", x.value.Shape(), opt)
	out := wrap(alloc([]int{g.n, g.c, g.oh, g.ow}, x), x)
	g.run(true, out.value.Data(), x.value.Data(), nil)
	if !out.requiresGrad {
		return out
	}
	return recordAvgPool(out, g, x)
}

// recordAvgPool attaches the backward of AvgPool2D to out.
func recordAvgPool(out *Var, g poolGeom, x *Var) *Var {
	shape := x.value.Shape()
	return out.record("AvgPool2D", func(gy *tensor.Tensor) []*tensor.Tensor {
		gx := zeroGradBuf(shape, x)
		g.avgBack(gx.Data(), gy.Data())
		return []*tensor.Tensor{gx}
	}, x)
}

// window returns the in-bounds rows [i0, i1) and columns [j0, j1) of the
// window at output position (oh, ow).
func (g *poolGeom) window(oh, ow int) (i0, i1, j0, j1 int) {
	i0, j0 = oh*g.sh-g.ph, ow*g.sw-g.pw
	i1, j1 = min(i0+g.kh, g.h), min(j0+g.kw, g.w)
	return max(i0, 0), i1, max(j0, 0), j1
}

func (g *poolGeom) avgRange(lo, hi int, y, x []float32) {
	plane, oplane := g.h*g.w, g.oh*g.ow
	inv := 1 / float32(g.kh*g.kw)
	for p := lo; p < hi; p++ {
		src := x[p*plane : (p+1)*plane]
		dst := y[p*oplane : (p+1)*oplane]
		for oh := 0; oh < g.oh; oh++ {
			for ow := 0; ow < g.ow; ow++ {
				i0, i1, j0, j1 := g.window(oh, ow)
				var s float32
				for i := i0; i < i1; i++ {
					for _, v := range src[i*g.w+j0 : i*g.w+j1] {
						s += v
					}
				}
				dst[oh*g.ow+ow] = s * inv
			}
		}
	}
}

func (g *poolGeom) avgBack(gx, gy []float32) {
	plane, oplane := g.h*g.w, g.oh*g.ow
	inv := 1 / float32(g.kh*g.kw)
	for p := 0; p < g.n*g.c; p++ {
		dst := gx[p*plane : (p+1)*plane]
		src := gy[p*oplane : (p+1)*oplane]
		for oh := 0; oh < g.oh; oh++ {
			for ow := 0; ow < g.ow; ow++ {
				i0, i1, j0, j1 := g.window(oh, ow)
				v := src[oh*g.ow+ow] * inv
				for i := i0; i < i1; i++ {
					d := dst[i*g.w+j0 : i*g.w+j1]
					for j := range d {
						d[j] += v
					}
				}
			}
		}
	}
}

// GlobalAvgPool2D returns the mean of each channel plane of x [N, C, H, W]
// as an [N, C] matrix (Keras's GlobalAveragePooling2D; PyTorch's
// AdaptiveAvgPool2d(1) followed by flatten).
func GlobalAvgPool2D(x *Var) *Var {
	xs := x.value.Shape()
	if len(xs) != 4 {
		panic(fmt.Sprintf("autograd.GlobalAvgPool2D: input %v is not 4-D [N, C, H, W]", xs))
	}
	n, c, plane := xs[0], xs[1], xs[2]*xs[3]
	if plane == 0 {
		panic(fmt.Sprintf("autograd.GlobalAvgPool2D: input %v has empty planes", xs))
	}
	out := wrap(alloc([]int{n, c}, x), x)
	yd, xd := out.value.Data(), x.value.Data()
	inv := 1 / float32(plane)
	for p := range yd {
		var s float32
		for _, v := range xd[p*plane : (p+1)*plane] {
			s += v
		}
		yd[p] = s * inv
	}
	if !out.requiresGrad {
		return out
	}
	return recordGlobalAvgPool(out, x, inv)
}

// recordGlobalAvgPool attaches the backward of GlobalAvgPool2D to out.
func recordGlobalAvgPool(out, x *Var, inv float32) *Var {
	xs := x.value.Shape()
	plane := xs[2] * xs[3]
	return out.record("GlobalAvgPool2D", func(gy *tensor.Tensor) []*tensor.Tensor {
		gx := zeroGradBuf(xs, x)
		gxd := gx.Data()
		for p, v := range gy.Data() {
			v *= inv
			d := gxd[p*plane : (p+1)*plane]
			for i := range d {
				d[i] = v
			}
		}
		return []*tensor.Tensor{gx}
	}, x)
}
