package autograd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

// TestReLUGradSelects checks ReLU's gradient on every kind of input: it
// passes where x is positive (the smallest subnormal and +Inf too) or NaN
// of either sign, and is +0 at −0, +0, negatives and −Inf, whatever the
// upstream gradient (−0 and NaN included).
func TestReLUGradSelects(t *testing.T) {
	nan := float32(math.NaN())
	negNaN := math.Float32frombits(math.Float32bits(nan) | 1<<31)
	inf := float32(math.Inf(1))
	sub := math.Float32frombits(1)
	negZero := float32(math.Copysign(0, -1))
	x := []float32{-1, negZero, 0, 1, nan, negNaN, inf, -inf, sub, -sub, 3, -3, 2}
	g := []float32{5, 6, 7, negZero, 9, 10, 11, 12, nan, nan, 2, 4, 8}
	want := []float32{0, 0, 0, negZero, 9, 10, 11, 0, nan, 0, 2, 0, 8}
	xv := NewVar(tensor.New(x, len(x)))
	ReLU(xv).BackwardWith(tensor.New(g, len(g)))
	got := xv.Grad().Data()
	for i := range want {
		require.Equal(t, math.Float32bits(want[i]) == math.Float32bits(nan), math.IsNaN(float64(got[i])), "x=%g", x[i])
		if !math.IsNaN(float64(want[i])) {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "x=%g g=%g: got %g, want %g", x[i], g[i], got[i], want[i])
		}
	}
}
