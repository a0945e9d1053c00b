package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/stretchr/testify/require"
)

// gemmCase is one GEMM problem with its operands laid out in memory.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	want, mag      []float64 // reference result, computed on first use
}

func newGemmCase(rng *rand.Rand, transA, transB bool, m, n, k, pad int, alpha, beta float32) *gemmCase {
	g := &gemmCase{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	g.lda, g.ldb, g.ldc = ac+pad, bc+pad, n+pad
	g.a = randSlice(rng, (ar-1)*g.lda+ac)
	g.b = randSlice(rng, (br-1)*g.ldb+bc)
	g.c = randSlice(rng, (m-1)*g.ldc+n)
	if beta == 0 {
		for i := range g.c {
			g.c[i] = float32(math.NaN())
		}
	}
	return g
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func (g *gemmCase) elemA(i, p int) float32 {
	if g.transA {
		return g.a[p*g.lda+i]
	}
	return g.a[i*g.lda+p]
}

func (g *gemmCase) elemB(p, j int) float32 {
	if g.transB {
		return g.b[j*g.ldb+p]
	}
	return g.b[p*g.ldb+j]
}

// reference computes, once, the float64 result of the case and the sum of
// the magnitudes that enter each element, which bounds its rounding error.
func (g *gemmCase) reference() (want, mag []float64) {
	if g.want != nil {
		return g.want, g.mag
	}
	g.want, g.mag = make([]float64, g.m*g.n), make([]float64, g.m*g.n)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			var s, mg float64
			for p := 0; p < g.k; p++ {
				v := float64(g.elemA(i, p)) * float64(g.elemB(p, j))
				s += v
				mg += math.Abs(v)
			}
			w := float64(g.alpha) * s
			mg *= math.Abs(float64(g.alpha))
			if g.beta != 0 {
				cv := float64(g.c[i*g.ldc+j])
				w += float64(g.beta) * cv
				mg += math.Abs(float64(g.beta) * cv)
			}
			g.want[i*g.n+j], g.mag[i*g.n+j] = w, mg
		}
	}
	return g.want, g.mag
}

// check runs gemm on a copy of C and compares it with a float64 triple loop,
// allowing a rounding error proportional to k and the magnitudes involved.
// Padding between rows of C must be left untouched.
func (g *gemmCase) check(t testing.TB, name string, gemm func(c []float32)) {
	want, mag := g.reference()
	got := append([]float32(nil), g.c...)
	gemm(got)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			v, w := float64(got[i*g.ldc+j]), want[i*g.n+j]
			if math.Abs(v-w) > 1e-6*float64(g.k+4)*(mag[i*g.n+j]+1e-30) || math.IsNaN(v) {
				t.Fatalf("%s: %s C[%d,%d] = %g, want %g", name, g, i, j, v, w)
			}
		}
		for j := g.n; j < g.ldc && i*g.ldc+j < len(got); j++ {
			if math.Float32bits(got[i*g.ldc+j]) != math.Float32bits(g.c[i*g.ldc+j]) {
				t.Fatalf("%s: %s wrote padding C[%d,%d]", name, g, i, j)
			}
		}
	}
}

func (g *gemmCase) String() string {
	return fmt.Sprintf("transA=%v transB=%v m=%d n=%d k=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d",
		g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta, g.lda, g.ldb, g.ldc)
}

// checkAll checks g with every implementation and packing policy.
func (g *gemmCase) checkAll(t testing.TB) {
	for _, im := range gemmImpls() {
		for _, mode := range []int{packAuto, packNever, packAlways} {
			packMode = mode
			g.check(t, fmt.Sprintf("%s/pack%d", im.name, mode), func(c []float32) {
				gemmWith(im, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
			})
		}
	}
	packMode = packAuto
}

var transCombos = [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}}

func TestGemmSweepSmall(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	others := []int{1, 7, 16, 33, 40}
	for _, tr := range transCombos {
		for d := 1; d <= 40; d++ {
			for i, o := range others {
				k := []int{1, 5, 17, 40, 3}[i]
				pad := d % 3
				newGemmCase(rng, tr[0], tr[1], d, o, k, pad, 1, 0).checkAll(t)   // m sweep
				newGemmCase(rng, tr[0], tr[1], o, d, k, pad, 0.5, 2).checkAll(t) // n sweep
				newGemmCase(rng, tr[0], tr[1], o, 40-o+1, d, pad, -1.5, 1).checkAll(t)
			}
		}
	}
}

func TestGemmLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// {20, 50, 1100} is small but splits k into blocks on every kernel
	// (k > 2·kc); the others split k or not by shape and kernel.
	shapes := [][3]int{{127, 128, 129}, {128, 128, 128}, {129, 127, 257}, {20, 50, 1100}, {511, 33, 300}, {1000, 65, 29}, {37, 1000, 511}, {64, 784, 128}, {200, 100, 1000}}
	if testing.Short() || raceEnabled {
		shapes = shapes[:4]
	}
	for i, s := range shapes {
		tr := transCombos[i%4]
		for _, ab := range [][2]float32{{1, 0}, {0.5, -2}} {
			newGemmCase(rng, tr[0], tr[1], s[0], s[1], s[2], i%2*5, ab[0], ab[1]).checkAll(t)
		}
	}
}

func TestGemmAlphaZeroAndEmpty(t *testing.T) {
	c := []float32{1, 2, 3, float32(math.NaN())}
	Gemm(false, false, 2, 2, 3, 0, make([]float32, 6), 3, make([]float32, 6), 2, 2, c, 2)
	require.Equal(t, []float32{2, 4, 6}, c[:3])
	require.True(t, math.IsNaN(float64(c[3])))
	Gemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	require.Equal(t, []float32{0, 0, 0, 0}, c)
	Gemm(false, false, 0, 0, 5, 1, nil, 5, nil, 1, 0, nil, 1) // nothing to do
}

func TestGemmPanics(t *testing.T) {
	a := make([]float32, 6)
	require.PanicsWithValue(t, "kernel.Gemm: ldA = 2 is smaller than the 3 columns of A", func() {
		Gemm(false, false, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2)
	})
	require.Panics(t, func() { Gemm(false, false, 2, 2, 3, 1, a[:5], 3, a, 2, 0, a, 2) })
	require.Panics(t, func() { Gemm(false, false, -1, 2, 3, 1, a, 3, a, 2, 0, a, 2) })
}

// TestGemmMatchesPortable checks that the assembly and portable kernels agree
// on a mid-sized problem that goes through packing and threading.
func TestGemmMatchesPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	g := newGemmCase(rng, false, true, 150, 170, 300, 3, 1, 0.5)
	want := append([]float32(nil), g.c...)
	gemmWith(portableImpl, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, want, g.ldc)
	for _, im := range gemmImpls() {
		got := append([]float32(nil), g.c...)
		gemmWith(im, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, got, g.ldc)
		require.InDeltaSlice(t, want, got, 1e-3, im.name)
	}
}

func TestGemmConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for it := range 3 {
				tr := transCombos[(w+it)%4]
				g := newGemmCase(rng, tr[0], tr[1], 90+w, 100, 70+it, 1, 1, 0)
				ok := t.Run("", func(t *testing.T) {
					g.check(t, "Gemm", func(c []float32) {
						Gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
					})
				})
				if !ok {
					errs <- g.String()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func FuzzGemm(f *testing.F) {
	f.Add(uint8(5), uint8(7), uint8(3), false, true, uint8(1), uint64(1))
	f.Add(uint8(40), uint8(33), uint8(64), true, false, uint8(0), uint64(2))
	f.Fuzz(func(t *testing.T, m, n, k uint8, transA, transB bool, pad uint8, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 0))
		mm, nn, kk := int(m%80)+1, int(n%80)+1, int(k%80)+1
		beta := []float32{0, 1, 0.5}[seed%3]
		newGemmCase(rng, transA, transB, mm, nn, kk, int(pad%4), 1.25, beta).checkAll(t)
	})
}

// TestGemmBatchOne covers the one-row path (gemv) on the sizes around its
// assembly blocks: 64 and 16 columns for B in place, four rows of eight
// for a transposed B, with every alpha/beta form (the direct write and
// the scaled merge) and a strided row of A (transA with padding).
func TestGemmBatchOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, tr := range transCombos {
		for _, n := range []int{1, 4, 7, 15, 16, 17, 33, 63, 64, 65, 100, 130} {
			for _, k := range []int{1, 7, 8, 9, 17, 33} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 2}, {-1.5, 1}, {1, 1}} {
					newGemmCase(rng, tr[0], tr[1], 1, n, k, (n+k)%3, ab[0], ab[1]).checkAll(t)
				}
			}
		}
	}
}

// TestPickImpl checks the kernel choice by shape: narrow outputs take the
// 16-wide tile, and on AVX-512 a batch of 64 rows the 8-row tile, which
// needs no padded panel.
func TestPickImpl(t *testing.T) {
	if narrow != nil {
		require.Same(t, narrow, pickImpl(64, 10))
		require.Same(t, narrow, pickImpl(4096, 16))
		if tail != nil && tail.mr < narrow.mr {
			// Ten rows: 12 on the 6-row tile against 16.
			require.Same(t, tail, pickImpl(10, 10))
			require.Same(t, narrow, pickImpl(48, 10))
		}
	}
	if hasTail := tail != nil && active.mr > tail.mr && active.nr%tail.nr == 0; hasTail {
		// GemmPacked computes a short last row panel on the tail kernel.
		require.Same(t, tail, tailImpl(active))
	}
	if short == nil {
		require.Same(t, active, pickImpl(64, 128))
		return
	}
	require.Same(t, short, pickImpl(64, 128))
	require.Same(t, short, pickImpl(128, 784))
	require.Same(t, active, pickImpl(72, 128))  // 6 full panels of 12
	require.Same(t, active, pickImpl(512, 512)) // past shortRows
}

// TestGemmWorkersSplit checks that a product split over 2 and 3 workers
// (by row panels, or by column panels when there are few rows) equals the
// one-worker product bit for bit, on awkward sizes with ragged last panels
// in both directions and with beta ≠ 0, so that a tile skipped or computed
// twice shows, on every kernel and packing policy.
func TestGemmWorkersSplit(t *testing.T) {
	defer parallel.SetWorkers(parallel.SetWorkers(1))
	defer func(p int) { packMode = p }(packMode)
	shapes := [][3]int{ // m, n, k; all but the first reach gemmParallelFlops
		{1, 513, 1025}, {513, 513, 257}, {257, 33, 513}, {7, 513, 257},
		{17, 513, 129}, {513, 7, 257}, {513, 1, 1025}, {33, 257, 65},
	}
	if testing.Short() {
		shapes = [][3]int{{257, 33, 513}, {7, 513, 257}, {33, 257, 65}}
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, s := range shapes {
		for _, tr := range transCombos {
			g := newGemmCase(rng, tr[0], tr[1], s[0], s[1], s[2], 3, 1.5, 0.5)
			for _, im := range gemmImpls() {
				for _, mode := range []int{packAuto, packAlways} {
					packMode = mode
					var want []float32
					for _, w := range []int{1, 2, 3} {
						parallel.SetWorkers(w)
						got := append([]float32(nil), g.c...)
						gemmWith(im, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, got, g.ldc)
						if w == 1 {
							want = got
							continue
						}
						if !slices.Equal(want, got) {
							t.Fatalf("%s %s pack mode %d: %d workers differ from one", im.name, g, mode, w)
						}
					}
				}
			}
		}
	}
}

// TestSplitPanels checks how a product is shared among workers: the
// operand read in place is split so that no part packs another's share;
// with nothing packed the smaller operand is the one every part reads,
// unless that leaves too few panels to share; and there are more parts
// than workers only where that packs nothing twice and the operand every
// part reads whole is small.
func TestSplitPanels(t *testing.T) {
	cases := []struct {
		name                 string
		workers, m, n, k     int
		mr, nr               int
		packA, packB, byRows bool
		parts                int
	}{
		// The MLP's products, nothing packed: A is the smaller operand.
		{"mlp forward avx2", 2, 64, 128, 784, 6, 16, false, false, false, 8},
		{"mlp forward avx512", 2, 64, 128, 784, 8, 32, false, false, false, 4},
		{"mlp weight gradient", 2, 128, 784, 64, 8, 32, false, false, false, 8},
		{"tall", 2, 784, 128, 64, 8, 32, false, false, true, 8},
		{"m ≥ n but too few row panels", 2, 16, 16, 16, 8, 4, false, false, false, 4},
		{"few columns for m < n", 2, 17, 30, 100, 6, 16, false, false, true, 3},
		{"one by two panels", 2, 6, 32, 100, 6, 16, false, false, false, 2},
		// 512³ in place: every part would read all 1 MB of B.
		{"512 in place", 2, 512, 512, 512, 12, 32, false, false, true, 2},
		{"only B packed", 2, 64, 128, 784, 8, 32, false, true, false, 4},
		{"only B, A too large to read by every part", 2, 1024, 4096, 256, 12, 32, false, true, false, 2},
		{"only B, few columns", 2, 64, 96, 784, 8, 32, false, true, true, 2}, // B packed by each part
		// A language model's 4096 tokens against a 128×384 weight: every
		// part packs the 196 KB of B rather than streaming all 2 MB of A.
		{"only B, A far larger", 2, 4096, 384, 128, 12, 32, false, true, true, 2},
		{"only B, A not 8 times larger", 2, 2048, 384, 128, 12, 32, false, true, false, 2},
		{"only A packed", 2, 24, 1600, 32, 6, 16, true, false, true, 4},
		// A weight gradient Xᵀ·dY over 4096 tokens: B (4096×384) is the
		// larger, so each part packs only its share of it.
		{"both, B larger", 2, 128, 384, 4096, 6, 16, true, true, false, 2},
		{"both, B larger, few column panels", 2, 128, 24, 4096, 6, 16, true, true, true, 2},
		{"both packed", 2, 512, 512, 512, 6, 16, true, true, true, 2},
		{"both, one row panel", 3, 6, 512, 512, 6, 16, true, true, false, 3},
		{"more workers than panels", 4, 18, 32, 100, 6, 16, false, false, true, 3},
		{"one worker", 1, 64, 128, 784, 6, 16, false, false, false, 1},
	}
	for _, c := range cases {
		mp, np := (c.m+c.mr-1)/c.mr, (c.n+c.nr-1)/c.nr
		parts, byRows := splitPanels(c.workers, c.m, c.n, c.k, mp, np, c.packA, c.packB)
		require.Equal(t, c.byRows, byRows, c.name)
		require.Equal(t, c.parts, parts, c.name)
	}
}

// TestChoosePacking checks the packing policy by shape and implementation:
// a tile that sets packAbove lower packs both operands of 512³, which
// others read in place, and a transposed B is packed at any size.
func TestChoosePacking(t *testing.T) {
	defer func(p int) { packMode = p }(packMode)
	packMode = packAuto
	wide := &gemmImpl{mr: 12, nr: 32, kc: 512, mc: 240, nc: 2048, inPlaceA: true, rowsOuter: true}
	short := &gemmImpl{mr: 8, nr: 32, kc: 512, mc: 240, nc: 2048, inPlaceA: true, packTransA: true}
	lowered := &gemmImpl{mr: 6, nr: 16, kc: 256, mc: 96, nc: 2048, packTransA: true, packAbove: 1 << 26}
	cases := []struct {
		name           string
		im             *gemmImpl
		m, n, k        int
		transA, transB bool
		packA, packB   bool
	}{
		{"512 default", wide, 512, 512, 512, false, false, false, false},
		{"512 lowered", lowered, 512, 512, 512, false, false, true, true},
		{"400 lowered", lowered, 400, 400, 400, false, false, false, false},
		{"1024 default", wide, 1024, 1024, 1024, false, false, true, true}, // A rows beyond inPlaceALd
		{"NT small", wide, 64, 128, 784, false, true, false, true},
		{"TN lowered small", lowered, 128, 784, 64, true, false, true, false},
		// One column panel uses each A panel once: packing cannot pay.
		{"TN lowered narrow", lowered, 128, 10, 64, true, false, false, false},
		// A weight gradient over 4096 tokens: B read in place on the
		// wide tile, unless its rows are too far apart or C has many rows.
		{"weight gradient", wide, 128, 384, 4096, true, false, false, false},
		{"weight gradient, 512 rows", wide, 512, 128, 4096, true, false, false, false},
		{"weight gradient, 513 rows", wide, 513, 128, 4096, true, false, true, true},
		{"weight gradient, wide B", wide, 128, 1024, 4096, true, false, false, true},
		{"weight gradient lowered", lowered, 128, 384, 4096, true, false, true, false},
		{"weight gradient lowered, 512 rows", lowered, 512, 128, 4096, true, false, true, true},
		{"lowered, k under 8m", lowered, 160, 512, 1000, true, false, true, true},
		// The 8-row tile packs a transposed A against B read in place
		// and many column panels, and packs B rows 2 KB apart, which it
		// would otherwise keep in L1 (it walks rows inside columns),
		// then reading A in place; the wide tile streams B panels past
		// its A panels.
		{"weight gradient short", short, 128, 384, 4096, true, false, true, false},
		{"weight gradient short, B rows 2 KB apart", short, 128, 512, 4096, true, false, false, true},
		{"weight gradient short and small, B rows 2 KB apart", short, 128, 512, 2048, true, false, false, true},
		{"weight gradient short, two k blocks", short, 128, 512, 1024, true, false, false, false},
		{"weight gradient short, eight column panels", short, 128, 256, 2048, true, false, false, false},
		{"weight gradient short, four column panels", short, 128, 128, 2048, true, false, false, false},
		{"weight gradient, B rows 2 KB apart", wide, 128, 512, 4096, true, false, false, false},
		{"short, one column panel", short, 128, 32, 4096, true, false, false, false},
		{"short and small, B rows 2 KB apart", short, 64, 512, 64, false, false, false, false},
	}
	for _, c := range cases {
		rsA, csA, rsB, csB := c.k, 1, c.n, 1
		if c.transA {
			rsA, csA = 1, c.m
		}
		if c.transB {
			rsB, csB = 1, c.k
		}
		g := gemmPlan{im: c.im, m: c.m, n: c.n, k: c.k, rsA: rsA, csA: csA, rsB: rsB, csB: csB}
		g.choosePacking()
		require.Equal(t, c.packA, g.packA, c.name+": packA")
		require.Equal(t, c.packB, g.packB, c.name+": packB")
	}
}
