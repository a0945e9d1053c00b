package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSmallGemm checks SmallGemm with every micro-kernel against the
// float64 reference, for A row-major and transposed, at sizes around the
// tiles (1, 7, 8, 12, 17, 33, 40 rows, columns and steps; 64 and 81
// columns, whose rows of full tiles take one call), with padded
// strides and beta 0 (C holds NaNs), 1 and 0.5; padding of C stays as it was.
func TestSmallGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 7, 8, 12, 17, 33, 40}
	for _, transA := range []bool{false, true} {
		for _, m := range sizes {
			for _, n := range append(sizes, 64, 81) {
				for _, k := range []int{1, 7, 32, 33} {
					beta := []float32{0, 1, 0.5}[rng.IntN(3)]
					g := newGemmCase(rng, transA, false, m, n, k, rng.IntN(3), 0.75, beta)
					rsA, csA := g.lda, 1
					if transA {
						rsA, csA = 1, g.lda
					}
					for _, im := range gemmImpls() {
						g.check(t, "SmallGemm/"+im.name, func(c []float32) {
							smallGemmWith(im, m, n, k, -m, k, g.alpha, g.a, rsA, csA, g.b, g.ldb, g.beta, c, g.ldc)
						})
					}
					g.check(t, "SmallGemm", func(c []float32) {
						SmallGemm(m, n, k, g.alpha, g.a, rsA, csA, g.b, g.ldb, g.beta, c, g.ldc)
					})
				}
			}
		}
	}
}

func TestSmallGemmEdges(t *testing.T) {
	// k = 0 scales C by beta; an empty product writes nothing.
	c := []float32{1, 2, 3, 4}
	SmallGemm(2, 2, 0, 1, nil, 0, 1, nil, 2, 0.5, c, 2)
	require.Equal(t, []float32{0.5, 1, 1.5, 2}, c)
	SmallGemm(0, 2, 3, 1, nil, 3, 1, nil, 2, 0, nil, 2)
	for _, c := range []struct {
		want string
		f    func()
	}{
		{"kernel.SmallGemm: A holds 5 elements, need 6", func() {
			SmallGemm(2, 2, 3, 1, make([]float32, 5), 3, 1, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}},
		{"kernel.SmallGemm: B holds 5 elements, need 6", func() {
			SmallGemm(2, 2, 3, 1, make([]float32, 6), 3, 1, make([]float32, 5), 2, 0, make([]float32, 4), 2)
		}},
		{"kernel.SmallGemm: C holds 3 elements, need 4", func() {
			SmallGemm(2, 2, 3, 1, make([]float32, 6), 3, 1, make([]float32, 6), 2, 0, make([]float32, 3), 2)
		}},
		{"kernel.SmallGemm: m=2 n=3 k=3 rsA=3 csA=1 ldb=2 ldc=3", func() {
			SmallGemm(2, 3, 3, 1, make([]float32, 6), 3, 1, make([]float32, 6), 2, 0, make([]float32, 6), 3)
		}},
		{"kernel.SmallGemmBand: B holds 5 elements, need 6", func() {
			SmallGemmBand(2, 2, 3, -2, 3, 1, make([]float32, 6), 3, 1, make([]float32, 5), 2, 0, make([]float32, 4), 2)
		}},
	} {
		require.PanicsWithValue(t, c.want, c.f, fmt.Sprint(c.want))
	}
}

// TestTranspose checks Transpose against the definition on sizes around
// the 8×8 blocks, with an offset and padded strides; dst's padding stays.
func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 7, 8, 17, 33} {
		for _, d := range []int{1, 7, 8, 16, 33} {
			const off, pad = 3, 5
			ld, ldd := d+2, n+pad
			x := randSlice(rng, off+max(n-1, 0)*ld+d)
			dst := randSlice(rng, d*ldd)
			want := append([]float32(nil), dst...)
			for r := range n {
				for c := range d {
					want[c*ldd+r] = x[off+r*ld+c]
				}
			}
			Transpose(dst, x, off, ld, n, d, ldd)
			require.Equal(t, want, dst, "n=%d d=%d", n, d)
		}
	}
	require.PanicsWithValue(t, "kernel.Transpose: 4 rows of 2 values, ld=2, ldd=3", func() {
		Transpose(make([]float32, 8), make([]float32, 8), 0, 2, 4, 2, 3)
	})
}

// TestSmallGemmBand checks SmallGemmBand with every micro-kernel, for A
// row-major and transposed, on sizes around the tiles and bands that
// start, end or lie wholly inside or outside the steps: with A zeroed
// outside the band, C must have exactly SmallGemm's bits over the whole
// A (the skipped terms are zero products), and C's padding stays as it
// was. A tile whose rows use no step gets beta·C.
func TestSmallGemmBand(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	sizes := []int{1, 7, 8, 12, 17, 33}
	for _, transA := range []bool{false, true} {
		for _, m := range sizes {
			for _, n := range []int{1, 17, 32, 40, 64, 81} {
				for _, k := range []int{1, 7, 32, 33} {
					// Lower bands (causal rows), upper bands (their
					// transposes), both, none, and empty ones.
					for _, band := range [][2]int{{-m, 1}, {-m, 5}, {-k, -3}, {0, k}, {3, k}, {-2, 3}, {-k, k}, {-m, k}, {k, k + 2}, {-m - 2, -m}} {
						lo, hi := band[0], band[1]
						beta := []float32{0, 1, 0.5}[rng.IntN(3)]
						g := newGemmCase(rng, transA, false, m, n, k, rng.IntN(3), 0.75, beta)
						rsA, csA := g.lda, 1
						if transA {
							rsA, csA = 1, g.lda
						}
						for i := range m {
							for p := range k {
								if p < i+lo || p >= i+hi {
									g.a[i*rsA+p*csA] = 0
								}
							}
						}
						for _, im := range gemmImpls() {
							want := append([]float32(nil), g.c...)
							smallGemmWith(im, m, n, k, -m, k, g.alpha, g.a, rsA, csA, g.b, g.ldb, g.beta, want, g.ldc)
							got := append([]float32(nil), g.c...)
							smallGemmWith(im, m, n, k, lo, hi, g.alpha, g.a, rsA, csA, g.b, g.ldb, g.beta, got, g.ldc)
							for i, w := range want {
								if math.Float32bits(got[i]) != math.Float32bits(w) {
									t.Fatalf("%s: %s band [%d, %d): C[%d] = %g, want %g", im.name, g, lo, hi, i, got[i], w)
								}
							}
						}
						g.check(t, fmt.Sprintf("SmallGemmBand [%d, %d)", lo, hi), func(c []float32) {
							SmallGemmBand(m, n, k, lo, hi, g.alpha, g.a, rsA, csA, g.b, g.ldb, g.beta, c, g.ldc)
						})
					}
				}
			}
		}
	}
}
