package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScaleShift checks ScaleShift (the kernel on the multiple-of-8
// prefix, the twin on the rest) and its portable twin against the
// definition in float64 at sizes around the vector width, with and
// without the ReLU, in place too; the ReLU keeps NaN, makes −0 +0 and
// leaves the values past len(x) alone.
func TestScaleShift(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	negZero := float32(math.Copysign(0, -1))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 33, 100} {
		for _, relu := range []bool{false, true} {
			x := make([]float32, n)
			for i := range x {
				// Values of both signs.
				x[i] = r.Float32()*4 - 2
			}
			if n > 3 {
				x[1] = float32(math.NaN())
				x[2] = 0 // a·0 + b with b = −0 gives −0 below
			}
			a, b := float32(1.7), float32(-0.3)
			if n > 3 {
				b = negZero // −1.5·0 + (−0) = −0, which the ReLU makes +0
				a = -1.5
			}
			want := make([]float64, n)
			for i, v := range x {
				want[i] = float64(a)*float64(v) + float64(b)
				if i == 2 && n > 3 {
					want[i] = float64(negZero)
				}
				if relu && want[i] <= 0 {
					want[i] = 0
				}
			}
			for name, f := range map[string]func(dst, x []float32){
				"kernel":   func(dst, x []float32) { ScaleShift(dst, x, a, b, relu) },
				"portable": func(dst, x []float32) { scaleShiftPortable(dst, x, a, b, relu) },
				"in place": func(dst, x []float32) { copy(dst, x); ScaleShift(dst[:n], dst[:n], a, b, relu) },
			} {
				dst := make([]float32, n+1)
				dst[n] = 42
				f(dst, x)
				require.Equal(t, float32(42), dst[n], "%s n=%d relu=%v wrote past the end", name, n, relu)
				for i, v := range want {
					msg := fmt.Sprintf("%s n=%d relu=%v at %d", name, n, relu, i)
					if math.IsNaN(v) {
						require.True(t, math.IsNaN(float64(dst[i])), msg)
						continue
					}
					require.InDelta(t, v, float64(dst[i]), 1e-6, msg)
					if v == 0 {
						require.Equal(t, math.Signbit(v) && !relu, math.Signbit(float64(dst[i])), "%s: sign of zero", msg)
					}
				}
			}
		}
	}
	require.Panics(t, func() { ScaleShift(make([]float32, 3), make([]float32, 4), 1, 0, false) })
}

// TestScaleAdd2 checks ScaleAdd2 and its twin against the definition at
// sizes around the vector width, in place over g too.
func TestScaleAdd2(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 33, 100} {
		g, x := make([]float32, n), make([]float32, n)
		for i := range g {
			g[i], x[i] = r.Float32()*2-1, r.Float32()*2-1
		}
		a, b, c := float32(0.7), float32(-1.3), float32(0.25)
		for name, f := range map[string]func(dst []float32){
			"kernel":   func(dst []float32) { ScaleAdd2(dst, g, x, a, b, c) },
			"portable": func(dst []float32) { scaleAdd2Portable(dst, g, x, a, b, c) },
			"in place": func(dst []float32) { copy(dst, g); ScaleAdd2(dst[:n], dst[:n], x, a, b, c) },
		} {
			dst := make([]float32, n+1)
			dst[n] = 42
			f(dst)
			require.Equal(t, float32(42), dst[n], "%s n=%d wrote past the end", name, n)
			for i := range n {
				want := float64(a)*float64(g[i]) + float64(b)*float64(x[i]) + float64(c)
				require.InDelta(t, want, float64(dst[i]), 1e-6, "%s n=%d at %d", name, n, i)
			}
		}
	}
	require.Panics(t, func() { ScaleAdd2(make([]float32, 4), make([]float32, 4), make([]float32, 3), 1, 1, 0) })
}

// TestReLUMaskSums checks ReLUMaskSums and its twin against the
// definition at sizes around the vector width: the gradient passes where
// y is positive or NaN (of either sign), is +0 where y is +0 (a −0
// gradient too), and the sums are those of the masked gradient.
func TestReLUMaskSums(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	negZero := float32(math.Copysign(0, -1))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 33, 100} {
		gy, y, x := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range gy {
			gy[i], x[i] = r.Float32()*2-1, r.Float32()*4+3
			if r.IntN(2) == 0 {
				y[i] = r.Float32() + 0.1
			}
			if i%5 == 3 {
				gy[i] = negZero
			}
			if i%7 == 4 {
				y[i] = float32(math.NaN())
			}
			if i%11 == 6 {
				y[i] = math.Float32frombits(math.Float32bits(float32(math.NaN())) | 1<<31)
			}
		}
		const mu = 5
		want := make([]float32, n)
		var ws, wsx float64
		for i := range n {
			if math.Float32bits(y[i]) != 0 {
				want[i] = gy[i]
			}
			ws += float64(want[i])
			wsx += float64(want[i]) * (float64(x[i]) - mu)
		}
		for name, f := range map[string]func(dst []float32) (float32, float32){
			"kernel":   func(dst []float32) (float32, float32) { return ReLUMaskSums(dst, gy, y, x, mu) },
			"portable": func(dst []float32) (float32, float32) { return reluMaskSumsPortable(dst[:n], gy, y, x, mu) },
			"in place": func(dst []float32) (float32, float32) { copy(dst, gy); return ReLUMaskSums(dst[:n], dst[:n], y, x, mu) },
		} {
			dst := make([]float32, n+1)
			dst[n] = 42
			s, sx := f(dst)
			require.Equal(t, float32(42), dst[n], "%s n=%d wrote past the end", name, n)
			for i := range n {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(dst[i]), "%s n=%d at %d: y=%g gy=%g", name, n, i, y[i], gy[i])
			}
			require.InDelta(t, ws, float64(s), 1e-5, "%s n=%d: sum", name, n)
			require.InDelta(t, wsx, float64(sx), 1e-4, "%s n=%d: sum of products", name, n)
		}
	}
	require.Panics(t, func() {
		ReLUMaskSums(make([]float32, 4), make([]float32, 4), make([]float32, 3), make([]float32, 4), 0)
	})
}
