package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/stretchr/testify/require"
)

// TestGemmEpilogueMul checks Epilogue.Mul against the product (Gemm, beta
// zero) with the bias and the residual added and then multiplied element
// by element in plain Go, bit for bit, on every kernel, packing policy and
// worker count, on awkward sizes with ragged panels, several k blocks and
// a C row stride wider than n: the multiplier's rows lie ldc apart, as
// C's, and the padding between C's rows stays untouched.
func TestGemmEpilogueMul(t *testing.T) {
	defer parallel.SetWorkers(parallel.SetWorkers(1))
	defer func(p int) { packMode = p }(packMode)
	shapes := [][3]int{ // m, n, k
		{1, 17, 33}, {7, 5, 1}, {17, 33, 7}, {65, 100, 600}, {130, 384, 128}, {7, 513, 257},
	}
	if testing.Short() {
		shapes = [][3]int{{1, 17, 33}, {17, 33, 7}, {130, 384, 128}}
	}
	rng := rand.New(rand.NewPCG(51, 52))
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		bias := randSlice(rng, n)
		for _, tr := range transCombos {
			g := newGemmCase(rng, tr[0], tr[1], m, n, k, 3, 1.5, 0)
			res := randSlice(rng, len(g.c))
			mulBy := randSlice(rng, len(g.c))
			for _, im := range gemmImpls() {
				for _, mode := range []int{packAuto, packAlways, packNever} {
					packMode = mode
					parallel.SetWorkers(1)
					base := append([]float32(nil), g.c...)
					gemmWith(im, g.transA, g.transB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, 0, base, g.ldc)
					for ei, ep := range []Epilogue{{Mul: mulBy}, {Bias: bias, Residual: res, Mul: mulBy}} {
						want := append([]float32(nil), base...)
						for i := range m {
							for j := range n {
								v := want[i*g.ldc+j]
								if ep.Bias != nil {
									v += bias[j]
								}
								if ep.Residual != nil {
									v += res[i*g.ldc+j]
								}
								want[i*g.ldc+j] = v * mulBy[i*g.ldc+j]
							}
						}
						for _, w := range []int{1, 2, 3} {
							parallel.SetWorkers(w)
							got := append([]float32(nil), g.c...)
							gemmEpilogueWith(im, g.transA, g.transB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, got, g.ldc, ep)
							for i := range got {
								if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
									t.Fatalf("%s %s pack mode %d, epilogue %d, %d workers: C[%d] = %v, want %v", im.name, g, mode, ei, w, i, got[i], want[i])
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestGemmEpilogueMulEdges checks the multiplier on the products that skip
// the blocked loops (k = 0, one row), after the GELU's pass of its own,
// and that a short multiplier, or one given to GemmPacked, is refused.
func TestGemmEpilogueMulEdges(t *testing.T) {
	bias := []float32{1, -2, 3}
	mulBy := []float32{2, 3, -1, 7, 0.5, 4, 2}
	c := []float32{9, 9, 9, 9, 9, 9, 9, 9}
	GemmEpilogue(false, false, 2, 3, 0, 1, nil, 1, nil, 3, c, 4, Epilogue{Bias: bias, Mul: mulBy})
	require.Equal(t, []float32{2, -6, -3, 9, 0.5, -8, 6, 9}, c)
	// One row: [1 2]·[[1 0 1] [0 1 1]] = [1 2 3], plus the residual, times the multiplier.
	c = []float32{9, 9, 9}
	GemmEpilogue(false, false, 1, 3, 2, 1, []float32{1, 2}, 2, []float32{1, 0, 1, 0, 1, 1}, 3, c, 3, Epilogue{Residual: []float32{-1, 1, 0.5}, Mul: mulBy})
	require.Equal(t, []float32{0, 9, -3.5}, c)
	// The GELU's own pass: GELU(0) = 0, GELU(1)·2.
	c = []float32{9, 9}
	GemmEpilogue(false, false, 1, 2, 0, 1, nil, 1, nil, 2, c, 2, Epilogue{Bias: []float32{0, 1}, Act: ActGELU, Mul: []float32{5, 2}})
	one := []float32{1}
	gelu(one, one)
	require.Equal(t, []float32{0, 2 * one[0]}, c)
	require.PanicsWithValue(t, "kernel.GemmEpilogue: multiplier holds 6 values, need 7 for 2×3 with stride 4", func() {
		GemmEpilogue(false, false, 2, 3, 0, 1, nil, 1, nil, 3, c, 4, Epilogue{Mul: make([]float32, 6)})
	})
	require.PanicsWithValue(t, "kernel.GemmPacked: Epilogue.Mul is GemmEpilogue's only", func() {
		GemmPacked(false, 1, 1, []float32{1, 2}, 2, PackB(false, 2, 3, make([]float32, 6), 3), 0, make([]float32, 3), 3, Epilogue{Mul: mulBy})
	})
}
