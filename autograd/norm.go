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

// affineInputs lists x with the non-nil affine parameters.
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
// mean and inverse deviation when mean is not nil.
func layerNormRows(x, y, w, b, mean, invStd []float32, d int, eps float32, r0, r1 int) {
	for r := r0; r < r1; r++ {
		row, dst := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
		mu, inv := rowMoments(row, eps)
		// y = (x − μ)·σ⁻¹, then the affine parts as vector passes.
		c := -mu * inv
		for i, v := range row {
			dst[i] = v*inv + c
		}
		if w != nil {
			kernel.Mul(dst, dst, w)
		}
		if b != nil {
			kernel.Add(dst, dst, b)
		}
		if mean != nil {
			mean[r], invStd[r] = mu, inv
		}
	}
}

// rowMoments returns the mean of row and 1/√(biased variance + eps), with
// float64 sums as before but four running partial sums, so that the loops
// pipeline.
func rowMoments(row []float32, eps float32) (mu, inv float32) {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(row); i += 4 {
		r := row[i : i+4 : i+4]
		s0 += float64(r[0])
		s1 += float64(r[1])
		s2 += float64(r[2])
		s3 += float64(r[3])
	}
	for ; i < len(row); i++ {
		s0 += float64(row[i])
	}
	m := (s0 + s1 + s2 + s3) / float64(len(row))
	var q0, q1, q2, q3 float64
	i = 0
	for ; i+4 <= len(row); i += 4 {
		r := row[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(r[0])-m, float64(r[1])-m, float64(r[2])-m, float64(r[3])-m
		q0 += d0 * d0
		q1 += d1 * d1
		q2 += d2 * d2
		q3 += d3 * d3
	}
	for ; i < len(row); i++ {
		dv := float64(row[i]) - m
		q0 += dv * dv
	}
	q := (q0 + q1 + q2 + q3) / float64(len(row))
	return float32(m), float32(1 / math.Sqrt(q+float64(eps)))
}

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
	n, c, inner := normLayout("BatchNorm", x, weight, bias)
	m := n * inner
	if m == 0 {
		panic(fmt.Sprintf("autograd.BatchNorm: input %v has no elements per channel", x.value.Shape()))
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
		normAffine(yd, xd, md, invStd, wd, bd, n, c, inner, lo, hi)
	})
	if !out.requiresGrad {
		return out, mean, variance
	}
	return recordBatchNorm(out, inputs, x, weight, bias, md, invStd, true, n, c, inner), mean, variance
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
	return recordBatchNorm(out, inputs, x, weight, bias, append([]float32(nil), md...), invStd, false, n, c, inner)
}

// normAffine writes y = (x − mean)·invStd·w + b for channels [lo, hi).
func normAffine(yd, xd, md, invStd, wd, bd []float32, n, c, inner, lo, hi int) {
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
			dst := yd[o : o+inner]
			for i, v := range xd[o : o+inner] {
				dst[i] = v*a + b
			}
		}
	}
}

// recordBatchNorm attaches the backward of BatchNorm (batch statistics,
// which depend on x) or BatchNormWithStats (constant statistics).
func recordBatchNorm(out *Var, inputs []*Var, x, weight, bias *Var, md, invStd []float32, batchStats bool, n, c, inner int) *Var {
	saved := append([]*Var(nil), inputs...)
	xv := x.value
	var wd []float32
	if weight != nil {
		wd = weight.value.Data()
	}
	return out.record("BatchNorm", func(gy *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(saved))
		gyd, xd := gy.Data(), xv.Data()
		sumG := make([]float32, c)  // Σ g per channel
		sumGX := make([]float32, c) // Σ g·x̂ per channel
		forChannels(c, len(xd), func(lo, hi int) {
			batchGradSums(sumG, sumGX, gyd, xd, md, invStd, n, c, inner, lo, hi)
		})
		k := 1
		if weight != nil {
			if weight.requiresGrad {
				grads[k] = tensor.New(sumGX, c)
			}
			k++
		}
		if bias != nil && bias.requiresGrad {
			grads[k] = tensor.New(sumG, c)
		}
		if !x.requiresGrad {
			return grads
		}
		gx := gradBuf(xv.Shape(), saved...) // every element is written below
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
	xd, yd := x.value.Data(), out.value.Data()
	wd, bd := dataOf(weight), dataOf(bias)
	var mean, invStd []float32
	if out.requiresGrad {
		mean, invStd = alloc([]int{rows}, inputs...).Data(), alloc([]int{rows}, inputs...).Data()
	}
	if chunks := rowChunks(rows, d); chunks == 1 {
		layerNormRows(xd, yd, wd, bd, mean, invStd, d, eps, 0, rows)
	} else {
		parallel.For(chunks, 1, func(lo, hi int) {
			layerNormRows(xd, yd, wd, bd, mean, invStd, d, eps, lo*rows/chunks, hi*rows/chunks)
		})
	}
	if !out.requiresGrad {
		return out
	}
	return recordLayerNorm(out, inputs, x, weight, bias, mean, invStd, rows, d)
}

// affineGradCols adds to the columns [j0, j1) of gw and gb (either may be
// nil) the gradients of a layer norm's weight and bias, Σ_r g·x̂ and Σ_r g,
// summing over the rows in order as the one-chunk backward does.
func affineGradCols(gw, gb, xd, gyd, mean, invStd []float32, rows, d, j0, j1 int) {
	for r := 0; r < rows; r++ {
		row, g := xd[r*d+j0:r*d+j1], gyd[r*d+j0:r*d+j1]
		if gw != nil {
			inv := invStd[r]
			c := -mean[r] * inv
			pw := gw[j0:j1]
			for i, v := range row {
				xh := v*inv + c
				pw[i] += g[i] * xh
			}
		}
		if gb != nil {
			kernel.Add(gb[j0:j1], gb[j0:j1], g)
		}
	}
}

func recordLayerNorm(out *Var, inputs []*Var, x, weight, bias *Var, mean, invStd []float32, rows, d int) *Var {
	saved := append([]*Var(nil), inputs...)
	xv := x.value
	wd := dataOf(weight)
	return out.record("LayerNorm", func(gy *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(saved))
		gyd, xd := gy.Data(), xv.Data()
		var gw, gb, gxd []float32
		k := 1
		if weight != nil {
			if weight.requiresGrad {
				// Straight into the parameter's gradient when it is one.
				if lg := leafGrad(weight); lg != nil {
					gw = lg.Data()
				} else {
					grads[k] = zeroGradBuf(weight.value.Shape(), saved...)
					gw = grads[k].Data()
				}
			}
			k++
		}
		if bias != nil && bias.requiresGrad {
			if lg := leafGrad(bias); lg != nil {
				gb = lg.Data()
			} else {
				grads[k] = zeroGradBuf(bias.value.Shape(), saved...)
				gb = grads[k].Data()
			}
		}
		if x.requiresGrad {
			grads[0] = gradBuf(xv.Shape(), saved...) // every row is written
			gxd = grads[0].Data()
		}
		fd := float32(d)
		// rowsBack handles rows [r0, r1), adding the weight and bias
		// gradients into pw and pb: per row, x̂ and ĝ = g·w in scratch
		// rows, then Σĝ and Σĝ·x̂ as vector reductions.
		rowsBack := func(r0, r1 int, pw, pb []float32) {
			scratch := getBuf(2 * d)
			defer putBuf(scratch)
			xh, gh := scratch[:d], scratch[d:]
			for r := r0; r < r1; r++ {
				row, g := xd[r*d:(r+1)*d], gyd[r*d:(r+1)*d]
				mu, inv := mean[r], invStd[r]
				c := -mu * inv
				for i, v := range row {
					xh[i] = v*inv + c
				}
				if pw != nil {
					for i, gv := range g {
						pw[i] += gv * xh[i]
					}
				}
				if pb != nil {
					kernel.Add(pb, pb, g)
				}
				if gxd == nil {
					continue
				}
				gn := g // ĝ = g·w
				if wd != nil {
					kernel.Mul(gh, g, wd)
					gn = gh
				}
				s1, s2 := kernel.Sum(gn)/fd, kernel.Dot(gn, xh)/fd
				dst := gxd[r*d : (r+1)*d]
				a, b := -inv*s1, -inv*s2
				for i, gv := range gn {
					dst[i] = inv*gv + a + b*xh[i]
				}
			}
		}
		chunks := rowChunks(rows, d)
		if chunks == 1 {
			rowsBack(0, rows, gw, gb)
			return grads
		}
		// The input gradient row by row, spread over the workers; then the
		// weight and bias gradients column by column, each column summed
		// over the rows in order, so that they are the same bit for bit
		// whatever the number of workers.
		if gxd != nil {
			parallel.For(chunks, 1, func(lo, hi int) {
				rowsBack(lo*rows/chunks, hi*rows/chunks, nil, nil)
			})
		}
		if gw != nil || gb != nil {
			cols := (d + 15) / 16
			parallel.For(cols, 1, func(lo, hi int) {
				affineGradCols(gw, gb, xd, gyd, mean, invStd, rows, d, lo*16, min(hi*16, d))
			})
		}
		return grads
	}, saved...)
}
