package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/stretchr/testify/require"
)

// TestDropoutIndependentOfWorkers checks that a mask long enough to be
// spread over the workers is, on any number of them, the documented draw:
// two elements per r.Uint64 in element order (the low 32 bits first), an
// element dropped when its bits fall below p·2³², the survivors scaled by
// 1/(1−p); and that the gradient follows the same mask.
func TestDropoutIndependentOfWorkers(t *testing.T) {
	const n, p = 3*dropoutGrain + 1, float32(0.3)
	x := rnd(11, -1, 1, n)
	g := rnd(12, -1, 1, n)
	r := rand.New(rand.NewPCG(5, 6))
	want, wantG := make([]float32, n), make([]float32, n)
	th := uint64(float64(p) * (1 << 32))
	for i := 0; i < n; i += 2 {
		u := r.Uint64()
		for j, b := range []uint64{u & 0xffffffff, u >> 32} {
			if i+j < n && b >= th {
				want[i+j] = x.Data()[i+j] * (1 / (1 - p))
				wantG[i+j] = g.Data()[i+j] * (1 / (1 - p))
			}
		}
	}
	for _, workers := range []int{1, 2, 3} {
		prev := parallel.SetWorkers(workers)
		xv := NewVar(x)
		y := Dropout(xv, p, rand.New(rand.NewPCG(5, 6)))
		y.BackwardWith(g)
		parallel.SetWorkers(prev)
		require.Equal(t, want, y.Value().Data(), "workers %d", workers)
		require.Equal(t, wantG, xv.Grad().Data(), "workers %d", workers)
	}
}
