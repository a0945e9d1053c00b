//go:build arm64 && !purego

package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNEONDispatch checks that arm64 runs the NEON kernels: the GEMM tests
// iterate gemmImpls, the vector tests go through the wrappers.
func TestNEONDispatch(t *testing.T) {
	require.True(t, hasASIMD)
	require.Equal(t, "neon-8x12", GemmImpl())
	require.Equal(t, []*gemmImpl{neonImpl, portableImpl}, gemmImpls())
}

// neonSizes are the multiples of 4 the assembly is called with: one
// vector, the 16-float loop alone, with the 4-float loop after it, and a
// long run.
var neonSizes = []int{4, 8, 12, 16, 20, 28, 32, 36, 64, 100, 1000}

const guard = float32(-12345.5)

// guarded returns a slice of n values followed by 4 guard values, and the
// first n as a slice of its own.
func guarded(rng *rand.Rand, n int) (all, s []float32) {
	all = append(randSlice(rng, n), guard, guard, guard, guard)
	return all, all[:n]
}

func requireGuards(t *testing.T, all []float32, n int, what string) {
	t.Helper()
	for i, v := range all[n:] {
		require.Equal(t, guard, v, "%s n=%d wrote past the end at %d", what, n, n+i)
	}
}

// TestNEONVectorKernels calls each NEON kernel directly and checks it
// against its portable twin: bit for bit where the operation is exact
// (add, mul, scale, relu, max; axpy too, because Go fuses y += a·x into
// the same FMA on arm64) and within rounding for the reordered sums. It
// also checks that nothing past n is written and that inputs are left
// unchanged.
func TestNEONVectorKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range neonSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			xa, x := guarded(rng, n)
			ya, y := guarded(rng, n)
			x0, y0 := append([]float32(nil), x...), append([]float32(nil), y...)
			var absSum, absDot float32
			for i := range x {
				absSum += float32(math.Abs(float64(x[i])))
				absDot += float32(math.Abs(float64(x[i] * y[i])))
			}

			da, d := guarded(rng, n)
			want := make([]float32, n)
			addNEON(&d[0], &x[0], &y[0], n)
			addPortable(want, x, y)
			requireBitsEqualf(t, want, d, "add")
			requireGuards(t, da, n, "add")
			mulNEON(&d[0], &x[0], &y[0], n)
			mulPortable(want, x, y)
			requireBitsEqualf(t, want, d, "mul")
			requireGuards(t, da, n, "mul")
			reluNEON(&d[0], &x[0], n)
			reluPortable(want, x)
			requireBitsEqualf(t, want, d, "relu")
			requireGuards(t, da, n, "relu")

			copy(d, y)
			copy(want, y)
			axpyNEON(-0.375, &x[0], &d[0], n)
			axpyPortable(-0.375, x, want)
			requireBitsEqualf(t, want, d, "axpy")
			requireGuards(t, da, n, "axpy")
			copy(d, y)
			copy(want, y)
			scaleNEON(1.75, &d[0], n)
			scalePortable(1.75, want)
			requireBitsEqualf(t, want, d, "scale")
			requireGuards(t, da, n, "scale")

			require.Equal(t, maxPortable(x), maxNEON(&x[0], n), "max")
			require.InDelta(t, sumPortable(x), sumNEON(&x[0], n), 1e-6*float64(absSum+1), "sum")
			require.InDelta(t, dotPortable(x, y), dotNEON(&x[0], &y[0], n), 1e-6*float64(absDot+1), "dot")

			requireBitsEqualf(t, x0, x, "x changed")
			requireBitsEqualf(t, y0, y, "y changed")
			requireGuards(t, xa, n, "x")
			requireGuards(t, ya, n, "y")
		})
	}
}

// TestNEONExp checks expNEON against expPortable bit for bit (both fuse
// the same multiply-adds on arm64) over [-110, 95], which covers overflow,
// subnormal results and underflow, and on the special values.
func TestNEONExp(t *testing.T) {
	nan := float32(math.NaN())
	xs := []float32{0, float32(math.Copysign(0, -1)), nan, float32(math.Inf(1)), float32(math.Inf(-1)),
		88.72283, 88.7229, 89, 89.5, -87.33655, -103.27893, -103.97208, -104, -104.5, math.MaxFloat32, -math.MaxFloat32, 1e-30, -1e-30}
	for x := float32(-110); x < 95; x += 0.0037 {
		xs = append(xs, x)
	}
	n := len(xs) &^ 3
	all := append(make([]float32, n), guard, guard, guard, guard)
	got, want := all[:n], make([]float32, n)
	expNEON(&got[0], &xs[0], n)
	expPortable(want, xs[:n])
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(isNaN(got[i]) && isNaN(want[i])) {
			t.Fatalf("exp(%g) = %g (%#08x), portable %g (%#08x)", xs[i], got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
	requireGuards(t, all, n, "exp")
	require.True(t, isNaN(got[2]), "exp(NaN)")
}

// TestNEONMaxEveryLane puts the largest value, then a NaN, in each
// position of each accumulator and of the 4-float loop: a lane dropped
// from the reduction would miss it.
func TestNEONMaxEveryLane(t *testing.T) {
	for _, n := range []int{4, 16, 20, 36} {
		for pos := range n {
			x := make([]float32, n)
			for i := range x {
				x[i] = -float32(i) - 1
			}
			x[pos] = 7
			require.Equal(t, float32(7), maxNEON(&x[0], n), "n=%d max at %d", n, pos)
			x[pos] = float32(math.NaN())
			require.True(t, isNaN(maxNEON(&x[0], n)), "n=%d NaN at %d", n, pos)
		}
	}
}

// TestNEONKernelTile calls the micro-kernel directly on a full 8×12 tile
// with A in place (row stride lda) and packed, for beta 0 (C holds NaN and
// must not be read) and beta 0.5, and checks the column padding of C.
func TestNEONKernelTile(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const mr, nr, ldc = 8, 12, 15
	for _, k := range []int{0, 1, 3, 17} {
		for _, packed := range []bool{false, true} {
			for _, beta := range []float32{0, 0.5} {
				const lda = 21
				a := randSlice(rng, mr*lda)
				b := randSlice(rng, max(k, 1)*nr)
				c := randSlice(rng, mr*ldc)
				if beta == 0 {
					for i := range c {
						if i%ldc < nr {
							c[i] = float32(math.NaN())
						}
					}
				}
				c0 := append([]float32(nil), c...)
				rsA, csA := lda, 1
				ap := a
				if packed {
					ap = make([]float32, max(k, 1)*mr)
					for p := 0; p < k; p++ {
						for r := 0; r < mr; r++ {
							ap[p*mr+r] = a[r*lda+p]
						}
					}
					rsA, csA = 1, mr
				}
				kern8x12NEON(k, &ap[0], rsA, csA, &b[0], nr, &c[0], ldc, 1.5, beta)
				for r := 0; r < mr; r++ {
					for j := 0; j < ldc; j++ {
						got := c[r*ldc+j]
						if j >= nr {
							require.Equal(t, c0[r*ldc+j], got, "k=%d padding C[%d,%d]", k, r, j)
							continue
						}
						var s float64
						for p := 0; p < k; p++ {
							s += float64(a[r*lda+p]) * float64(b[p*nr+j])
						}
						w := 1.5 * s
						if beta != 0 {
							w += float64(beta) * float64(c0[r*ldc+j])
						}
						require.InDelta(t, w, got, 1e-5*float64(k+1), "k=%d packed=%v beta=%g C[%d,%d]", k, packed, beta, r, j)
					}
				}
			}
		}
	}
}

// BenchmarkNEON reports the GFLOP/s of each NEON kernel on data that stays
// in L1: the micro-kernel over a 256-step panel, and the vector kernels
// over 1024 floats (a multiply-add counts two flops, max and relu one,
// exp one per element, the Adam update 15: its multiplies, fused
// multiply-adds (two each), square root and division).
func BenchmarkNEON(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const kb = 256
	ap, bp, c := randSlice(rng, kb*8), randSlice(rng, kb*12), make([]float32, 8*12)
	b.Run("kern8x12", func(b *testing.B) {
		for b.Loop() {
			kern8x12NEON(kb, &ap[0], 1, 8, &bp[0], 12, &c[0], 12, 1, 0)
		}
		b.ReportMetric(2*8*12*kb*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	const n = 1024
	x, y, d := randSlice(rng, n), randSlice(rng, n), make([]float32, n)
	m, v := make([]float32, n), make([]float32, n)
	prm := AdamParams{Beta1: 0.9, Beta2: 0.999, StepSize: 1e-3, InvBC2: 1, Eps: 1e-8}
	for _, k := range []struct {
		name  string
		flops float64
		fn    func()
	}{
		{"axpy", 2, func() { axpyNEON(0.5, &x[0], &d[0], n) }},
		{"dot", 2, func() { sink = dotNEON(&x[0], &y[0], n) }},
		{"sum", 1, func() { sink = sumNEON(&x[0], n) }},
		{"max", 1, func() { sink = maxNEON(&x[0], n) }},
		{"add", 1, func() { addNEON(&d[0], &x[0], &y[0], n) }},
		{"mul", 1, func() { mulNEON(&d[0], &x[0], &y[0], n) }},
		{"relu", 1, func() { reluNEON(&d[0], &x[0], n) }},
		{"scale", 1, func() { scaleNEON(1, &d[0], n) }},
		{"exp", 1, func() { expNEON(&d[0], &x[0], n) }},
		{"adam", 15, func() { adamNEON(&d[0], &x[0], &m[0], &v[0], n, &prm) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				k.fn()
			}
			b.ReportMetric(k.flops*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
