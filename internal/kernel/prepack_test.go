package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
)

// checkPacked runs GemmPacked with B packed for every implementation and
// compares it with the float64 reference of g followed by the epilogue.
func (g *gemmCase) checkPacked(t testing.TB, ep Epilogue) {
	t.Helper()
	want, mag := g.reference()
	for _, im := range gemmImpls() {
		p := packBWith(im, g.transB, g.k, g.n, g.b, g.ldb)
		require.Equal(t, im.name, p.Impl())
		got := append([]float32(nil), g.c...)
		GemmPacked(g.transA, g.m, g.alpha, g.a, g.lda, p, g.beta, got, g.ldc, ep)
		for i := 0; i < g.m; i++ {
			for j := 0; j < g.n; j++ {
				w := want[i*g.n+j]
				if ep.Bias != nil {
					w += float64(ep.Bias[j])
				}
				switch ep.Act {
				case ActReLU:
					w = math.Max(w, 0)
				case ActGELU:
					w, _ = geluRef(w)
				}
				v := float64(got[i*g.ldc+j])
				tol := 1e-6 * float64(g.k+4) * (mag[i*g.n+j] + 2)
				if math.Abs(v-w) > tol || math.IsNaN(v) {
					t.Fatalf("%s: %s bias=%v act=%d: C[%d,%d] = %g, want %g", im.name, g, ep.Bias != nil, ep.Act, i, j, v, w)
				}
			}
			for j := g.n; j < g.ldc && i*g.ldc+j < len(got); j++ {
				if math.Float32bits(got[i*g.ldc+j]) != math.Float32bits(g.c[i*g.ldc+j]) {
					t.Fatalf("%s: %s wrote padding C[%d,%d]", im.name, g, i, j)
				}
			}
		}
	}
}

func epilogues(rng *rand.Rand, n int) []Epilogue {
	bias := randSlice(rng, n)
	return []Epilogue{{}, {Bias: bias}, {Act: ActReLU}, {Bias: bias, Act: ActReLU}, {Bias: bias, Act: ActGELU}}
}

// TestGemmPackedSweep checks GemmPacked against the reference on awkward
// sizes around every implementation's tile, every transposition, padded
// strides, alpha and beta, with and without bias and ReLU.
func TestGemmPackedSweep(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	sizes := []int{1, 2, 3, 7, 12, 17, 33}
	for _, tr := range transCombos {
		for _, m := range sizes {
			for _, n := range sizes {
				for _, k := range []int{1, 7, 17, 40} {
					ab := [][2]float32{{1, 0}, {0.5, 2}, {-1.5, 1}}[(m+n+k)%3]
					g := newGemmCase(rng, tr[0], tr[1], m, n, k, (m+n)%3, ab[0], ab[1])
					for _, ep := range epilogues(rng, n) {
						g.checkPacked(t, ep)
					}
				}
			}
		}
	}
}

// TestGemmPackedLarge covers several k blocks, packed A, and the split
// across the worker pool by rows and by columns.
func TestGemmPackedLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := [][3]int{{64, 128, 784}, {1, 128, 784}, {2, 10, 128}, {13, 1000, 300}, {127, 129, 800}, {700, 70, 300}}
	if testing.Short() || raceEnabled {
		shapes = shapes[:4]
	}
	for i, s := range shapes {
		tr := transCombos[i%4]
		g := newGemmCase(rng, tr[0], tr[1], s[0], s[1], s[2], i%2*3, 1, float32(i%2))
		eps := epilogues(rng, s[1])
		g.checkPacked(t, eps[i%4])
		g.checkPacked(t, eps[3])
		g.checkPacked(t, eps[4])
	}
}

// TestGemmPackedMatchesGemm checks that a packed product is the product
// Gemm computes from the same operands (both go through the same
// micro-kernel and blocking).
func TestGemmPackedMatchesGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][3]int{{64, 128, 784}, {32, 10, 128}, {5, 33, 17}} {
		g := newGemmCase(rng, false, true, s[0], s[1], s[2], 0, 1, 0)
		want := make([]float32, len(g.c))
		Gemm(false, true, g.m, g.n, g.k, 1, g.a, g.lda, g.b, g.ldb, 0, want, g.ldc)
		got := make([]float32, len(g.c))
		GemmPacked(false, g.m, 1, g.a, g.lda, PackB(true, g.k, g.n, g.b, g.ldb), 0, got, g.ldc, Epilogue{})
		require.InDeltaSlice(t, want, got, 1e-4, "%v", s)
	}
}

func TestGemmPackedEmptyAndAlphaZero(t *testing.T) {
	p := PackB(false, 3, 2, []float32{1, 2, 3, 4, 5, 6}, 2)
	require.Equal(t, 3, p.K())
	require.Equal(t, 2, p.N())
	c := []float32{1, -2, 3, -4}
	GemmPacked(false, 2, 0, make([]float32, 6), 3, p, 2, c, 2, Epilogue{Bias: []float32{1, 1}, Act: ActReLU})
	require.Equal(t, []float32{3, 0, 7, 0}, c)
	GemmPacked(false, 0, 1, nil, 3, p, 0, nil, 2, Epilogue{})
	e := PackB(true, 0, 2, nil, 1)
	c = []float32{float32(math.NaN()), 5}
	GemmPacked(false, 1, 1, nil, 1, e, 0, c, 2, Epilogue{Bias: []float32{-1, 2}})
	require.Equal(t, []float32{-1, 2}, c)
}

func TestGemmPackedPanics(t *testing.T) {
	b := make([]float32, 6)
	require.PanicsWithValue(t, "kernel.Gemm: ldB = 2 is smaller than the 3 columns of B", func() { PackB(false, 2, 3, b, 2) })
	require.Panics(t, func() { PackB(true, -1, 2, b, 2) })
	p := PackB(false, 2, 3, b, 3)
	c := make([]float32, 6)
	require.PanicsWithValue(t, "kernel.GemmPacked: bias has 2 values, want 3", func() {
		GemmPacked(false, 2, 1, make([]float32, 4), 2, p, 0, c, 3, Epilogue{Bias: []float32{1, 2}})
	})
	require.Panics(t, func() { GemmPacked(false, 2, 1, make([]float32, 3), 2, p, 0, c, 3, Epilogue{}) })
	require.Panics(t, func() { GemmPacked(false, 2, 1, make([]float32, 4), 2, p, 0, c[:5], 3, Epilogue{}) })
}

// TestGemmPackedConcurrent runs one packed operand from many goroutines.
func TestGemmPackedConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	g := newGemmCase(rng, false, true, 70, 130, 300, 0, 1, 0)
	p := PackB(true, g.k, g.n, g.b, g.ldb)
	want := make([]float32, len(g.c))
	GemmPacked(false, g.m, 1, g.a, g.lda, p, 0, want, g.ldc, Epilogue{Act: ActReLU})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				got := make([]float32, len(g.c))
				GemmPacked(false, g.m, 1, g.a, g.lda, p, 0, got, g.ldc, Epilogue{Act: ActReLU})
				for i := range got {
					if got[i] != want[i] {
						errs[w] = fmt.Errorf("goroutine %d: C[%d] = %g, want %g", w, i, got[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		require.NoError(t, e)
	}
}

// TestGemmPackedAllocs checks that a warm packed product allocates
// nothing, on one goroutine (m=1) and split across the pool (m=64).
func TestGemmPackedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for _, m := range []int{1, 64} {
		g := newGemmCase(rng, false, true, m, 128, 784, 0, 1, 0)
		p := PackB(true, g.k, g.n, g.b, g.ldb)
		ep := Epilogue{Bias: randSlice(rng, 128), Act: ActReLU}
		run := func() { GemmPacked(false, g.m, 1, g.a, g.lda, p, 0, g.c, g.ldc, ep) }
		run()
		require.Zero(t, testalloc.PerRun(20, run), "m=%d", m)
	}
}

// BenchmarkGemmPacked is the first layer of the MNIST MLP,
// relu(x·Wᵀ + b) with x [m, 784] and W [128, 784], with W packed once
// (packed) against Gemm, which packs Wᵀ on every call (gemm). With one
// worker it also reports GFLOP/s over the thread's CPU time
// (cpuGFLOP/s), steady on a shared machine.
func BenchmarkGemmPacked(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	w, bias := randSlice(rng, 128*784), randSlice(rng, 128)
	p := PackB(true, 784, 128, w, 784)
	for _, m := range []int{1, 32, 64, 256} {
		x, c := randSlice(rng, m*784), make([]float32, m*128)
		flops := float64(2 * m * 128 * 784)
		run := func(b *testing.B, f func()) {
			single := parallel.Workers() == 1
			if single {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			cpu0, cpuOK := threadCPU()
			for b.Loop() {
				f()
			}
			cpu1, _ := threadCPU()
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if single && cpuOK && cpu1 > cpu0 {
				b.ReportMetric(flops*float64(b.N)/(cpu1-cpu0).Seconds()/1e9, "cpuGFLOP/s")
			}
		}
		b.Run(fmt.Sprintf("packed/m=%d", m), func(b *testing.B) {
			run(b, func() { GemmPacked(false, m, 1, x, 784, p, 0, c, 128, Epilogue{Bias: bias, Act: ActReLU}) })
		})
		b.Run(fmt.Sprintf("gemm/m=%d", m), func(b *testing.B) {
			run(b, func() { Gemm(false, true, m, 128, 784, 1, x, 784, w, 784, 0, c, 128) })
		})
	}
}

// TestGemmPackedRowsIndependentOfBatch checks that from two rows on, each
// row of a packed product is the same bit for bit whatever rows surround
// it: batched serving answers each request as if it ran alone.
func TestGemmPackedRowsIndependentOfBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const m, n, k = 40, 40, 800
	a, b := randSlice(rng, m*k), randSlice(rng, n*k)
	ep := Epilogue{Bias: randSlice(rng, n), Act: ActReLU}
	for _, im := range gemmImpls() {
		p := packBWith(im, true, k, n, b, k)
		full := make([]float32, m*n)
		GemmPacked(false, m, 1, a, k, p, 0, full, n, ep)
		for _, rows := range []int{2, 3, 5, 13, 25} {
			for lo := 0; lo+rows <= m; lo += 7 {
				part := make([]float32, rows*n)
				GemmPacked(false, rows, 1, a[lo*k:], k, p, 0, part, n, ep)
				require.Equal(t, full[lo*n:(lo+rows)*n], part, "%s: rows [%d, %d)", im.name, lo, lo+rows)
			}
		}
	}
}

func TestSplitRows(t *testing.T) {
	for _, c := range []struct {
		mp, np, workers int
		packA, halfTail bool
		rows            bool
	}{
		{6, 4, 2, false, true, false},   // [64 784]·[784 128] on 12×32 tiles: 22 half tiles a worker by columns, 24 by rows
		{11, 8, 2, false, false, false}, // the same on 6×16 tiles: 88 against 96
		{20, 1, 2, false, false, true},  // one column panel: rows
		{342, 4, 2, true, false, true},  // packed A: rows
		{4, 4, 2, false, false, true},   // even either way: rows
	} {
		require.Equal(t, c.rows, splitRows(c.mp, c.np, c.workers, c.packA, c.halfTail), "%+v", c)
	}
}
