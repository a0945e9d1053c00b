package kernel

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAdamMatchesPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a := AdamParams{Beta1: 0.9, Beta2: 0.999, StepSize: 1e-3 / 0.1, InvBC2: 1 / 0.0316, Eps: 1e-8, WeightDecay: 0.01}
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 33, 64, 1000} {
		vec := func() []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(r.NormFloat64())
			}
			return s
		}
		p, g, m, v := vec(), vec(), vec(), vec()
		for i := range v {
			v[i] *= v[i]
		}
		p2, m2, v2 := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
		Adam(p, g, m, v, a)
		adamPortable(p2, g, m2, v2, &a)
		for i := range p {
			require.InDelta(t, m2[i], m[i], 1e-6, "m n=%d i=%d", n, i)
			require.InDelta(t, v2[i], v[i], 1e-6, "v n=%d i=%d", n, i)
			require.InEpsilon(t, p2[i], p[i], 1e-5, "p n=%d i=%d", n, i)
		}
	}
}

func BenchmarkAdam(b *testing.B) {
	const n = 1 << 20
	p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = float32(i%7) - 3
	}
	a := AdamParams{Beta1: 0.9, Beta2: 0.999, StepSize: 1e-3, InvBC2: 1, Eps: 1e-8}
	b.SetBytes(n * 4 * 4)
	for range b.N {
		Adam(p, g, m, v, a)
	}
}
