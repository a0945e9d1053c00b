package autograd

import (
	"math"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"

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
	var saved []float32
	if x.requiresGrad || !g.poolWgradGeom() {
		saved = g.savedColumns(out, x, w, b) // the winners' sums need no columns
	}
	g.forwardTrain(out.value.Data(), x.value.Data(), w.value.Data(), bd, pg, idx, saved)
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
// those alone (see kernel.MaxPool2x2).
func (g *poolGeom) maxReLU2x2(lo, hi int, y, x []float32, idx []int32) {
	plane, oplane := g.h*g.w, g.oh*g.ow
	for p := lo; p < hi; p++ {
		var ids []int32
		if idx != nil {
			ids = idx[p*oplane : (p+1)*oplane]
		}
		kernel.MaxPool2x2(y[p*oplane:(p+1)*oplane], ids, x[p*plane:(p+1)*plane], g.h, g.w, true)
	}
}

// reluPoolGrad writes into buf the gradient of the c planes that
// Conv2DReLUMaxPool pooled into p, with winners idx, from their pooled
// gradient gp. Only windows whose rectified maximum is positive (or NaN)
// pass a gradient.
func (g *poolGeom) reluPoolGrad(buf, gp, p []float32, idx []int32, c int) {
	plane, op := g.h*g.w, g.oh*g.ow
	if g.is2x2() {
		for ch := range c {
			kernel.MaxPool2x2Grad(buf[ch*plane:(ch+1)*plane], gp[ch*op:(ch+1)*op], idx[ch*op:(ch+1)*op], p[ch*op:(ch+1)*op], g.h, g.w)
		}
		return
	}
	clear(buf[:c*plane])
	for ch := range c {
		d := buf[ch*plane : (ch+1)*plane]
		for j := ch * op; j < (ch+1)*op; j++ {
			// The select is on bits, without a branch.
			m := mask(math.Float32bits(p[j]) != 0)
			d[idx[j]] += math.Float32frombits(math.Float32bits(gp[j]) & m)
		}
	}
}

// directConv lets forwardDirect run; tests turn it off to compare with the
// GEMM path.
var directConv = true

// forwardDirect computes the forward of Conv2DReLUMaxPool for a layer of
// one input channel, 3×3 filters (stride 1, no padding or dilation) and
// 2×2 pooling with kernel.Conv3x3ReLUPool2x2: each output channel is nine
// multiply-adds per pixel over shifted rows of the input, pooled as it is
// formed, and the convolution plane is never stored. Values and winners
// are those of the GEMM path (the same fused multiply-adds in the same
// order, the bias last). It reports false, doing nothing, when the layer
// or the machine has no such kernel.
func (g *convGeom) forwardDirect(y, x, w, b []float32, pool poolGeom, idx []int32) bool {
	if !directConv || g.c != 1 || g.groups != 1 || g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1 ||
		g.ph != 0 || g.pw != 0 || g.dh != 1 || g.dw != 1 || !g.relu || g.n == 0 ||
		pool.kh == 0 || !pool.is2x2() {
		return false
	}
	op := g.oc * pool.oh * pool.ow
	bias := b
	if bias == nil {
		zb := getScratch(g.oc)
		defer scratch.Put(zb)
		clear(*zb)
		bias = *zb
	}
	if !g.directRange(0, 1, op, y, x, w, bias, idx) {
		return false
	}
	if g.n > 1 && parallel.Workers() == 1 {
		g.directRange(1, g.n, op, y, x, w, bias, idx)
	} else if g.n > 1 {
		gg := *g
		parallel.For(g.n-1, 1, func(lo, hi int) { gg.directRange(lo+1, hi+1, op, y, x, w, bias, idx) })
	}
	return true
}

// directRange runs kernel.Conv3x3ReLUPool2x2 on samples [lo, hi) for
// forwardDirect, op pooled values per sample, reporting false when the
// kernel does not fit.
func (g *convGeom) directRange(lo, hi, op int, y, x, w, b []float32, idx []int32) bool {
	eo := getScratch(kernel.Conv3x3PoolScratch(g.h, g.w))
	defer scratch.Put(eo)
	for s := lo; s < hi; s++ {
		var ids []int32
		if idx != nil {
			ids = idx[s*op : (s+1)*op]
		}
		if !kernel.Conv3x3ReLUPool2x2(y[s*op:(s+1)*op], ids, x[s*g.inSize:(s+1)*g.inSize], g.h, g.w, w, b, *eo) {
			return false
		}
	}
	return true
}
