package autograd

import (
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
	pg := newPoolGeom("Conv2DReLUMaxPool", []int{g.n, g.oc, g.oh, g.ow}, pool)
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
		g.forward(out.value.Data(), x.value.Data(), w.value.Data(), bd, &pg, nil)
		return out
	}
	idx := int32Buf(out.value.Size(), inputs...)
	g.forward(out.value.Data(), x.value.Data(), w.value.Data(), bd, &pg, idx)
	return recordConvPool(out, g, pg, idx, x, w, b)
}

// recordConvPool attaches the backward of Conv2DReLUMaxPool to out.
func recordConvPool(out *Var, g convGeom, pg poolGeom, idx []int32, x, w, b *Var) *Var {
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
		src := convGrad{gy: gp.Data(), pool: &pg, p: pv.Data(), idx: idx}
		g.backward(gx, gw, gb, src, xv.Data(), wv.Data())
		return grads
	}, inputs...)
}
