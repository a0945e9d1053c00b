//go:build amd64 && !purego

package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// ulps returns how many float32 values lie between a and b (same sign).
func ulps(a, b float32) int64 {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

// TestGELUBiasDerivAVX512 checks the AVX-512 kernel on GELU's test inputs
// (a fine grid over ±16, normal draws, zeros, tiny and huge values) taken
// whole, against the float64 reference with TestGELUAccuracy's bounds
// (absolute 3e−7·max(1, |x|); relative 0.2% on (−5, −1), 2% on (−9, −5])
// and against the AVX2 kernel: the same operations but for the
// reciprocal's estimate (14 bits instead of 12) before the same Newton
// step, so t may differ in its last bit, rarely (under 2% of the values
// differ), and the results then within TestGELUKernelsMatchPortable's
// 4e−7·max(1, |y|) (a few ulp where Φ + x·φ cancels). NaN stays NaN and
// the infinities give the AVX2 kernel's results; the far tails are
// TestGELUFarTail's.
func TestGELUBiasDerivAVX512(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	xs := append(geluInputs(), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)))
	xs = xs[:len(xs)&^15]
	n := len(xs)
	zero := make([]float32, n)
	y, d := make([]float32, n), make([]float32, n)
	y2, d2 := make([]float32, n), make([]float32, n)
	geluBiasDerivAVX512(&y[0], &d[0], &xs[0], &zero[0], n)
	geluBiasDerivAVX2(&y2[0], &d2[0], &xs[0], &zero[0], n)
	differ, maxULP := 0, int64(0)
	for i, x := range xs {
		if x != x {
			require.True(t, y[i] != y[i] && d[i] != d[i], "NaN in, NaN out: %g, %g", y[i], d[i])
			continue
		}
		if math.IsInf(float64(x), 0) {
			same := func(a, b float32) bool { return a == b || a != a && b != b }
			require.True(t, same(y2[i], y[i]), "GELU(%g) = %g, AVX2 kernel %g", x, y[i], y2[i])
			require.True(t, same(d2[i], d[i]), "GELU'(%g) = %g, AVX2 kernel %g", x, d[i], d2[i])
			continue
		}
		wy, wd := geluRef(float64(x))
		for _, c := range []struct {
			name      string
			got, avx2 float32
			want      float64
		}{{"GELU", y[i], y2[i], wy}, {"GELU'", d[i], d2[i], wd}} {
			e := math.Abs(float64(c.got) - c.want)
			require.LessOrEqual(t, e, 3e-7*max(1, math.Abs(float64(x))), "%s(%g) = %g, want %g", c.name, x, c.got, c.want)
			if c.name == "GELU" && x < -1 && x > -9 {
				tol := 2e-3
				if x <= -5 {
					tol = 2e-2
				}
				require.LessOrEqual(t, e, tol*math.Abs(c.want), "%s(%g) = %g, want %g", c.name, x, c.got, c.want)
			}
			require.LessOrEqual(t, math.Abs(float64(c.got-c.avx2)), 4e-7*max(1, math.Abs(float64(c.avx2))), "%s(%g) = %g, AVX2 kernel %g", c.name, x, c.got, c.avx2)
			if c.got != c.avx2 {
				differ++
				maxULP = max(maxULP, ulps(c.got, c.avx2))
			}
		}
	}
	t.Logf("%d of %d values differ from the AVX2 kernel's, by up to %d ulp", differ, 2*n, maxULP)
	require.Less(t, differ, n/50, "the reciprocals should rarely round apart")
}

// TestGELUBiasDerivRowSplit checks the row kernel's split of a row (the
// multiple-of-16 prefix in AVX-512, the next 8 in AVX2, the rest
// portable) on awkward widths: each column's value is the one the kernel
// in charge of its position gives, the guards stay untouched, and der may
// be pre.
func TestGELUBiasDerivRowSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const guard = float32(-12345)
	for _, m := range []int{1, 7, 8, 15, 16, 17, 24, 31, 32, 33, 40, 47, 48, 63, 64, 65, 96, 120, 131} {
		pre, bias := make([]float32, m), make([]float32, m)
		for i := range pre {
			pre[i] = float32(rng.NormFloat64() * 3)
			bias[i] = float32(rng.NormFloat64())
		}
		y, d := make([]float32, m+1), make([]float32, m+1)
		y[m], d[m] = guard, guard
		geluBiasDeriv(y[:m], d[:m], pre, bias)
		require.Equal(t, guard, y[m])
		require.Equal(t, guard, d[m])
		wy, wd := make([]float32, m), make([]float32, m)
		n := 0
		if hasAVX512 && m >= 16 {
			n = m &^ 15
			geluBiasDerivAVX512(&wy[0], &wd[0], &pre[0], &bias[0], n)
		}
		if e := m &^ 7; hasAVX2 && e > n {
			geluBiasDerivAVX2(&wy[n], &wd[n], &pre[n], &bias[n], e-n)
			n = e
		}
		geluBiasDerivPortable(wy[n:], wd[n:], pre[n:], bias[n:])
		require.Equal(t, wy, y[:m], "width %d: values", m)
		require.Equal(t, wd, d[:m], "width %d: derivatives", m)
		p := append([]float32(nil), pre...)
		geluBiasDeriv(y[:m], p, p, bias)
		require.Equal(t, wd, p, "width %d: derivatives in place over pre", m)
	}
}
