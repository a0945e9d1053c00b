package autograd

import (
	"math"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// The per-channel loops of BatchNorm. A channel's values lie in n planes
// of inner values (one per sample); each plane is summed in float32 over
// several partial sums (vectorised where the kernel has the sum), and the
// planes' sums are added in float64, so that the long sums keep their
// precision without a float64 conversion and a serial dependency per
// element. Channels are spread over the workers when the input is large;
// each channel's figures come from its own loops alone, so they do not
// depend on the number of workers.

// batchNormParallel is the number of input values from which BatchNorm
// spreads its channels over the workers.
const batchNormParallel = 1 << 15

// forChannels calls fn on ranges of the c channels, on the workers when
// size (the input's values) is large.
func forChannels(c, size int, fn func(lo, hi int)) {
	if size < batchNormParallel || parallel.Workers() == 1 {
		fn(0, c)
		return
	}
	parallel.For(c, 1, fn)
}

// batchMoments writes the mean, the biased variance and 1/√(var + eps) of
// channels [lo, hi) of xd [n, c, inner].
func batchMoments(md, vd, invStd, xd []float32, n, c, inner int, eps float32, lo, hi int) {
	m := float64(n * inner)
	for ch := lo; ch < hi; ch++ {
		var s float64
		for s0 := range n {
			s += float64(kernel.Sum(xd[(s0*c+ch)*inner : (s0*c+ch+1)*inner]))
		}
		mu := s / m
		var q float64
		for s0 := range n {
			q += float64(sqDev(xd[(s0*c+ch)*inner:(s0*c+ch+1)*inner], float32(mu)))
		}
		va := q / m
		md[ch], vd[ch] = float32(mu), float32(va)
		invStd[ch] = float32(1 / math.Sqrt(va+float64(eps)))
	}
}

// sqDev returns Σ (x − mu)² over four partial sums.
func sqDev(x []float32, mu float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := v[0]-mu, v[1]-mu, v[2]-mu, v[3]-mu
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - mu
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// dotDev returns Σ g·(x − mu) over four partial sums (x at least as long
// as g).
func dotDev(g, x []float32, mu float32) float32 {
	x = x[:len(g)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(g); i += 4 {
		gv, v := g[i:i+4:i+4], x[i:i+4:i+4]
		s0 += gv[0] * (v[0] - mu)
		s1 += gv[1] * (v[1] - mu)
		s2 += gv[2] * (v[2] - mu)
		s3 += gv[3] * (v[3] - mu)
	}
	for ; i < len(g); i++ {
		s0 += g[i] * (x[i] - mu)
	}
	return (s0 + s1) + (s2 + s3)
}

// batchGradSums writes, for channels [lo, hi), Σ g and Σ g·x̂ (x̂ the
// normalised input) of the output gradient gyd.
func batchGradSums(sumG, sumGX, gyd, xd, md, invStd []float32, n, c, inner, lo, hi int) {
	for ch := lo; ch < hi; ch++ {
		var sg, sgx float64
		mu := md[ch]
		for s0 := range n {
			o := (s0*c + ch) * inner
			gs := gyd[o : o+inner]
			sg += float64(kernel.Sum(gs))
			sgx += float64(dotDev(gs, xd[o:o+inner], mu))
		}
		sumG[ch], sumGX[ch] = float32(sg), float32(sgx*float64(invStd[ch]))
	}
}

// batchInputGrad writes the input gradient of channels [lo, hi):
// dx = w·inv·(g − mg − x̂·mgx), where mg and mgx are the means of g and
// g·x̂ over the channel for batch statistics, and 0 for constant ones.
func batchInputGrad(gxd, gyd, xd, md, invStd, wd, sumG, sumGX []float32, batchStats bool, n, c, inner, lo, hi int) {
	m := float32(n * inner)
	for ch := lo; ch < hi; ch++ {
		w := float32(1)
		if wd != nil {
			w = wd[ch]
		}
		mu, inv := md[ch], invStd[ch]
		a := w * inv
		var mg, mgx float32
		if batchStats {
			mg, mgx = sumG[ch]/m, sumGX[ch]/m
		}
		// a·((g − mg) − (x − mu)·k) as a·g + (b·x + c0).
		k := inv * mgx
		b := -a * k
		c0 := a*k*mu - a*mg
		for s0 := range n {
			o := (s0*c + ch) * inner
			kernel.ScaleAdd2(gxd[o:o+inner], gyd[o:o+inner], xd[o:o+inner], a, b, c0)
		}
	}
}

// batchGradSumsReLU is batchGradSums for BatchNormReLU: the output
// gradient gyd passes where the rectified output y is positive or NaN (its
// bits are not zero) and is +0 elsewhere; it is written into g (which may
// then stand for gyd in batchInputGrad) while the sums are taken.
func batchGradSumsReLU(sumG, sumGX, g, gyd, y, xd, md, invStd []float32, n, c, inner, lo, hi int) {
	for ch := lo; ch < hi; ch++ {
		var sg, sgx float64
		mu := md[ch]
		for s0 := range n {
			o := (s0*c + ch) * inner
			s, sx := kernel.ReLUMaskSums(g[o:o+inner], gyd[o:o+inner], y[o:o+inner], xd[o:o+inner], mu)
			sg += float64(s)
			sgx += float64(sx)
		}
		sumG[ch], sumGX[ch] = float32(sg), float32(sgx*float64(invStd[ch]))
	}
}
