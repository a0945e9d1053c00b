package autograd

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// normLayout splits a BatchNorm input [N, C, ...] into its batch, channel
// and per-channel inner sizes, and checks the affine parameters.
func normLayout(op string, x, weight, bias *Var) (n, c, inner int) {
	xs := x.value.Shape()
	if len(xs) < 2 {
		panic(fmt.Sprintf("autograd.%s: input %v needs at least two axes [N, C, ...]", op, xs))
	}
	n, c, inner = xs[0], xs[1], 1
	for _, d := range xs[2:] {
		inner *= d
	}
	for _, p := range []*Var{weight, bias} {
		if p != nil && (p.value.Rank() != 1 || p.value.Dim(0) != c) {
			panic(fmt.Sprintf("autograd.%s: parameter %v does not match input %v (want [%d])", op, p.value.Shape(), xs, c))
		}
	}
	return n, c, inner
}

// lnChunkRows is the number of rows whose weight and bias gradients
// LayerNorm's backward sums into one partial.
const lnChunkRows = 64

// layerNormParallel is the size (rows × features) from which LayerNorm
// spreads its rows over the worker pool.
const layerNormParallel = 1 << 15

// rowChunks returns how many chunks of rows a layer norm over rows×d
// values is split into: one per worker for large inputs, else one.
func rowChunks(rows, d int) int {
	w := parallel.Workers()
	if rows*d < layerNormParallel || w < 2 || rows < 2 {
		return 1
	}
	return min(w, rows)
}

// layerNormRows normalises rows [r0, r1) of x (d values each) into y,
// scaling by w and shifting by b when present, and records each row's
// mean and inverse deviation when mean is not nil: one fused row kernel
// (kernel.LayerNormRow: the mean, the variance of x − μ in a second pass,
// as PyTorch, then the normalised, scaled and shifted row).
func layerNormRows(x, y, w, b, mean, invStd []float32, d int, eps float32, r0, r1 int) {
	for r := r0; r < r1; r++ {
		mu, inv := kernel.LayerNormRow(y[r*d:(r+1)*d], x[r*d:(r+1)*d], w, b, eps)
		if mean != nil {
			mean[r], invStd[r] = mu, inv
		}
	}
}

// affineInputs lists x with the non-nil affine parameters.
func affineInputs(ins *[3]*Var, x, weight, bias *Var) []*Var {
	ins[0] = x
	k := 1
	if weight != nil {
		ins[k] = weight
		k++
	}
	if bias != nil {
		ins[k] = bias
		k++
	}
	return ins[:k]
}

func dataOf(v *Var) []float32 {
	if v == nil {
		return nil
	}
	return v.value.Data()
}

// BatchNorm normalises x [N, C, ...] per channel with the statistics of
// the batch (training mode), then scales by weight and shifts by bias (both
// [C], either may be nil): y = (x − mean)/√(var + eps)·weight + bias. It
// also returns the batch mean and the biased batch variance per channel,
// from which a layer updates its running estimates.
func BatchNorm(x, weight, bias *Var, eps float32) (y *Var, mean, variance *tensor.Tensor) {
	return batchNorm("BatchNorm", x, weight, bias, eps, false)
}

// BatchNormReLU returns ReLU(BatchNorm(x, weight, bias, eps)) in one op,
// with the batch statistics: values and gradients are those of the two
// ops one after the other (up to float32 rounding in the gradient's
// sums), without the ReLU's tensor and its passes over memory in the
// forward and the backward.
func BatchNormReLU(x, weight, bias *Var, eps float32) (y *Var, mean, variance *tensor.Tensor) {
	return batchNorm("BatchNormReLU", x, weight, bias, eps, true)
}

// batchNorm is BatchNorm, followed by a ReLU when relu is set.
func batchNorm(op string, x, weight, bias *Var, eps float32, relu bool) (y *Var, mean, variance *tensor.Tensor) {
	n, c, inner := normLayout(op, x, weight, bias)
	m := n * inner
	if m == 0 {
		panic(fmt.Sprintf("autograd.%s: input %v has no elements per channel", op, x.value.Shape()))
	}
	var ins [3]*Var
	inputs := affineInputs(&ins, x, weight, bias)
	out := wrap(alloc(x.value.Shape(), inputs...), inputs...)
	mean, variance = tensor.Zeros(c), tensor.Zeros(c)
	md, vd := mean.Data(), variance.Data()
	invStd := make([]float32, c)
	xd, yd := x.value.Data(), out.value.Data()
	wd, bd := dataOf(weight), dataOf(bias)
	forChannels(c, len(xd), func(lo, hi int) {
		batchMoments(md, vd, invStd, xd, n, c, inner, eps, lo, hi)
		normAffine(yd, xd, md, invStd, wd, bd, relu, n, c, inner, lo, hi)
	})
	if !out.requiresGrad {
		return out, mean, variance
	}
	var relued []float32
	if relu {
		relued = yd
	}
	return recordBatchNorm(op, out, inputs, x, weight, bias, md, invStd, true, relued, n, c, inner), mean, variance
}

// BatchNormWithStats normalises x [N, C, ...] per channel with the given
// statistics (evaluation mode: a layer's running mean and variance), then
// applies weight and bias as BatchNorm does. The statistics are constants:
// no gradient flows into them.
func BatchNormWithStats(x, weight, bias *Var, mean, variance *tensor.Tensor, eps float32) *Var {
	n, c, inner := normLayout("BatchNormWithStats", x, weight, bias)
	if mean.Size() != c || variance.Size() != c {
		panic(fmt.Sprintf("autograd.BatchNormWithStats: statistics %v and %v do not match input %v (want [%d])", mean.Shape(), variance.Shape(), x.value.Shape(), c))
	}
	var ins [3]*Var
	inputs := affineInputs(&ins, x, weight, bias)
	out := wrap(alloc(x.value.Shape(), inputs...), inputs...)
	xd, yd := x.value.Data(), out.value.Data()
	wd, bd := dataOf(weight), dataOf(bias)
	md, vd := mean.Data(), variance.Data()
	// Fold the statistics and the affine map into one scale and shift per
	// channel. Without an arena this is the only scratch; it is private to
	// the call, so concurrent evaluation is safe.
	var stack [64]float32
	var sc, sh []float32
	if 2*c <= len(stack) {
		sc, sh = stack[:c], stack[c:2*c]
	} else {
		sc, sh = make([]float32, c), make([]float32, c)
	}
	for ch := 0; ch < c; ch++ {
		inv := float32(1 / math.Sqrt(float64(vd[ch])+float64(eps)))
		w := float32(1)
		if wd != nil {
			w = wd[ch]
		}
		var b float32
		if bd != nil {
			b = bd[ch]
		}
		sc[ch] = inv * w
		sh[ch] = b - md[ch]*inv*w
	}
	for s0 := 0; s0 < n; s0++ {
		for ch := 0; ch < c; ch++ {
			o := (s0*c + ch) * inner
			a, b := sc[ch], sh[ch]
			dst := yd[o : o+inner]
			for i, v := range xd[o : o+inner] {
				dst[i] = v*a + b
			}
		}
	}
	if !out.requiresGrad {
		return out
	}
	invStd := make([]float32, c)
	for ch := range invStd {
		invStd[ch] = float32(1 / math.Sqrt(float64(vd[ch])+float64(eps)))
	}
	return recordBatchNorm("BatchNorm", out, inputs, x, weight, bias, append([]float32(nil), md...), invStd, false, nil, n, c, inner)
}

// normAffine writes y = (x − mean)·invStd·w + b for channels [lo, hi);
// with relu, max(that, 0) instead: NaN stays NaN, and a non-positive value
// (−0 too) gives +0, as ReLU after it.
func normAffine(yd, xd, md, invStd, wd, bd []float32, relu bool, n, c, inner, lo, hi int) {
	for s0 := 0; s0 < n; s0++ {
		for ch := lo; ch < hi; ch++ {
			o := (s0*c + ch) * inner
			a := invStd[ch]
			if wd != nil {
				a *= wd[ch]
			}
			b := -md[ch] * a
			if bd != nil {
				b += bd[ch]
			}
			kernel.ScaleShift(yd[o:o+inner], xd[o:o+inner], a, b, relu)
		}
	}
}

// affineGrads stores a BatchNorm's weight and bias gradients, Σ g·x̂ and
// Σ g per channel, in grads after the input's slot: the weight's at 1
// when it is given, the bias's next, each only if it needs a gradient.
func affineGrads(grads []*tensor.Tensor, weight, bias *Var, sumGX, sumG []float32) {
	k := 1
	if weight != nil {
		if weight.requiresGrad {
			grads[k] = tensor.New(sumGX, len(sumGX))
		}
		k++
	}
	if bias != nil && bias.requiresGrad {
		grads[k] = tensor.New(sumG, len(sumG))
	}
}

// recordBatchNorm attaches the backward of BatchNorm (batch statistics,
// which depend on x) or BatchNormWithStats (constant statistics); with
// relued (the output of BatchNormReLU) the output's gradient passes only
// where relued is positive or NaN.
func recordBatchNorm(op string, out *Var, inputs []*Var, x, weight, bias *Var, md, invStd []float32, batchStats bool, relued []float32, n, c, inner int) *Var {
	saved := append([]*Var(nil), inputs...)
	xv := x.value
	var wd []float32
	if weight != nil {
		wd = weight.value.Data()
	}
	return out.record(op, func(gy *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(saved))
		gyd, xd := gy.Data(), xv.Data()
		sumG := make([]float32, c)  // Σ g per channel
		sumGX := make([]float32, c) // Σ g·x̂ per channel
		var gx *tensor.Tensor
		if relued != nil {
			// The rectified gradient is written where the input gradient
			// goes (every element), and read from there.
			gx = gradBuf(xv.Shape(), saved...)
			gxd := gx.Data()
			forChannels(c, len(xd), func(lo, hi int) {
				batchGradSumsReLU(sumG, sumGX, gxd, gyd, relued, xd, md, invStd, n, c, inner, lo, hi)
			})
			gyd = gxd
		} else {
			forChannels(c, len(xd), func(lo, hi int) {
				batchGradSums(sumG, sumGX, gyd, xd, md, invStd, n, c, inner, lo, hi)
			})
		}
		affineGrads(grads, weight, bias, sumGX, sumG)
		if !x.requiresGrad {
			return grads
		}
		if gx == nil {
			gx = gradBuf(xv.Shape(), saved...) // every element is written below
		}
		gxd := gx.Data()
		forChannels(c, len(xd), func(lo, hi int) {
			batchInputGrad(gxd, gyd, xd, md, invStd, wd, sumG, sumGX, batchStats, n, c, inner, lo, hi)
		})
		grads[0] = gx
		return grads
	}, saved...)
}

// LayerNorm normalises x over its last dims axes (for each leading index
// separately) with the biased variance, then scales by weight and shifts by
// bias, both shaped like those last axes (either may be nil), as PyTorch's
// layer_norm does.
func LayerNorm(x, weight, bias *Var, dims int, eps float32) *Var {
	xs := x.value.Shape()
	if dims < 1 || dims > len(xs) {
		panic(fmt.Sprintf("autograd.LayerNorm: cannot normalise the last %d axes of shape %v", dims, xs))
	}
	norm := xs[len(xs)-dims:]
	d := 1
	for _, v := range norm {
		d *= v
	}
	for _, p := range []*Var{weight, bias} {
		if p != nil && !tensor.EqualShape(p.value.Shape(), norm) {
			panic(fmt.Sprintf("autograd.LayerNorm: parameter %v does not match input %v (want %v)", p.value.Shape(), xs, norm))
		}
	}
	if d == 0 {
		panic(fmt.Sprintf("autograd.LayerNorm: input %v has empty normalised axes", xs))
	}
	rows := x.value.Size() / d
	var ins [3]*Var
	inputs := affineInputs(&ins, x, weight, bias)
	out := wrap(alloc(xs, inputs...), inputs...)
	j := getLNJob()
	defer putLNJob(j)
	j.x, j.y, j.w, j.b, j.d, j.rows, j.eps = x.value.Data(), out.value.Data(), dataOf(weight), dataOf(bias), d, rows, eps
	var stats []float32 // the rows' means, then their inverse deviations
	if out.requiresGrad {
		stats = alloc([]int{2 * rows}, inputs...).Data()
		j.mean, j.invStd = stats[:rows], stats[rows:]
	}
	if j.chunks = rowChunks(rows, d); j.chunks == 1 {
		j.fwd(0, 1)
	} else {
		parallel.For(j.chunks, 1, j.fwd)
	}
	if s := out.recordFn("LayerNorm", layerNormBackward, inputs...); s != nil {
		out.node.foldsPrior = true // x's gradient adds what x gathered elsewhere
		s.t[0], s.f32s, s.i = x.value, stats, [2]int{rows, d}
		s.rank = 0 // bit 0: a weight follows x in the inputs; bit 1: a bias
		if weight != nil {
			s.rank |= 1
		}
		if bias != nil {
			s.rank |= 2
		}
	}
	return out
}

// lnJob is one LayerNorm forward or backward spread over the pool, with
// the chunk functions bound once, so that a call allocates nothing once
// the free list holds a job.
type lnJob struct {
	x, y, w, b, mean, invStd []float32 // forward: input, output, affine, statistics
	gy, gx, gw, gb, part     []float32 // backward: gradients and per-chunk partials
	prior                    []float32 // backward: x's gradient from other ops, added into gx
	d, rows, chunks          int
	eps                      float32
	fwd, back                func(lo, hi int)
}

var lnFree freeList[lnJob]

func getLNJob() *lnJob {
	if j := lnFree.get(); j != nil {
		return j
	}
	j := new(lnJob)
	j.fwd = func(lo, hi int) {
		layerNormRows(j.x, j.y, j.w, j.b, j.mean, j.invStd, j.d, j.eps, lo*j.rows/j.chunks, hi*j.rows/j.chunks)
	}
	j.back = j.chunksBack
	return j
}

// putLNJob drops the job's references to the caller's data and keeps it.
func putLNJob(j *lnJob) {
	fwd, back := j.fwd, j.back
	*j = lnJob{fwd: fwd, back: back}
	lnFree.put(j)
}

// layerNormBackward is LayerNorm's backward. The rows go in chunks of
// lnChunkRows, whatever the number of workers; each chunk sums its rows'
// weight and bias gradients, in row order, into partials of its own, and
// the partials are then added in chunk order: the same bits on any number
// of workers, in one pass over the rows. The gradient x gathered from the
// ops run before (the engine's prior: in a pre-norm block, the residual
// add's) is added into x's gradient as each row is written, with the bits
// of the engine's own sum.
func layerNormBackward(n *node, gy *tensor.Tensor) []*tensor.Tensor {
	rows, d := n.saved.i[0], n.saved.i[1]
	stats := n.saved.f32s
	x := n.inputs[0]
	var weight, bias *Var
	k := 1
	if n.saved.rank&1 != 0 {
		weight = n.inputs[k]
		k++
	}
	if n.saved.rank&2 != 0 {
		bias = n.inputs[k]
	}
	grads := n.saved.out(len(n.inputs))
	j := getLNJob()
	defer putLNJob(j)
	j.x, j.gy, j.w, j.d, j.rows = n.saved.t[0].Data(), gy.Data(), dataOf(weight), d, rows
	j.mean, j.invStd = stats[:rows], stats[rows:]
	k = 1
	if weight != nil {
		if weight.requiresGrad {
			// Straight into the parameter's gradient when it is one.
			if lg := leafGrad(weight); lg != nil {
				j.gw = lg.Data()
			} else {
				grads[k] = zeroGradBuf(weight.value.Shape(), n.inputs...)
				j.gw = grads[k].Data()
			}
		}
		k++
	}
	if bias != nil && bias.requiresGrad {
		if lg := leafGrad(bias); lg != nil {
			j.gb = lg.Data()
		} else {
			grads[k] = zeroGradBuf(bias.value.Shape(), n.inputs...)
			j.gb = grads[k].Data()
		}
	}
	if x.requiresGrad {
		grads[0] = gradBuf(n.saved.t[0].Shape(), n.inputs...) // every row is written
		j.gx = grads[0].Data()
		n.fresh = true
		if n.prior != nil {
			j.prior, n.folded = n.prior.Data(), true
		}
	}
	nc := (rows + lnChunkRows - 1) / lnChunkRows
	if j.gw != nil || j.gb != nil {
		j.part = getBuf(nc * 2 * d)
		defer putBuf(j.part)
	}
	if rowChunks(rows, d) == 1 || nc == 1 {
		j.back(0, nc)
	} else {
		parallel.For(nc, 1, j.back)
	}
	for c := range nc {
		if j.gw != nil {
			kernel.Add(j.gw, j.gw, j.part[c*2*d:c*2*d+d])
		}
		if j.gb != nil {
			kernel.Add(j.gb, j.gb, j.part[c*2*d+d:(c+1)*2*d])
		}
	}
	return grads
}

// chunksBack runs the backward of the row chunks [c0, c1): the input
// gradient of each row (plus the prior's row), and each chunk's weight
// and bias partials.
func (j *lnJob) chunksBack(c0, c1 int) {
	d, rows := j.d, j.rows
	for c := c0; c < c1; c++ {
		var pw, pb []float32
		if j.gw != nil {
			pw = j.part[c*2*d : c*2*d+d]
			clear(pw)
		}
		if j.gb != nil {
			pb = j.part[c*2*d+d : (c+1)*2*d]
			clear(pb)
		}
		for r := c * lnChunkRows; r < min((c+1)*lnChunkRows, rows); r++ {
			var gx, prior []float32
			if j.gx != nil {
				gx = j.gx[r*d : (r+1)*d]
				if j.prior != nil {
					prior = j.prior[r*d : (r+1)*d]
				}
			}
			kernel.LayerNormGradRow(gx, prior, j.gy[r*d:(r+1)*d], j.x[r*d:(r+1)*d], j.w, pw, pb, j.mean[r], j.invStd[r])
		}
	}
}
