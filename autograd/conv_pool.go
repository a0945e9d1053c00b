package autograd

import (
	"math"
	"unsafe"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Conv2DReLUMaxPool returns MaxPool2D(ReLU(Conv2D(x, w, b, opt)), pool) in
// one op (opt.ReLU is implied): each sample's convolution output is pooled
// while it is in cache and is never stored, and the backward rebuilds that
// sample's gradient from the pooled one. Values and gradients are those of
// the three ops one after the other, bit for bit: ReLU is monotonic, so
// rectifying the window maxima gives the maxima of the rectified values,
// the first maximal element of a window wins in both orders whenever the
// window's maximum is positive (or NaN), and a window whose maximum is not
// positive passes no gradient either way.
func Conv2DReLUMaxPool(x, w, b *Var, opt Conv2DOptions, pool Pool2DOptions) *Var {
	opt.ReLU = true
	g := newConvGeom(x.value.Shape(), w.value.Shape(), opt)
	ys := [4]int{g.n, g.oc, g.oh, g.ow}
	pg := newPoolGeom("Conv2DReLUMaxPool", ys[:], pool)
	var ins [3]*Var
	ins[0], ins[1] = x, w
	inputs := ins[:2]
	bd := g.checkBias("Conv2DReLUMaxPool", b, w)
	if b != nil {
		inputs = ins[:3]
		ins[2] = b
	}
	out := wrap(alloc([]int{g.n, g.oc, pg.oh, pg.ow}, inputs...), inputs...)
	if !out.requiresGrad {
		g.forward(out.value.Data(), x.value.Data(), w.value.Data(), bd, pg, nil, nil)
		return out
	}
	idx := int32Buf(out.value.Size(), inputs...)
	saved := g.savedColumns(out, x, w, b)
	g.forward(out.value.Data(), x.value.Data(), w.value.Data(), bd, pg, idx, saved)
	return recordConvPool(out, g, pg, idx, x, w, b, saved)
}

// recordConvPool attaches the backward of Conv2DReLUMaxPool to out.
func recordConvPool(out *Var, g convGeom, pg poolGeom, idx []int32, x, w, b *Var, saved []float32) *Var {
	inputs := []*Var{x, w}
	if b != nil {
		inputs = append(inputs, b)
	}
	xv, wv, pv := x.value, w.value, out.value
	return out.record("Conv2DReLUMaxPool", func(gp *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(inputs))
		var gx, gw, gb []float32
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
		src := convGrad{gy: gp.Data(), pool: &pg, p: pv.Data(), idx: idx, cols: saved}
		g.backward(gx, gw, gb, src, xv.Data(), wv.Data())
		return grads
	}, inputs...)
}

// maxReLU2x2 pools the planes [lo, hi) of x into y for Conv2DReLUMaxPool's
// common window, 2×2 with stride 2: y = max(window maximum, 0), and idx
// (when non-nil) receives each window's winner. Only windows whose maximum
// is positive or NaN pass a gradient, so the winner needs to be exact for
// those alone: the first element with the maximum's bits (a positive
// maximum has one bit pattern), or the first NaN.
func (g *poolGeom) maxReLU2x2(lo, hi int, y, x []float32, idx []int32) {
	plane, oplane, w := g.h*g.w, g.oh*g.ow, g.w
	for p := lo; p < hi; p++ {
		src := x[p*plane : (p+1)*plane]
		dst := y[p*oplane : (p+1)*oplane]
		for oh := 0; oh < g.oh; oh++ {
			base := 2 * oh * w
			d := dst[oh*g.ow : (oh+1)*g.ow]
			if len(d) == 0 {
				continue
			}
			// r0 and r1 hold the window pairs of the two rows: pair ow is
			// (r0[ow][0], r0[ow][1]) over (r1[ow][0], r1[ow][1]).
			r0 := unsafe.Slice((*[2]float32)(src[base:base+2*len(d)]), len(d))
			r1 := unsafe.Slice((*[2]float32)(src[base+w:base+w+2*len(d)]), len(d))
			if idx == nil {
				for ow, v := range d {
					a, b := r0[ow], r1[ow]
					v = max(max(a[0], a[1]), max(b[0], b[1]))
					d[ow] = max(v, 0) // -0 and negatives become +0; NaN stays
				}
				continue
			}
			id := idx[p*oplane+oh*g.ow : p*oplane+(oh+1)*g.ow]
			id = id[:len(d)]
			for ow := range d {
				a, b := r0[ow], r1[ow]
				m := max(max(a[0], a[1]), max(b[0], b[1]))
				k := 3
				if m != m {
					k = int(firstNaN([4]float32{a[0], a[1], b[0], b[1]}))
				} else {
					mb := math.Float32bits(m)
					if math.Float32bits(b[0]) == mb {
						k = 2
					}
					if math.Float32bits(a[1]) == mb {
						k = 1
					}
					if math.Float32bits(a[0]) == mb {
						k = 0
					}
				}
				d[ow] = max(m, 0)
				id[ow] = int32(base + 2*ow + k&1 + k>>1*w)
			}
		}
	}
}
