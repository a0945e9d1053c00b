package kernel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/stretchr/testify/require"
)

// TestGemmEpilogue checks GemmEpilogue against Gemm (beta zero) followed
// by the epilogue over whole rows, bit for bit, on every kernel, packing
// policy and worker count (a GELU applied to blocks cut between its
// vectors would round some columns differently), with and without a
// residual (whose rows lie ldc apart, as C's), on awkward sizes with ragged
// panels, several k blocks and a C row stride wider than n, whose padding
// must stay untouched.
func TestGemmEpilogue(t *testing.T) {
	defer parallel.SetWorkers(parallel.SetWorkers(1))
	defer func(p int) { packMode = p }(packMode)
	shapes := [][3]int{ // m, n, k
		{1, 17, 33}, {7, 5, 1}, {17, 33, 7}, {33, 65, 2}, {65, 100, 600},
		{130, 384, 128}, {257, 33, 513}, {7, 513, 257},
	}
	if testing.Short() {
		shapes = [][3]int{{17, 33, 7}, {33, 65, 2}, {130, 384, 128}, {7, 513, 257}}
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		bias := randSlice(rng, n+3) // longer than n: only the first n count
		for _, tr := range transCombos {
			g := newGemmCase(rng, tr[0], tr[1], m, n, k, 3, 1.5, 0)
			res := randSlice(rng, len(g.c))
			eps := []Epilogue{{Bias: bias}, {Bias: bias, Act: ActReLU}, {Act: ActGELU},
				{Bias: bias, Residual: res}, {Residual: res}, {Bias: bias, Act: ActGELU, Residual: res}}
			for _, im := range gemmImpls() {
				for _, mode := range []int{packAuto, packAlways, packNever} {
					packMode = mode
					parallel.SetWorkers(1)
					base := append([]float32(nil), g.c...)
					gemmWith(im, g.transA, g.transB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, 0, base, g.ldc)
					for ei, ep := range eps {
						want := append([]float32(nil), base...)
						for i := range m {
							epilogueCols(want[i*g.ldc:i*g.ldc+n], ep, 0, i*g.ldc)
						}
						var one []float32
						for _, w := range []int{1, 2, 3} {
							parallel.SetWorkers(w)
							got := append([]float32(nil), g.c...)
							gemmEpilogueWith(im, g.transA, g.transB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, got, g.ldc, ep)
							if w == 1 {
								one = got
							} else if !slices.EqualFunc(one, got, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }) {
								t.Fatalf("%s %s pack mode %d, epilogue %d: %d workers differ from one", im.name, g, mode, ei, w)
							}
							for i := range got {
								wv, gv := want[i], got[i]
								if math.Float32bits(wv) != math.Float32bits(gv) {
									t.Fatalf("%s %s pack mode %d, epilogue %d, %d workers: C[%d] = %v, want %v", im.name, g, mode, ei, w, i, gv, wv)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestGemmEpilogueEdges checks the products that skip the blocked loops:
// with k = 0 (and alpha = 0) C becomes the bias, with one row the bias is
// added to the vector product; and that a bias shorter than the output
// rows is refused.
func TestGemmEpilogueEdges(t *testing.T) {
	bias := []float32{1, -2, 3}
	c := []float32{9, 9, 9, 9, 9, 9, 9, 9}
	GemmEpilogue(false, false, 2, 3, 0, 1, nil, 1, nil, 3, c, 4, Epilogue{Bias: bias, Act: ActReLU})
	require.Equal(t, []float32{1, 0, 3, 9, 1, 0, 3, 9}, c)
	c = []float32{9, 9, 9, 9, 9, 9, 9, 9}
	GemmEpilogue(false, false, 2, 3, 2, 0, make([]float32, 4), 2, make([]float32, 6), 3, c, 4, Epilogue{Bias: bias})
	require.Equal(t, []float32{1, -2, 3, 9, 1, -2, 3, 9}, c)
	// One row: [1 2]·[[1 0 1] [0 1 1]] = [1 2 3], plus the bias.
	c = []float32{9, 9, 9}
	GemmEpilogue(false, false, 1, 3, 2, 1, []float32{1, 2}, 2, []float32{1, 0, 1, 0, 1, 1}, 3, c, 3, Epilogue{Bias: bias})
	require.Equal(t, []float32{2, 0, 6}, c)
	// The residual lands on the same rows, its stride C's.
	c = []float32{9, 9, 9, 9, 9, 9, 9, 9}
	GemmEpilogue(false, false, 2, 3, 0, 1, nil, 1, nil, 3, c, 4, Epilogue{Bias: bias, Act: ActReLU, Residual: []float32{1, 2, 3, 7, 4, 5, 6}})
	require.Equal(t, []float32{2, 2, 6, 9, 5, 5, 9, 9}, c)
	c = []float32{9, 9, 9}
	GemmEpilogue(false, false, 1, 3, 2, 1, []float32{1, 2}, 2, []float32{1, 0, 1, 0, 1, 1}, 3, c, 3, Epilogue{Residual: []float32{-1, 1, 0.5}})
	require.Equal(t, []float32{0, 3, 3.5}, c)
	require.PanicsWithValue(t, "kernel.GemmEpilogue: residual holds 6 values, need 7 for 2×3 with stride 4", func() {
		GemmEpilogue(false, false, 2, 3, 0, 1, nil, 1, nil, 3, c, 4, Epilogue{Residual: make([]float32, 6)})
	})
	require.Panics(t, func() {
		GemmPacked(false, 1, 1, []float32{1, 2}, 2, PackB(false, 2, 3, make([]float32, 6), 3), 0, c, 3, Epilogue{Residual: c})
	})

	c = make([]float32, 4*5)
	require.PanicsWithValue(t, "kernel.GemmEpilogue: bias holds 4 values, need 5", func() {
		GemmEpilogue(false, false, 4, 5, 3, 1, make([]float32, 12), 3, make([]float32, 15), 5, c, 5, Epilogue{Bias: make([]float32, 4)})
	})
}

// TestGemmGELUBiasDeriv checks GemmGELUBiasDeriv against Gemm followed by
// GELUBiasDeriv, bit for bit, on every kernel, packing policy and worker
// count, on awkward widths (tails past the last full vector), shapes
// split by rows and by columns, several k blocks, and a width beyond the
// portable kernel's column block.
func TestGemmGELUBiasDeriv(t *testing.T) {
	defer parallel.SetWorkers(parallel.SetWorkers(1))
	defer func(p int) { packMode = p }(packMode)
	shapes := [][3]int{ // m, n, k
		{1, 17, 33}, {7, 5, 1}, {17, 33, 7}, {65, 100, 600}, {130, 260, 128},
		{7, 513, 257}, {5, 1030, 70}, {257, 45, 300},
	}
	if testing.Short() {
		shapes = [][3]int{{17, 33, 7}, {130, 260, 128}, {7, 513, 257}, {5, 1030, 70}}
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		bias := randSlice(rng, n)
		for _, tr := range transCombos {
			g := newGemmCase(rng, tr[0], tr[1], m, n, k, 3, 1, 0)
			for _, im := range gemmImpls() {
				for _, mode := range []int{packAuto, packAlways, packNever} {
					packMode = mode
					parallel.SetWorkers(1)
					wantDer := make([]float32, m*n)
					gemmWith(im, g.transA, g.transB, m, n, k, 1, g.a, g.lda, g.b, g.ldb, 0, wantDer, n)
					wantY := make([]float32, m*n)
					GELUBiasDeriv(wantY, wantDer, wantDer, bias)
					for _, w := range []int{1, 2, 3} {
						parallel.SetWorkers(w)
						y, der := make([]float32, m*n), make([]float32, m*n)
						for i := range der {
							der[i] = float32(math.NaN()) // written without being read
						}
						gemmGELUBiasDerivWith(im, g.transA, g.transB, m, n, k, g.a, g.lda, g.b, g.ldb, bias, y, der)
						for i := range y {
							if math.Float32bits(y[i]) != math.Float32bits(wantY[i]) || math.Float32bits(der[i]) != math.Float32bits(wantDer[i]) {
								t.Fatalf("%s %s pack mode %d, %d workers: y[%d], der[%d] = %v, %v, want %v, %v", im.name, g, mode, w, i, i, y[i], der[i], wantY[i], wantDer[i])
							}
						}
					}
				}
			}
		}
	}
	require.Panics(t, func() {
		GemmGELUBiasDeriv(false, false, 2, 3, 1, make([]float32, 2), 1, make([]float32, 3), 3, make([]float32, 2), make([]float32, 6), make([]float32, 6))
	})
}
