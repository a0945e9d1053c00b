package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSumTapsMatchesReference checks every micro-kernel of this machine
// through Tile.SumTaps against a float64 sum, with A read as a sliding
// window (rsA = 1) and as a packed panel, taps of 1, 7, 17 and 33 steps,
// with and without a bias, and values past the tile left alone.
func TestSumTapsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, im := range gemmImpls() {
		tl := Tile{im}
		mr, nr := tl.MR(), tl.NR()
		for _, ks := range [][]int{{1}, {7, 17}, {33, 1, 7}, {0, 17}} {
			for _, bias := range []bool{false, true} {
				for _, layout := range []struct{ rsA, csA, csB int }{{1, 37, nr + 3}, {1, mr, nr}, {19, 1, 2 * nr}} {
					name := fmt.Sprintf("%s/k%v/bias%v/%+v", im.name, ks, bias, layout)
					var taps []Tap
					aLen, bLen := 0, 0
					for i, k := range ks {
						tp := Tap{A: aLen + i, B: bLen + 2*i, K: k}
						taps = append(taps, tp)
						aLen = tp.A + (mr-1)*layout.rsA + max(k-1, 0)*layout.csA + 1
						bLen = tp.B + max(k-1, 0)*layout.csB + nr
					}
					a, b := randFloats(rng, aLen), randFloats(rng, bLen)
					var bs []float32
					if bias {
						bs = randFloats(rng, mr)
					}
					ldc := nr + 5
					c := randFloats(rng, (mr-1)*ldc+nr+7)
					guard := append([]float32(nil), c...)
					tl.SumTaps(taps, a, layout.rsA, layout.csA, b, layout.csB, bs, c, ldc)
					for r := range mr {
						for j := range ldc {
							i := r*ldc + j
							if j >= nr {
								if i < len(c) {
									require.Equal(t, guard[i], c[i], "%s: c[%d] past the tile changed", name, i)
								}
								continue
							}
							var want, mag float64
							if bias {
								want, mag = float64(bs[r]), math.Abs(float64(bs[r]))
							}
							for _, tp := range taps {
								for p := range tp.K {
									v := float64(a[tp.A+r*layout.rsA+p*layout.csA]) * float64(b[tp.B+p*layout.csB+j])
									want += v
									mag += math.Abs(v)
								}
							}
							require.InDelta(t, want, c[i], 1e-6*(1+mag), "%s: c[%d][%d]", name, r, j)
						}
					}
					for i := (mr-1)*ldc + nr; i < len(c); i++ {
						require.Equal(t, guard[i], c[i], "%s: c[%d] past the tile changed", name, i)
					}
				}
			}
		}
	}
}

func randFloats(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	return x
}

// TestSumTapsPanicsOnShortOperands checks that every operand is checked
// against what the tile reads or writes.
func TestSumTapsPanicsOnShortOperands(t *testing.T) {
	tl := TileFor(64, 64)
	mr, nr := tl.MR(), tl.NR()
	k := 3
	a, b := make([]float32, (mr-1)+(k-1)*mr+1), make([]float32, (k-1)*nr+nr)
	c := make([]float32, (mr-1)*nr+nr)
	taps := []Tap{{K: k}}
	require.NotPanics(t, func() { tl.SumTaps(taps, a, 1, mr, b, nr, nil, c, nr) })
	require.Panics(t, func() { tl.SumTaps(taps, a[:len(a)-1], 1, mr, b, nr, nil, c, nr) })
	require.Panics(t, func() { tl.SumTaps(taps, a, 1, mr, b[:len(b)-1], nr, nil, c, nr) })
	require.Panics(t, func() { tl.SumTaps(taps, a, 1, mr, b, nr, nil, c[:len(c)-1], nr) })
	require.Panics(t, func() { tl.SumTaps(taps, a, 1, mr, b, nr, make([]float32, mr-1), c, nr) })
	require.Panics(t, func() { tl.SumTaps([]Tap{{A: 1, K: k}}, a, 1, mr, b, nr, nil, c, nr) })
	require.Panics(t, func() { tl.SumTaps([]Tap{{K: -1}}, a, 1, mr, b, nr, nil, c, nr) })
	require.Panics(t, func() { tl.SumTaps(taps, a, 1, mr, b, nr, nil, c, nr-1) })
}

// TestMaxPool2x2RowsMatchesReference checks the strided pooling against
// the reference on the rows of a wider plane, for widths that take each
// kernel and the portable tail (1, 7, 17, 33).
func TestMaxPool2x2RowsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, h := range []int{1, 2, 7, 17} {
		for _, w := range []int{1, 7, 8, 17, 33} {
			for _, relu := range []bool{false, true} {
				ld := w + 3
				src := poolInput(rng, h, ld)
				compact := make([]float32, h*w)
				for i := range h {
					copy(compact[i*w:(i+1)*w], src[i*ld:])
				}
				want, _ := poolReference(compact, h, w, relu)
				got := make([]float32, len(want)+1)
				got[len(want)] = 42
				MaxPool2x2Rows(got, src, h, w, ld, relu)
				for i, v := range want {
					g := got[i]
					require.True(t, v == g && math.Signbit(float64(v)) == math.Signbit(float64(g)) || v != v && g != g,
						"%dx%d ld %d relu %v: [%d] = %v, want %v", h, w, ld, relu, i, g, v)
				}
				require.Equal(t, float32(42), got[len(want)], "wrote past the output")
			}
		}
	}
	require.Panics(t, func() { MaxPool2x2Rows(make([]float32, 4), make([]float32, 4*9), 4, 4, 3, false) })
}
