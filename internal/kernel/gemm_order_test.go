package kernel

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
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
		{250, 70, 17}, {301, 65, 130}, {25, 130, 800},
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
