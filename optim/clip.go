package optim

import (
	"math"

	"github.com/shoshin-ml/shoshin/nn"
)

// ClipGradNorm rescales the gradients of params, taken together as one
// vector, so that its Euclidean norm is at most maxNorm, and returns the
// norm before clipping (log it to spot exploding gradients). Like PyTorch's
// torch.nn.utils.clip_grad_norm_, when the norm n exceeds maxNorm every
// gradient is multiplied by maxNorm/(n+1e-6); otherwise nothing changes.
// Parameters without a gradient are ignored.
//
// The norm is accumulated in float64, so it neither overflows nor loses
// precision on large models. When it is not finite (a gradient holds Inf or
// NaN) the gradients are left untouched and the Inf or NaN norm is
// returned, so the caller can skip the step.
func ClipGradNorm(params []*nn.Param, maxNorm float32) float32 {
	var ss float64
	for _, p := range params {
		if g := p.Grad(); g != nil {
			ss += sumSquares(g.Data())
		}
	}
	norm := math.Sqrt(ss)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return float32(norm)
	}
	if norm > float64(maxNorm) {
		scale := float32(float64(maxNorm) / (norm + 1e-6))
		for _, p := range params {
			if g := p.Grad(); g != nil {
				d := g.Data()
				for i := range d {
					d[i] *= scale
				}
			}
		}
	}
	return float32(norm)
}

// sumSquares returns Σ x² accumulated in float64, with four partial sums
// to shorten the dependency chain.
func sumSquares(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		a, b, c, d := float64(v[0]), float64(v[1]), float64(v[2]), float64(v[3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		a := float64(x[i])
		s0 += a * a
	}
	return (s0 + s1) + (s2 + s3)
}

// ClipGradValue clamps every gradient element of params into [−v, v], like
// PyTorch's torch.nn.utils.clip_grad_value_. NaN elements stay NaN. It
// panics if v is negative.
func ClipGradValue(params []*nn.Param, v float32) {
	if v < 0 {
		panic("optim.ClipGradValue: negative clip value")
	}
	for _, p := range params {
		g := p.Grad()
		if g == nil {
			continue
		}
		d := g.Data()
		for i, x := range d {
			if x > v {
				d[i] = v
			} else if x < -v {
				d[i] = -v
			}
		}
	}
}
