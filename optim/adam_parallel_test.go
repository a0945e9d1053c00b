package optim

import (
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/stretchr/testify/require"
)

// TestAdamSplitMatchesOneCall checks that an update spread over the pool
// gives, bit for bit, the floats of one kernel call over the whole
// parameter, for sizes whose chunks end off the vector width, with and
// without AdamW's decoupled shrink (applied chunk by chunk).
func TestAdamSplitMatchesOneCall(t *testing.T) {
	defer parallel.SetWorkers(parallel.SetWorkers(3))
	r := rand.New(rand.NewPCG(3, 3))
	a := kernel.AdamParams{Beta1: 0.9, Beta2: 0.999, StepSize: 1e-3, InvBC2: 30, Eps: 1e-8, WeightDecay: 0.01}
	o := &Adam{}
	for _, n := range []int{adamParallel - 1, adamParallel, 3*adamParallel + 5, 100003} {
		rnd := func() []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(r.NormFloat64())
			}
			return s
		}
		p, g, m, v := rnd(), rnd(), rnd(), rnd()
		for i := range v {
			v[i] *= v[i]
		}
		cp := func(s []float32) []float32 { return append([]float32(nil), s...) }
		wp, wm, wv := cp(p), cp(m), cp(v)
		shrink := float32(1)
		if n%2 == 1 {
			shrink = 0.99
			for i := range wp {
				wp[i] *= shrink
			}
		}
		kernel.Adam(wp, g, wm, wv, a)
		o.adamStep(p, g, m, v, a, shrink)
		require.Equal(t, wp, p, "parameters, n=%d", n)
		require.Equal(t, wm, m, "first moment, n=%d", n)
		require.Equal(t, wv, v, "second moment, n=%d", n)
	}
}
