package autograd

import (
	"math"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Conv2DBatchNormReLUMaxPool returns
// MaxPool2D(ReLU(BatchNorm(Conv2D(x, w, b, opt), gamma, beta, eps))) with
// the batch statistics and 2×2 windows at stride 2, and the batch mean and
// biased variance per channel, as a CNN's first block computes them in
// training. b, gamma and beta may be nil.
//
// For a first layer (an input that needs no gradient, with one channel,
// 3×3 filters at unit stride and dilation) the convolution's output is
// never formed for the statistics: with P the 9 taps under an output
// position, m their mean and C their covariance over the batch (from one
// 9×9 Gram matrix: each sample's sums in float32 about its own mean,
// moved back and added in float64), channel c
// has mean w_c·m + b_c and variance w_c·C·w_cᵀ. The normalisation then
// folds into the filters, and the block runs as Conv2DReLUMaxPool with
// the filters γ_c·w_c/σ_c and bias β_c − γ_c·w_c·m/σ_c. In the backward
// the normalised output's gradient g reaches only the pooling winners, so
//
//	∂L/∂w_c = a·(Σ_win g·P − Σ_win g·m − Σ_win g·x̂·(C·w_c)/σ_c),  a = γ_c/σ_c
//
// with ∂L/∂γ_c = Σ_win g·x̂ = w_c·(Σ_win g·P − Σ_win g·m)/σ_c and
// ∂L/∂β_c = Σ_win g, all from ten sums per channel over the winners
// (kernel.PoolTapGrad3x3); the bias's gradient is zero up to rounding, as
// BatchNorm removes it. Values and gradients equal the separate ops' up
// to float32 rounding (a pooling window whose two largest values differ
// by a rounding may pick the other winner). Other layers run as Conv2D
// followed by BatchNormReLUMaxPool.
func Conv2DBatchNormReLUMaxPool(x, w, b, gamma, beta *Var, opt Conv2DOptions, eps float32) (y *Var, mean, variance *tensor.Tensor) {
	if !gramFits(x, w, opt) {
		return BatchNormReLUMaxPool(Conv2D(x, w, b, opt), gamma, beta, eps)
	}
	const op = "Conv2DBatchNormReLUMaxPool"
	xs, ws := x.value.Shape(), w.value.Shape()
	n, h, wd, oc := xs[0], xs[2], xs[3], ws[0]
	ph, pw := opt.Padding[0], opt.Padding[1]
	hp, wp := h+2*ph, wd+2*pw // the padded input
	g := newConvGeom([]int{n, 1, hp, wp}, ws, Conv2DOptions{ReLU: true})
	bd := g.checkBias(op, b, w)
	// The batch normalisation's parameters, checked as BatchNorm does.
	normLayout(op, Constant(tensor.Zeros(1, oc)), gamma, beta)
	pool := newPoolGeom(op, []int{n, oc, g.oh, g.ow}, Pool2DOptions{Kernel: [2]int{2, 2}})

	// The input about its mean k, padded with −k: each output position's
	// taps are then P − k.
	var k float64
	for s := range n {
		k += float64(kernel.Sum(x.value.Data()[s*h*wd : (s+1)*h*wd]))
	}
	k /= float64(n * h * wd)
	k32 := float32(k)
	inputs := []*Var{x, w}
	for _, v := range []*Var{b, gamma, beta} {
		if v != nil {
			inputs = append(inputs, v)
		}
	}
	xp := alloc([]int{n, hp, wp}, inputs...).Data() // the backward reads it too
	padShifted(xp, x.value.Data(), n, h, wd, ph, pw, k32)

	m := float64(n * g.oh * g.ow)
	var mom gramMoments
	mom.sum(xp, n, hp, wp, g.oh, g.ow)
	var mbar [9]float64
	var cov [9][9]float64
	for t := range 9 {
		mbar[t] = mom.s[t] / m
	}
	for t := range 9 {
		for u := range 9 {
			cov[t][u] = mom.q[t][u]/m - mbar[t]*mbar[u]
		}
	}

	mean, variance = tensor.Zeros(oc), tensor.Zeros(oc)
	md, vd := mean.Data(), variance.Data()
	st := make([]gramChannel, oc)
	wf := make([]float32, oc*9) // the folded filters
	bf := make([]float32, oc)   // and bias
	wdata, gd, betad := w.value.Data(), dataOf(gamma), dataOf(beta)
	for c := range oc {
		s := &st[c]
		var wc [9]float64
		var wsum float64
		for t := range 9 {
			wc[t] = float64(wdata[c*9+t])
			wsum += wc[t]
		}
		var bc float64
		if bd != nil {
			bc = float64(bd[c])
		}
		var wm, va float64 // w·m and w·C·wᵀ
		for t := range 9 {
			wm += wc[t] * mbar[t]
			var cw float64
			for u := range 9 {
				cw += cov[t][u] * wc[u]
			}
			s.cw[t] = cw
			va += wc[t] * cw
		}
		va = max(va, 0)
		s.wm = wm
		s.inv = 1 / math.Sqrt(va+float64(eps))
		s.gamma = 1
		if gd != nil {
			s.gamma = float64(gd[c])
		}
		var bt float64
		if betad != nil {
			bt = float64(betad[c])
		}
		md[c] = float32(wm + bc + k*wsum)
		vd[c] = float32(va)
		a := s.gamma * s.inv
		for t := range 9 {
			wf[c*9+t] = float32(a * wc[t])
		}
		bf[c] = float32(bt - a*wm)
	}

	out := wrap(alloc([]int{n, oc, pool.oh, pool.ow}, inputs...), inputs...)
	if !out.requiresGrad {
		g.forwardTrain(out.value.Data(), xp, wf, bf, pool, nil, nil)
		return out, mean, variance
	}
	idx := int32Buf(out.value.Size(), inputs...)
	g.forwardTrain(out.value.Data(), xp, wf, bf, pool, idx, nil)
	gr := gramGrad{g: g, pool: pool, st: st, mbar: mbar, m: m, xp: xp, idx: idx}
	return gr.record(out, op, w, b, gamma, beta, inputs), mean, variance
}

// gramFits reports whether Conv2DBatchNormReLUMaxPool takes its Gram-matrix
// path: an input without gradient, one input channel, 3×3 filters at unit
// stride and dilation, no groups, an output of at least 2×2.
func gramFits(x, w *Var, opt Conv2DOptions) bool {
	xs, ws := x.value.Shape(), w.value.Shape()
	if x.requiresGrad || len(xs) != 4 || len(ws) != 4 || xs[1] != 1 || ws[1] != 1 || ws[2] != 3 || ws[3] != 3 || opt.ReLU {
		return false
	}
	if def1(opt.Stride[0]) != 1 || def1(opt.Stride[1]) != 1 || def1(opt.Dilation[0]) != 1 || def1(opt.Dilation[1]) != 1 || opt.Groups > 1 {
		return false
	}
	ph, pw := opt.Padding[0], opt.Padding[1]
	return ph >= 0 && pw >= 0 && xs[0] > 0 && xs[2] > 0 && xs[3] > 0 && xs[2]+2*ph >= 4 && xs[3]+2*pw >= 4
}

// padShifted writes into xp the n h×w planes of x less k, padded by ph
// rows and pw columns of −k on each side.
func padShifted(xp, x []float32, n, h, w, ph, pw int, k float32) {
	hp, wp := h+2*ph, w+2*pw
	for s := range n {
		dst := xp[s*hp*wp : (s+1)*hp*wp]
		for i := range dst {
			dst[i] = -k
		}
		for r := range h {
			kernel.ScaleShift(dst[(r+ph)*wp+pw:(r+ph)*wp+pw+w], x[(s*h+r)*w:(s*h+r+1)*w], 1, -k, false)
		}
	}
}

// gramMoments holds Σ P and Σ P·Pᵀ over the output positions of the
// batch, P the 9 taps under a position.
type gramMoments struct {
	s [9]float64
	q [9][9]float64
}

// sum adds the moments of the n padded hp×wp planes xp for an oh×ow
// output. Each sample's sums are taken in float32 (vectorised dot
// products over its tap rows) about the sample's mean, moved back and
// added in float64; the samples are cut
// into groups that depend on n alone and the groups' sums are added in
// order, so the result does not depend on the number of workers.
func (mo *gramMoments) sum(xp []float32, n, hp, wp, oh, ow int) {
	groups := chunkGroups(n)
	parts := make([]gramMoments, groups)
	l := oh * ow
	run := func(gi int) {
		cb := getScratch(9 * l)
		defer scratch.Put(cb)
		rows := *cb
		part := &parts[gi]
		s0, s1 := groupSpan(gi, groups, n)
		lf := float64(l)
		var st [9]float64
		for s := s0; s < s1; s++ {
			plane := xp[s*hp*wp : (s+1)*hp*wp]
			// The float32 sums are taken about the sample's own mean c,
			// so that samples of different brightness do not cancel in
			// float32; the shift by c is undone in float64.
			c := kernel.Sum(plane) / float32(len(plane))
			cf := float64(c)
			for t := range 9 {
				ki, kj := t/3, t%3
				row := rows[t*l : (t+1)*l]
				for r := range oh {
					kernel.ScaleShift(row[r*ow:(r+1)*ow], plane[(r+ki)*wp+kj:(r+ki)*wp+kj+ow], 1, -c, false)
				}
				st[t] = float64(kernel.Sum(row))
				part.s[t] += st[t] + lf*cf
			}
			for t := range 9 {
				for u := t; u < 9; u++ {
					d := float64(kernel.Dot(rows[t*l:(t+1)*l], rows[u*l:(u+1)*l]))
					part.q[t][u] += d + cf*(st[t]+st[u]) + lf*cf*cf
				}
			}
		}
	}
	if groups == 1 || parallel.Workers() == 1 || n*l < 1<<14 {
		for gi := range groups {
			run(gi)
		}
	} else {
		runGroups(groups, run)
	}
	for gi := range parts {
		for t := range 9 {
			mo.s[t] += parts[gi].s[t]
			for u := t; u < 9; u++ {
				mo.q[t][u] += parts[gi].q[t][u]
			}
		}
	}
	for t := range 9 {
		for u := range t {
			mo.q[t][u] = mo.q[u][t]
		}
	}
}

// gramChannel is what the backward keeps of a channel: C·w_c, w_c·m, 1/σ
// and γ.
type gramChannel struct {
	cw             [9]float64
	wm, inv, gamma float64
}

// gramGrad is the state of Conv2DBatchNormReLUMaxPool's backward.
type gramGrad struct {
	g    convGeom
	pool poolGeom
	st   []gramChannel
	mbar [9]float64
	m    float64
	xp   []float32 // the shifted, padded input
	idx  []int32   // the winners, offsets in the convolution's output planes
}

// record attaches the backward to out.
func (gr *gramGrad) record(out *Var, op string, w, b, gamma, beta *Var, inputs []*Var) *Var {
	pv := out.value
	return out.record(op, func(gp *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(inputs))
		g, pool := &gr.g, &gr.pool
		n, oc := g.n, g.oc
		op := pool.oh * pool.ow
		plane := g.h * g.w
		gpd, pd := gp.Data(), pv.Data()
		gw := make([]float32, oc*9)
		gb := make([]float32, oc) // zero: see below
		gg := make([]float32, oc)
		gbeta := make([]float32, oc)
		forChannels(oc, n*oc*plane, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				// Σ g·(P − k) over the winners, then Σ g.
				var sums [10]float64
				for s := range n {
					var acc [10]float32
					at := (s*oc + c) * op
					kernel.PoolTapGrad3x3(acc[:], gr.xp[s*plane:(s+1)*plane], gpd[at:at+op], pd[at:at+op], gr.idx[at:at+op], pool.oh, pool.ow, g.ow, g.w)
					for t, v := range acc {
						sums[t] += float64(v)
					}
				}
				st := &gr.st[c]
				sg := sums[9]
				var wG float64 // w·Σ g·(P − k)
				wdat := w.value.Data()[c*9 : c*9+9]
				for t := range 9 {
					wG += float64(wdat[t]) * sums[t]
				}
				sgx := (wG - st.wm*sg) * st.inv // Σ g·x̂
				// The taps' gradient Σ ∂L/∂z·P = Σ ∂L/∂z·(P − k), since
				// Σ ∂L/∂z, the bias's gradient, is zero: BatchNorm
				// removes any bias.
				a := st.gamma * st.inv
				for t := range 9 {
					gw[c*9+t] = float32(a * (sums[t] - sg*gr.mbar[t] - sgx*st.inv*st.cw[t]))
				}
				gg[c], gbeta[c] = float32(sgx), float32(sg)
			}
		})
		k := 1
		if w.requiresGrad {
			grads[k] = tensor.New(gw, oc, 1, 3, 3)
		}
		k++
		for _, pr := range []struct {
			v *Var
			d []float32
		}{{b, gb}, {gamma, gg}, {beta, gbeta}} {
			if pr.v == nil {
				continue
			}
			if pr.v.requiresGrad {
				grads[k] = tensor.New(pr.d, oc)
			}
			k++
		}
		return grads
	}, inputs...)
}
