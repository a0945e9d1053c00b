package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDotRows checks DotRows and its portable twin against float64 sums on
// awkward sizes, with a row stride wider than the rows, beta 0 (dst not
// read: a NaN there must not leak) and beta ≠ 0, and guards around dst.
func TestDotRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const guard = float32(-777)
	for _, n := range []int{0, 1, 3, 4, 5, 9, 17} {
		for _, k := range []int{1, 7, 8, 15, 16, 17, 33, 128} {
			for _, beta := range []float32{0, 0.5} {
				ldb := k + 3
				a := make([]float32, k)
				for i := range a {
					a[i] = float32(rng.NormFloat64())
				}
				b := make([]float32, max(n-1, 0)*ldb+k)
				for i := range b {
					b[i] = float32(rng.NormFloat64())
				}
				init := make([]float32, n)
				for i := range init {
					init[i] = float32(rng.NormFloat64())
				}
				for name, fn := range map[string]func(dst, a, b []float32, ldb int, beta float32){"DotRows": DotRows, "dotRowsPortable": dotRowsPortable} {
					dst := make([]float32, n+2)
					dst[0], dst[n+1] = guard, guard
					copy(dst[1:], init)
					if beta == 0 && n > 0 {
						dst[1] = float32(math.NaN())
					}
					fn(dst[1:n+1], a, b, ldb, beta)
					require.Equal(t, guard, dst[0], name)
					require.Equal(t, guard, dst[n+1], name)
					for j := 0; j < n; j++ {
						var want float64
						for p := 0; p < k; p++ {
							want += float64(a[p]) * float64(b[j*ldb+p])
						}
						want += float64(beta) * float64(init[j])
						require.InDelta(t, want, dst[j+1], 1e-5*math.Sqrt(float64(k)), "%s n=%d k=%d beta=%g row %d", name, n, k, beta, j)
					}
				}
			}
		}
	}
	require.Panics(t, func() { DotRows(make([]float32, 2), make([]float32, 4), make([]float32, 7), 4, 0) })
}

// BenchmarkDotRows compares DotRows with Gemm on one row (its
// matrix–vector path) for the shapes of the example language models'
// layers at batch 1.
func BenchmarkDotRows(b *testing.B) {
	for _, s := range []struct{ n, k int }{{384, 128}, {512, 128}, {128, 512}, {1024, 256}} {
		a, w, c := make([]float32, s.k), make([]float32, s.n*s.k), make([]float32, s.n)
		for i := range w {
			w[i] = float32(i%7) - 3
		}
		b.Run(fmt.Sprintf("DotRows-%dx%d", s.n, s.k), func(b *testing.B) {
			for b.Loop() {
				DotRows(c, a, w, s.k, 0)
			}
			b.ReportMetric(2*float64(s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("Gemm-%dx%d", s.n, s.k), func(b *testing.B) {
			for b.Loop() {
				Gemm(false, true, 1, s.n, s.k, 1, a, s.k, w, s.k, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
