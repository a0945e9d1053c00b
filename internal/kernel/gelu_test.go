package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/stretchr/testify/require"
)

// geluRef is GELU and its derivative in float64 with math.Erfc, exact in
// both tails.
func geluRef(x float64) (y, dy float64) {
	cdf := 0.5 * math.Erfc(-x/math.Sqrt2)
	pdf := math.Exp(-0.5*x*x) / math.Sqrt(2*math.Pi)
	return x * cdf, cdf + x*pdf
}

func geluInputs() []float32 {
	var xs []float32
	for x := float32(-16); x < 16; x += 0.00071 {
		xs = append(xs, x)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		xs = append(xs, float32(rng.NormFloat64()))
	}
	return append(xs, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 40, -40, 1e6, -1e6)
}

// TestGELUAccuracy checks GELU and GELUGrad, and their portable twins,
// against float64 references: absolute error within 3e−7·max(1, |x|)
// everywhere, and relative error within 0.2% on (−5, −1) and 2% on
// (−9, −5], the negative tail where 1 + erf cancels to nothing in float32.
func TestGELUAccuracy(t *testing.T) {
	xs := geluInputs()
	dy := make([]float32, len(xs))
	for i := range dy {
		dy[i] = 1
	}
	got := make([]float32, len(xs))
	for _, impl := range []struct {
		name string
		grad bool
		fn   func(dst []float32)
	}{
		{"GELU", false, func(d []float32) { GELU(d, xs) }},
		{"geluPortable", false, func(d []float32) { geluPortable(d, xs) }},
		{"GELUGrad", true, func(d []float32) { GELUGrad(d, xs, dy) }},
		{"geluGradPortable", true, func(d []float32) { geluGradPortable(d, xs, dy) }},
	} {
		impl.fn(got)
		worstAbs, worstRel := 0.0, 0.0
		for i, x := range xs {
			y, d := geluRef(float64(x))
			want := y
			if impl.grad {
				want = d
			}
			e := math.Abs(float64(got[i]) - want)
			worstAbs = max(worstAbs, e/max(1, math.Abs(float64(x))))
			require.LessOrEqual(t, e, 3e-7*max(1, math.Abs(float64(x))), "%s(%g) = %g, want %g", impl.name, x, got[i], want)
			if x < -1 && x > -9 {
				tol := 2e-3 // (−5, −1); PyTorch's 1 + erf has lost all digits by −5
				if x <= -5 {
					tol = 2e-2
				}
				worstRel = max(worstRel, e/math.Abs(want))
				require.LessOrEqual(t, e, tol*math.Abs(want), "%s(%g) = %g, want %g", impl.name, x, got[i], want)
			}
		}
		t.Logf("%s: worst absolute error %.3g (scaled by max(1, |x|)), worst relative error on (−9, −1) %.3g", impl.name, worstAbs, worstRel)
	}
}

// TestGELUSpecial pins NaN, the infinities and the gradient's dy factor.
func TestGELUSpecial(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, fn := range []func(d, x []float32){GELU, geluPortable} {
		x := []float32{nan, inf, 0, -3, 3, 0, 0, nan, inf}
		d := make([]float32, len(x))
		fn(d, x)
		require.True(t, d[0] != d[0] && d[7] != d[7], "NaN in, NaN out: %v", d)
		require.Equal(t, inf, d[1])
		require.Equal(t, float32(0), d[2])
		require.InDelta(t, -3*0.0013498980316301, d[3], 3e-7)
		require.InDelta(t, 3*(1-0.0013498980316301), d[4], 3e-7)
	}
	for _, fn := range []func(d, x, dy []float32){GELUGrad, geluGradPortable} {
		x := []float32{nan, 0, 1, -1, 2, 0.5, -0.5, 3, -2}
		dy := []float32{1, 2, -3, 0.5, 1, 1, 1, 1, 4}
		d := make([]float32, len(x))
		fn(d, x, dy)
		require.True(t, d[0] != d[0])
		require.InDelta(t, 1, d[1], 1e-7) // GELU'(0) = ½, times 2
		for i := 1; i < len(x); i++ {
			_, g := geluRef(float64(x[i]))
			require.InDelta(t, g*float64(dy[i]), d[i], 3e-7*math.Abs(float64(dy[i]))+1e-7, "x = %g, dy = %g", x[i], dy[i])
		}
		// In place over dy.
		fn(dy, x, dy)
		require.Equal(t, d[1:], dy[1:])
	}
}

// TestGELUKernelsMatchPortable runs the dispatched kernels and their
// portable twins on awkward lengths, inside guard values, and requires
// them to agree within a few ulp and to leave the guards alone.
func TestGELUKernelsMatchPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const guard = float32(-12345)
	for _, n := range []int{0, 1, 7, 8, 9, 17, 64, 131, parallelGELUElems + 13} {
		x := make([]float32, n+2)
		dy := make([]float32, n+2)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 3)
			dy[i] = float32(rng.NormFloat64())
		}
		x[0], x[n+1] = guard, guard
		xin := append([]float32(nil), x...)
		for _, grad := range []bool{false, true} {
			got := make([]float32, n+2)
			want := make([]float32, n)
			got[0], got[n+1] = guard, guard
			if grad {
				GELUGrad(got[1:n+1], x[1:n+1], dy[1:n+1])
				geluGradPortable(want, x[1:n+1], dy[1:n+1])
			} else {
				GELU(got[1:n+1], x[1:n+1])
				geluPortable(want, x[1:n+1])
			}
			require.Equal(t, guard, got[0])
			require.Equal(t, guard, got[n+1])
			require.Equal(t, xin, x, "input changed")
			for i, w := range want {
				require.LessOrEqual(t, math.Abs(float64(got[i+1]-w)), 4e-7*max(1, math.Abs(float64(w))), "n=%d grad=%v i=%d x=%g: %g vs %g", n, grad, i, x[i+1], got[i+1], w)
			}
		}
	}
}

// TestGELUBiasDeriv checks the biased GELU with its derivative against
// the float64 reference and against its portable twin, on awkward row
// widths, in place over pre, on one and two workers (the same bits), and
// that the guards around the outputs stay untouched.
func TestGELUBiasDeriv(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const guard = float32(-12345)
	for _, sz := range [][2]int{{1, 1}, {3, 7}, {2, 8}, {5, 9}, {4, 17}, {3, 33}, {2, 131}, {parallelGELUElems/40 + 3, 40}, {70, 512}} {
		rows, out := sz[0], sz[1]
		n := rows * out
		pre := make([]float32, n)
		bias := make([]float32, out)
		for i := range pre {
			pre[i] = float32(rng.NormFloat64() * 3)
		}
		for i := range bias {
			bias[i] = float32(rng.NormFloat64())
		}
		run := func(workers int, inPlace bool) (dst, der []float32) {
			prev := parallel.SetWorkers(workers)
			defer parallel.SetWorkers(prev)
			d := make([]float32, n+2)
			d[0], d[n+1] = guard, guard
			p := append([]float32(nil), pre...)
			g := make([]float32, n+2)
			g[0], g[n+1] = guard, guard
			if inPlace {
				GELUBiasDeriv(d[1:n+1], p, p, bias)
				copy(g[1:n+1], p)
			} else {
				GELUBiasDeriv(d[1:n+1], g[1:n+1], p, bias)
				require.Equal(t, pre, p, "pre changed")
			}
			require.Equal(t, guard, d[0])
			require.Equal(t, guard, d[n+1])
			require.Equal(t, guard, g[0])
			require.Equal(t, guard, g[n+1])
			return d[1 : n+1], g[1 : n+1]
		}
		dst, der := run(1, false)
		dst2, der2 := run(2, true)
		require.Equal(t, dst, dst2, "%dx%d: values differ on two workers or in place", rows, out)
		require.Equal(t, der, der2, "%dx%d: derivatives differ on two workers or in place", rows, out)
		wantD, wantG := make([]float32, n), make([]float32, n)
		for r := range rows {
			geluBiasDerivPortable(wantD[r*out:(r+1)*out], wantG[r*out:(r+1)*out], pre[r*out:(r+1)*out], bias)
		}
		for i := range n {
			x := float64(pre[i] + bias[i%out])
			y, dy := geluRef(x)
			tol := 3e-7 * max(1, math.Abs(x))
			require.InDelta(t, y, dst[i], tol, "%dx%d: GELU(%g)", rows, out, x)
			require.InDelta(t, dy, der[i], tol, "%dx%d: GELU'(%g)", rows, out, x)
			require.InDelta(t, wantD[i], dst[i], 4e-7*max(1, math.Abs(float64(wantD[i]))), "%dx%d: portable GELU(%g)", rows, out, x)
			require.InDelta(t, wantG[i], der[i], 4e-7*max(1, math.Abs(float64(wantG[i]))), "%dx%d: portable GELU'(%g)", rows, out, x)
		}
	}
	require.Panics(t, func() { GELUBiasDeriv(make([]float32, 6), make([]float32, 6), make([]float32, 6), make([]float32, 4)) })
}

// TestGELUFarTail checks every GELU kernel far out in both tails, where
// exp(−x²/2) underflows (the vector kernels mask it to zero below
// u = −87): GELU(x) is x above and vanishes below, and GELU'(x) is 1
// above and vanishes below, however large |x| (a kept x·exp(−x²/2) term
// would not), on lengths the vector kernels take whole.
func TestGELUFarTail(t *testing.T) {
	tail := []float32{-13.3, -20, -1e4, -1e30, -3e38, 13.3, 20, 1e4, 1e30, 3e38}
	x := make([]float32, 16)
	for i := range x {
		x[i] = tail[i%len(tail)]
	}
	ones := make([]float32, len(x))
	for i := range ones {
		ones[i] = 1
	}
	check := func(name string, y, der []float32) {
		for i, v := range x {
			if v < 0 {
				require.LessOrEqual(t, math.Abs(float64(y[i])), 1e-36, "%s: GELU(%g) = %g", name, v, y[i])
				if der != nil {
					require.LessOrEqual(t, math.Abs(float64(der[i])), 1e-30, "%s: GELU'(%g) = %g", name, v, der[i])
				}
			} else {
				require.Equal(t, v, y[i], "%s: GELU(%g)", name, v)
				if der != nil {
					require.Equal(t, float32(1), der[i], "%s: GELU'(%g)", name, v)
				}
			}
		}
	}
	y, der := make([]float32, len(x)), make([]float32, len(x))
	GELU(y, x)
	GELUGrad(der, x, ones)
	check("GELU, GELUGrad", y, der)
	geluPortable(y, x)
	geluGradPortable(der, x, ones)
	check("portable", y, der)
	GELUBiasDeriv(y, der, x, make([]float32, len(x)))
	check("GELUBiasDeriv", y, der)
	geluBiasDerivPortable(y, der, x, make([]float32, len(x)))
	check("geluBiasDerivPortable", y, der)
}
