package autograd

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Rotary applies rotary position embeddings (RoPE, Su et al. 2021) to x of
// shape [..., T, E], whose last axis holds heads heads of D = E/heads
// features each (D even), heads last as projections produce them. The
// vector of each head at position p = offset + t is rotated pairwise: with
// θ_i = base^(−2i/D) for i < D/2, features i and i + D/2 become
//
//	x_i·cos(p·θ_i) − x_{i+D/2}·sin(p·θ_i)
//	x_{i+D/2}·cos(p·θ_i) + x_i·sin(p·θ_i)
//
// This is the "rotate half" pairing of GPT-NeoX and Hugging Face's LLaMA,
// not the interleaved (2i, 2i+1) pairing of the original paper and
// torchtune; the two differ by a fixed permutation of the projection
// weights. base is usually 10000. For a [B, H, T, D] tensor pass heads 1.
// The gradient is the inverse rotation.
func Rotary(x *Var, heads int, base float64, offset int) *Var {
	xs := x.value.Shape()
	if len(xs) < 2 || heads < 1 || xs[len(xs)-1]%heads != 0 || (xs[len(xs)-1]/heads)%2 != 0 {
		panic(fmt.Sprintf("autograd.Rotary: input %v is not [..., T, E] with E split into %d heads of even size", xs, heads))
	}
	if base <= 0 || offset < 0 {
		panic(fmt.Sprintf("autograd.Rotary: base %v must be positive and offset %d non-negative", base, offset))
	}
	t, e := xs[len(xs)-2], xs[len(xs)-1]
	d := e / heads
	half := d / 2
	cos, sin := make([]float32, t*half), make([]float32, t*half)
	for p := 0; p < t; p++ {
		for i := 0; i < half; i++ {
			theta := math.Pow(base, -2*float64(i)/float64(d))
			a := float64(p+offset) * theta
			cos[p*half+i], sin[p*half+i] = float32(math.Cos(a)), float32(math.Sin(a))
		}
	}
	rotate := func(dst, src []float32, sign float32) {
		for r := 0; r < len(src)/e; r++ {
			p := r % t
			cs, sn := cos[p*half:(p+1)*half], sin[p*half:(p+1)*half]
			for h := 0; h < heads; h++ {
				o := r*e + h*d
				x1, x2 := src[o:o+half], src[o+half:o+d]
				y1, y2 := dst[o:o+half], dst[o+half:o+d]
				for i := range cs {
					c, s := cs[i], sign*sn[i]
					a, b := x1[i], x2[i]
					y1[i] = a*c - b*s
					y2[i] = b*c + a*s
				}
			}
		}
	}
	out := wrap(alloc(xs, x), x)
	rotate(out.value.Data(), x.value.Data(), 1)
	if !out.requiresGrad {
		return out
	}
	return out.record("Rotary", func(g *tensor.Tensor) []*tensor.Tensor {
		gx := tensor.Zeros(xs...)
		rotate(gx.Data(), g.Data(), -1)
		return []*tensor.Tensor{gx}
	}, x)
}
