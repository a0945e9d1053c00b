package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGemmTileOrder checks both walks of a block's tiles (column panel
// by column panel, and row panel by row panel: gemmImpl.rowsOuter) on
// every implementation against the float64 reference and against each
// other bit for bit, on sizes that leave ragged last panels in both
// directions, cross the mc row blocks and the k blocks, with beta ≠ 0 and
// under every packing policy, so that a tile skipped, computed twice or
// given the wrong panel of A or B shows.
func TestGemmTileOrder(t *testing.T) {
	defer func(p int) { packMode = p }(packMode)
	rng := rand.New(rand.NewPCG(31, 32))
	shapes := [][3]int{ // m, n, k
		{1, 33, 17}, {7, 65, 1}, {17, 7, 33}, {33, 97, 7}, {50, 33, 400},
		{250, 70, 17}, {301, 65, 130}, {25, 130, 1100},
	}
	if testing.Short() {
		shapes = shapes[:5]
	}
	for i, s := range shapes {
		tr := transCombos[i%4]
		g := newGemmCase(rng, tr[0], tr[1], s[0], s[1], s[2], i%3, 1.5, 0.5)
		for _, base := range gemmImpls() {
			for _, mode := range []int{packAuto, packNever, packAlways} {
				packMode = mode
				var out [2][]float32
				for o, rowsOuter := range []bool{false, true} {
					im := *base
					im.rowsOuter = rowsOuter
					name := fmt.Sprintf("%s/rowsOuter=%v/pack%d", im.name, rowsOuter, mode)
					g.check(t, name, func(c []float32) {
						gemmWith(&im, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
						out[o] = c
					})
				}
				if !slices.Equal(out[0], out[1]) {
					t.Fatalf("%s pack mode %d: %s differs between the two tile orders", base.name, mode, g)
				}
			}
		}
	}
}

// TestGemmRowsIndependentOfHeight checks that the rows a product of m
// rows shares with a taller one over the same A, B and k come out with
// the same bits, where pickImpl gives the two heights different kernels
// (8 and 12 rows on AVX-512) and k takes several blocks: the kernels'
// k blocks must agree, as callers that split a product by rows (a
// recurrent layer's steps) rely on.
func TestGemmRowsIndependentOfHeight(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const n = 96
	for _, k := range []int{300, 1000, 1100, 1600} {
		for _, h := range [][2]int{{64, 72}, {200, 204}} {
			a := randSlice(rng, h[1]*k)
			b := randSlice(rng, k*n)
			var out [2][]float32
			for i, m := range h {
				out[i] = make([]float32, m*n)
				Gemm(false, false, m, n, k, 1, a, k, b, n, 0, out[i], n)
			}
			if !slices.Equal(out[0], out[1][:h[0]*n]) {
				t.Fatalf("k=%d: the first %d rows of a %d-row product (%s) differ from a %d-row one (%s)",
					k, h[0], h[1], pickImpl(h[1], n).name, h[0], pickImpl(h[0], n).name)
			}
		}
	}
	// A weight gradient Aᵀ·B whose A has rows 2 KB apart: the taller
	// product is computed transposed (transposedImpl), the shorter one
	// directly on the 8-row tile.
	const wn, lda = 128, inPlaceALd
	for _, k := range []int{1100, 2048} {
		a := randSlice(rng, (k-1)*lda+264)
		b := randSlice(rng, k*wn)
		var out [2][]float32
		for i, m := range []int{256, 264} {
			out[i] = make([]float32, m*wn)
			Gemm(true, false, m, wn, k, 1, a, lda, b, wn, 0, out[i], wn)
		}
		if !slices.Equal(out[0], out[1][:256*wn]) {
			t.Fatalf("k=%d: the first 256 rows of a transposed-A product of 264 rows (transposed: %v) differ from a 256-row one",
				k, transposedImpl(pickImpl(264, wn), true, false, 264, wn, k, lda, 0) != nil)
		}
	}
}

// TestGemmTilesKernel checks that a kernel computing several tiles per
// call (gemmImpl.tiles) gives each tile the bits of one call per tile, in
// both tile orders, under every packing policy, with beta zero and not,
// on sizes with ragged panels both ways, several row and column panels,
// odd k and several k blocks, and that it writes nothing outside C's m×n
// (the padding between C's rows keeps its values): a tile skipped,
// written twice or given the wrong A, B or C shows.
func TestGemmTilesKernel(t *testing.T) {
	defer func(p int) { packMode = p }(packMode)
	rng := rand.New(rand.NewPCG(51, 52))
	shapes := [][3]int{ // m, n, k
		{24, 64, 9}, {37, 100, 33}, {100, 97, 130}, {250, 160, 1100}, {64, 256, 512},
	}
	ran := false
	for i, s := range shapes {
		tr := transCombos[i%4]
		for _, beta := range []float32{0, 0.5} {
			g := newGemmCase(rng, tr[0], tr[1], s[0], s[1], s[2], 1+i%3, 1.5, beta)
			for _, base := range gemmImpls() {
				if base.tiles == nil {
					continue
				}
				ran = true
				for _, mode := range []int{packAuto, packNever, packAlways} {
					packMode = mode
					for _, rowsOuter := range []bool{false, true} {
						var out [2][]float32
						for o, tiles := range []bool{true, false} {
							im := *base
							im.rowsOuter = rowsOuter
							if !tiles {
								im.tiles = nil
							}
							out[o] = append([]float32(nil), g.c...)
							gemmWith(&im, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, out[o], g.ldc)
						}
						// Bits, not values: with beta zero C starts as NaN,
						// which the padding must keep.
						if !slices.EqualFunc(out[0], out[1], func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }) {
							t.Fatalf("%s rowsOuter=%v pack mode %d: %s differs with tiles per call", base.name, rowsOuter, mode, g)
						}
					}
				}
			}
		}
	}
	if !ran {
		t.Skip("no kernel of this machine computes several tiles per call")
	}
}

// TestGemmTransposed checks that a weight gradient computed as its
// transpose (transposedImpl) has the bits of the direct product, with
// beta 0 and 1, rows and columns that leave ragged panels, C's rows
// padded, and that it writes nothing outside C's m×n.
func TestGemmTransposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	ran := false
	for _, s := range [][3]int{{512, 128, 2048}, {500, 120, 1100}} { // m, n, k
		m, n, k := s[0], s[1], s[2]
		for _, beta := range []float32{0, 1} {
			tr := transposedImpl(active, true, false, m, n, k, inPlaceALd, beta)
			if tr == nil {
				continue
			}
			ran = true
			const ldc = 130
			a := randSlice(rng, (k-1)*inPlaceALd+m)
			b := randSlice(rng, k*n)
			c0 := randSlice(rng, (m-1)*ldc+n)
			if beta == 0 {
				for i := range c0 {
					c0[i] = float32(math.NaN())
				}
			}
			got := append([]float32(nil), c0...)
			Gemm(true, false, m, n, k, 1.5, a, inPlaceALd, b, n, beta, got, ldc)
			// The direct product: the other tile order (the same bits,
			// see TestGemmTileOrder) takes no transpose.
			direct := *active
			direct.rowsOuter = !direct.rowsOuter
			require.Nil(t, transposedImpl(&direct, true, false, m, n, k, inPlaceALd, beta))
			want := append([]float32(nil), c0...)
			gemmWith(&direct, true, false, m, n, k, 1.5, a, inPlaceALd, b, n, beta, want, ldc)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%d×%d×%d beta %v on %s: element %d (row %d, column %d) is %v, the direct product's %v",
						m, k, n, beta, tr.name, i, i/ldc, i%ldc, got[i], want[i])
				}
			}
		}
	}
	if !ran {
		t.Skip("no product is computed transposed on this machine")
	}
}
