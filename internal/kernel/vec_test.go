package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

var vecTestSizes = []int{0, 1, 7, 15, 16, 17, 31, 33, 63, 64, 65, 1000}

// within reports whether got is within tol·scale of want.
func within(got, want, tol, scale float32) bool {
	return math.Abs(float64(got-want)) <= float64(tol*scale)
}

func TestVectorKernelsMatchPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range vecTestSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x, y := randSlice(rng, n), randSlice(rng, n)
			var absSum float32
			for _, v := range x {
				absSum += float32(math.Abs(float64(v)))
			}

			got, want := append([]float32(nil), y...), append([]float32(nil), y...)
			Axpy(0.75, x, got)
			axpyPortable(0.75, x, want)
			require.InDeltaSlice(t, want, got, 1e-6, "Axpy")

			got, want = append([]float32(nil), x...), append([]float32(nil), x...)
			Scale(-1.5, got)
			scalePortable(-1.5, want)
			require.Equal(t, want, got, "Scale")

			require.True(t, within(Dot(x, y), dotPortable(x, y), 1e-6, absSum+1), "Dot")
			require.True(t, within(Sum(x), sumPortable(x), 1e-6, absSum+1), "Sum")
			require.Equal(t, maxPortable(x), Max(x), "Max")

			got, want = make([]float32, n), make([]float32, n)
			Add(got, x, y)
			addPortable(want, x, y)
			require.Equal(t, want, got, "Add")
			Mul(got, x, y)
			mulPortable(want, x, y)
			require.Equal(t, want, got, "Mul")
			Relu(got, x)
			reluPortable(want, x)
			require.Equal(t, want, got, "Relu")

			ex := make([]float32, n)
			for i := range ex {
				ex[i] = x[i] * 90
			}
			Exp(got, ex)
			expPortable(want, ex)
			for i := range got {
				require.LessOrEqual(t, ulpDiff(got[i], want[i]), uint32(2), "Exp(%g)", ex[i])
			}
		})
	}
}

func TestVectorKernelsSpecialValues(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	x := []float32{-inf, -1, 3, negZero, inf, 2, 0, -0.5, 5, 1, 1, 1, 1, 1, 1, 1, 1}
	require.Equal(t, inf, Max(x))
	require.Equal(t, float32(math.Inf(-1)), Max(nil))
	require.Equal(t, float32(math.Inf(-1)), Max([]float32{-inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf}))
	require.True(t, isNaN(Max([]float32{nan, nan, nan, nan, nan, nan, nan, nan, nan})))
	dst := make([]float32, len(x))
	Relu(dst, x)
	requireBitsEqualf(t, []float32{0, 0, 3, 0, inf, 2, 0, 0, 5, 1, 1, 1, 1, 1, 1, 1, 1}, dst, "Relu")
	require.Equal(t, float32(0), Sum(nil))
	require.Equal(t, float32(0), Dot(nil, nil))
}

// nanTestSizes cover empty input, the scalar tail alone, one vector, the
// vector loop plus a tail, the 4-vector unrolled loop with and without the
// single-vector loop, and tails after both.
var nanTestSizes = []int{0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 40, 47, 72}

// TestNaNPropagates puts a NaN at every position of inputs of every size
// (every lane of every vector, of the unrolled and single-vector loops and
// of the scalar tail) and checks that Max returns NaN and Relu keeps it,
// matching the portable twins bit for bit.
func TestNaNPropagates(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	nan := float32(math.NaN())
	for _, n := range nanTestSizes {
		base := randSlice(rng, n)
		// Every other lane negative so Relu has zeros to produce, and the
		// largest value at the end so that a NaN must beat it.
		for i := range base {
			if i%2 == 1 {
				base[i] = -base[i] - 1
			}
		}
		if n > 0 {
			base[n-1] = 100
		}
		require.False(t, isNaN(Max(base)), "n=%d without NaN", n)
		require.Equal(t, maxPortable(base), Max(base), "n=%d", n)
		for pos := range n {
			x := append([]float32(nil), base...)
			x[pos] = nan
			require.True(t, isNaN(Max(x)), "Max n=%d NaN at %d", n, pos)
			require.True(t, isNaN(maxPortable(x)), "maxPortable n=%d NaN at %d", n, pos)

			got, want := make([]float32, n), make([]float32, n)
			Relu(got, x)
			reluPortable(want, x)
			require.True(t, isNaN(got[pos]), "Relu n=%d NaN at %d gave %g", n, pos, got[pos])
			requireBitsEqualf(t, want, got, "Relu n=%d NaN at %d", n, pos)
			for i, v := range x {
				if i != pos {
					require.Equal(t, max(v, 0), got[i], "Relu n=%d at %d", n, i)
				}
			}
		}
		// A NaN in every lane, and a NaN next to +Inf.
		all := make([]float32, n)
		for i := range all {
			all[i] = nan
		}
		if n > 0 {
			require.True(t, isNaN(Max(all)), "all NaN n=%d", n)
			all[0] = float32(math.Inf(1))
			require.True(t, isNaN(Max(all)) || n == 1, "NaN and +Inf n=%d", n)
		}
	}
}

// TestReluSignedZero checks that the assembly Relu, like its twin, turns -0
// into +0 at every position.
func TestReluSignedZero(t *testing.T) {
	for _, n := range nanTestSizes {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(math.Copysign(0, -1))
		}
		got := make([]float32, n)
		Relu(got, x)
		requireBitsEqualf(t, make([]float32, n), got, "Relu(-0) n=%d", n)
	}
}

func isNaN(v float32) bool { return v != v }

// requireBitsEqualf compares float32 slices bit for bit, so that NaN
// equals NaN and -0 differs from +0.
func requireBitsEqualf(t *testing.T, want, got []float32, format string, args ...any) {
	t.Helper()
	require.Lenf(t, got, len(want), format, args...)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Fatalf("%s: at %d want %g (%#08x), got %g (%#08x)", fmt.Sprintf(format, args...), i,
				want[i], math.Float32bits(want[i]), got[i], math.Float32bits(got[i]))
		}
	}
}

// ulpDiff is the distance between a and b counted in representable float32
// values; NaN against NaN is 0 and NaN against a number is the maximum.
func ulpDiff(a, b float32) uint32 {
	if a != a || b != b {
		if a != a && b != b {
			return 0
		}
		return math.MaxUint32
	}
	ord := func(f float32) int64 {
		u := int64(math.Float32bits(f))
		if u&(1<<31) != 0 {
			return -(u &^ (1 << 31))
		}
		return u
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	return uint32(d)
}

// TestExpAccuracy measures the worst error of Exp and its portable twin
// against the correctly rounded result over [-110, 95], which covers
// overflow, subnormal results and underflow, plus the special values.
func TestExpAccuracy(t *testing.T) {
	var xs []float32
	for x := float32(-110); x < 95; x += 0.00037 {
		xs = append(xs, x)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		xs = append(xs, float32(rng.NormFloat64()))
	}
	nan := float32(math.NaN())
	xs = append(xs, 0, float32(math.Copysign(0, -1)), nan, float32(math.Inf(1)), float32(math.Inf(-1)),
		88.72283, 88.7229, -87.33655, -103.27893, -103.97208, -104.5, math.MaxFloat32, -math.MaxFloat32, 1e-30, -1e-30)
	got := make([]float32, len(xs))
	for _, impl := range []struct {
		name string
		fn   func(dst, x []float32)
	}{{"Exp", Exp}, {"expPortable", expPortable}} {
		impl.fn(got, xs)
		var worst uint32
		var at float32
		for i, x := range xs {
			want := float32(math.Exp(float64(x)))
			if d := ulpDiff(got[i], want); d > worst {
				worst, at = d, x
			}
		}
		t.Logf("%s: max error %d ulp at x = %g", impl.name, worst, at)
		require.LessOrEqual(t, worst, uint32(3), "%s at x = %g", impl.name, at)
	}
}
