package kernel

import "math"

// AdamParams holds the per-step constants of an Adam update (see Adam).
type AdamParams struct {
	Beta1, Beta2 float32
	// StepSize is lr / (1 − β1ᵗ).
	StepSize float32
	// InvBC2 is 1 / √(1 − β2ᵗ).
	InvBC2 float32
	Eps    float32
	// WeightDecay adds WeightDecay·p to the gradient (L2, not decoupled).
	WeightDecay float32
}

// Adam applies one Adam step to p in place, updating the moments m and v:
//
//	g ← g + wd·p
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	p ← p − StepSize · m / (√v · InvBC2 + ε)
//
// g, m and v must be at least as long as p.
func Adam(p, g, m, v []float32, a AdamParams) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	adam(p, g, m, v, &a)
}

// adamPortable is the portable twin of the Adam kernel.
func adamPortable(p, g, m, v []float32, a *AdamParams) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	b1, b2 := a.Beta1, a.Beta2
	c1, c2 := 1-b1, 1-b2
	for i, gi := range g {
		gi += a.WeightDecay * p[i]
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		p[i] -= a.StepSize * (mi / (float32(math.Sqrt(float64(vi)))*a.InvBC2 + a.Eps))
	}
}
