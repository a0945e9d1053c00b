package autograd

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// BatchNormReLUMaxPool returns MaxPool2D(ReLU(BatchNorm(x, weight, bias,
// eps))) with 2×2 windows at stride 2 (a last odd row or column left out)
// in one op, with the batch statistics, as a convolution's output is
// normalised, rectified and pooled in a CNN. It also returns the batch
// mean and biased variance per channel, as BatchNorm does. x is
// [N, C, H, W] with H and W at least 2.
//
// The values, the statistics and the pooling winners are those of the
// three ops one after the other (each plane is normalised into a cached
// scratch plane by the same kernel and pooled from there); the normalised
// tensor is never stored. In the backward the pooled gradient reaches only
// the winners whose rectified value is not zero, so BatchNorm's sums of g
// and g·x̂ run over the winners alone, and the input gradient
// a·g + b·(x − μ) + c is written in one pass per plane: b·x + c' everywhere,
// a·g added at the winners. Gradients agree with the separate ops to
// float32 rounding in the sums.
func BatchNormReLUMaxPool(x, weight, bias *Var, eps float32) (y *Var, mean, variance *tensor.Tensor) {
	const op = "BatchNormReLUMaxPool"
	xs := x.value.Shape()
	if len(xs) != 4 || xs[2] < 2 || xs[3] < 2 {
		panic(fmt.Sprintf("autograd.%s: input %v is not [N, C, H, W] with H, W ≥ 2", op, xs))
	}
	n, c, inner := normLayout(op, x, weight, bias)
	if n == 0 {
		panic(fmt.Sprintf("autograd.%s: input %v has no elements per channel", op, xs))
	}
	h, w := xs[2], xs[3]
	oh, ow := h/2, w/2
	oplane := oh * ow
	var ins [3]*Var
	inputs := affineInputs(&ins, x, weight, bias)
	out := wrap(alloc([]int{n, c, oh, ow}, inputs...), inputs...)
	mean, variance = tensor.Zeros(c), tensor.Zeros(c)
	md, vd := mean.Data(), variance.Data()
	invStd := make([]float32, c)
	xd, yd := x.value.Data(), out.value.Data()
	wd, bd := dataOf(weight), dataOf(bias)
	var idx []int32
	var xw []float32
	if out.requiresGrad {
		idx = int32Buf(n*c*oplane, inputs...)
		xw = alloc([]int{n, c, oh, ow}, inputs...).Data()
	}
	forChannels(c, len(xd), func(lo, hi int) {
		scratch := make([]float32, inner)
		for ch := lo; ch < hi; ch++ {
			// One channel at a time, so that its planes are still in
			// cache when they are normalised after the moments.
			batchMoments(md, vd, invStd, xd, n, c, inner, eps, ch, ch+1)
			a, b := bnScaleShift(md, invStd, wd, bd, ch)
			for s0 := range n {
				p := s0*c + ch
				xp := xd[p*inner : (p+1)*inner]
				kernel.ScaleShift(scratch, xp, a, b, true)
				if idx == nil {
					kernel.MaxPool2x2(yd[p*oplane:(p+1)*oplane], nil, scratch, h, w, false)
					continue
				}
				ids := idx[p*oplane : (p+1)*oplane]
				kernel.MaxPool2x2(yd[p*oplane:(p+1)*oplane], ids, scratch, h, w, false)
				for i, j := range ids {
					xw[p*oplane+i] = xp[j]
				}
			}
		}
	})
	if !out.requiresGrad {
		return out, mean, variance
	}
	return recordBatchNormReLUMaxPool(out, inputs, x, weight, bias, md, invStd, idx, xw, n, c, h, w), mean, variance
}

// bnScaleShift returns the scale and shift that normalise channel ch and
// apply its affine weight and bias, as normAffine computes them.
func bnScaleShift(md, invStd, wd, bd []float32, ch int) (a, b float32) {
	a = invStd[ch]
	if wd != nil {
		a *= wd[ch]
	}
	b = -md[ch] * a
	if bd != nil {
		b += bd[ch]
	}
	return a, b
}

// recordBatchNormReLUMaxPool attaches the backward of BatchNormReLUMaxPool.
// xw holds the input's value at each window's winner.
func recordBatchNormReLUMaxPool(out *Var, inputs []*Var, x, weight, bias *Var, md, invStd []float32, idx []int32, xw []float32, n, c, h, w int) *Var {
	saved := append([]*Var(nil), inputs...)
	xv, pv := x.value, out.value
	wd := dataOf(weight)
	inner, oplane := h*w, (h/2)*(w/2)
	return out.record("BatchNormReLUMaxPool", func(gy *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(saved))
		gyd, xd, pd := gy.Data(), xv.Data(), pv.Data()
		sumG := make([]float32, c)  // Σ g per channel, over the passing winners
		sumGX := make([]float32, c) // Σ g·x̂ per channel, likewise
		var gxd []float32
		if x.requiresGrad {
			gx := gradBuf(xv.Shape(), saved...) // every element is written below
			grads[0], gxd = gx, gx.Data()
		}
		m := float32(n * inner)
		forChannels(c, len(xd), func(lo, hi int) {
			masked := make([]float32, oplane)
			for ch := lo; ch < hi; ch++ {
				var sg, sgx float64
				mu, inv := md[ch], invStd[ch]
				for s0 := range n {
					o := (s0*c + ch) * oplane
					s, sx := kernel.ReLUMaskSums(masked, gyd[o:o+oplane], pd[o:o+oplane], xw[o:o+oplane], mu)
					sg += float64(s)
					sgx += float64(sx)
				}
				sumG[ch], sumGX[ch] = float32(sg), float32(sgx*float64(inv))
				if gxd == nil {
					continue
				}
				wt := float32(1)
				if wd != nil {
					wt = wd[ch]
				}
				// As batchInputGrad: a·((g − mg) − (x − mu)·k) = a·g + (b·x + c0),
				// g being the pooled gradient scattered to the passing winners.
				a := wt * inv
				mg, mgx := sumG[ch]/m, sumGX[ch]/m
				kk := inv * mgx
				b := -a * kk
				c0 := a*kk*mu - a*mg
				for s0 := range n {
					p := s0*c + ch
					dx := gxd[p*inner : (p+1)*inner]
					kernel.MaxPool2x2Grad(dx, gyd[p*oplane:(p+1)*oplane], idx[p*oplane:(p+1)*oplane], pd[p*oplane:(p+1)*oplane], h, w)
					kernel.ScaleAdd2(dx, dx, xd[p*inner:(p+1)*inner], a, b, c0)
				}
			}
		})
		affineGrads(grads, weight, bias, sumGX, sumG)
		return grads
	}, saved...)
}
