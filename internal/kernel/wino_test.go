package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The Winograd matrices, for the float64 references.
var (
	winoBT = [4][4]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	winoAT = [2][4]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
)

// winoRand returns n random values in [−2, 2).
func winoRand(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()*4 - 2
	}
	return x
}

// winoLaneCounts are the lane counts the kernels are checked at: below,
// at and past the 8-lane blocks of the assembly, with tails.
var winoLaneCounts = []int{1, 7, 8, 17, 33}

// winoCase is a layout of strides for n lanes, with room in front so that
// strides may exceed n (as for the tiles of a pass).
type winoCase struct{ n, s1, s2 int }

func winoCases() []winoCase {
	var cs []winoCase
	for _, n := range winoLaneCounts {
		cs = append(cs, winoCase{n, n, 4 * n}, winoCase{n, n + 3, 5*n + 11}, winoCase{n, 7*n + 2, n + 1})
	}
	return cs
}

// TestWinoKernelsMatchPortable checks each transform in use (assembly on
// the first multiple of 8 lanes, where the CPU has it) against its
// portable twin, bit for bit, on awkward lane counts and strides, and that
// the input is left unchanged and nothing is written outside the lanes.
func TestWinoKernelsMatchPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range winoCases() {
		n, s1, s2 := tc.n, tc.s1, tc.s2
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			check := func(name string, dstLen, srcLen int, fast, portable func(dst, src []float32)) {
				src := winoRand(rng, srcLen)
				orig := append([]float32(nil), src...)
				dst := winoRand(rng, dstLen)
				want := append([]float32(nil), dst...)
				portable(want, src)
				fast(dst, src)
				require.Equal(t, orig, src, "%s changed its input", name)
				for i := range want {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(dst[i]), "%s: element %d: %v, want %v", name, i, dst[i], want[i])
				}
			}
			// WinoIn: blocks at src[i·rs + j·cs], output at dst[ξ·ds].
			rs, cs, ds := 3*s1+s2, s1, s2+n
			check("WinoIn", 15*ds+n+5, 3*rs+3*cs+n+5,
				func(d, s []float32) { WinoIn(d, ds, s, rs, cs, n) },
				func(d, s []float32) { winoInPortable(d, ds, s, rs, cs, n) })
			check("WinoOut", 3*s1+n+5, 15*s2+n+5,
				func(d, s []float32) { WinoOut(d, s1, s, s2, n) },
				func(d, s []float32) { winoOutPortable(d, s1, s, s2, n) })
			check("WinoOutGrad", 15*s2+n+5, 3*s1+n+5,
				func(d, s []float32) { WinoOutGrad(d, s2, s, s1, n) },
				func(d, s []float32) { winoOutGradPortable(d, s2, s, s1, n) })
			check("WinoInGradAdd", 3*rs+3*cs+n+5, 15*ds+n+5,
				func(d, s []float32) { WinoInGradAdd(d, rs, cs, s, ds, n) },
				func(d, s []float32) { winoInGradAddPortable(d, rs, cs, s, ds, n) })
		})
	}
}

// TestWinoKernelsMatchMatrices checks the portable transforms against the
// matrix products they stand for, computed in float64: V = Bᵀ·d·B,
// Y = Aᵀ·M·A, dM = A·dY·Aᵀ and dd = B·dV·Bᵀ (added onto what dd held).
func TestWinoKernelsMatchMatrices(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 3
	// B·X·Bᵀ-like products: out[a][b] = Σ L[a][i]·X[i][j]·R[b][j].
	prod := func(l [][]float64, x [][]float64, r [][]float64) [][]float64 {
		out := make([][]float64, len(l))
		for a := range l {
			out[a] = make([]float64, len(r))
			for b := range r {
				for i := range x {
					for j := range x[i] {
						out[a][b] += l[a][i] * x[i][j] * r[b][j]
					}
				}
			}
		}
		return out
	}
	rows := func(m any) [][]float64 {
		var out [][]float64
		switch m := m.(type) {
		case [4][4]float64:
			for _, r := range m {
				out = append(out, r[:])
			}
		case [2][4]float64:
			for _, r := range m {
				out = append(out, r[:])
			}
		}
		return out
	}
	transpose := func(m [][]float64) [][]float64 {
		out := make([][]float64, len(m[0]))
		for j := range out {
			out[j] = make([]float64, len(m))
			for i := range m {
				out[j][i] = m[i][j]
			}
		}
		return out
	}
	bt, at := rows(winoBT), rows(winoAT)
	b, a := transpose(bt), transpose(at)
	block := func(src []float32, r, c int, at func(i, j int) int, k int) [][]float64 {
		x := make([][]float64, r)
		for i := range x {
			x[i] = make([]float64, c)
			for j := range x[i] {
				x[i][j] = float64(src[at(i, j)+k])
			}
		}
		return x
	}
	near := func(name string, want float64, got float32) {
		require.InDelta(t, want, float64(got), 1e-5, name)
	}
	src := winoRand(rng, 16*n)
	dst := make([]float32, 16*n)
	// WinoIn with d[i][j] = src[(4i+j)·n + k], V[ξ] at dst[ξ·n + k].
	winoInPortable(dst, n, src, 4*n, n, n)
	for k := range n {
		v := prod(bt, block(src, 4, 4, func(i, j int) int { return (4*i + j) * n }, k), bt)
		for xi := range 16 {
			near("WinoIn", v[xi/4][xi%4], dst[xi*n+k])
		}
	}
	// WinoOut.
	out := make([]float32, 4*n)
	winoOutPortable(out, n, src, n, n)
	for k := range n {
		y := prod(at, block(src, 4, 4, func(i, j int) int { return (4*i + j) * n }, k), at)
		for o := range 4 {
			near("WinoOut", y[o/2][o%2], out[o*n+k])
		}
	}
	// WinoOutGrad.
	winoOutGradPortable(dst, n, src, n, n)
	for k := range n {
		m := prod(a, block(src, 2, 2, func(i, j int) int { return (2*i + j) * n }, k), a)
		for xi := range 16 {
			near("WinoOutGrad", m[xi/4][xi%4], dst[xi*n+k])
		}
	}
	// WinoInGradAdd onto a non-zero gradient.
	acc := winoRand(rng, 16*n)
	before := append([]float32(nil), acc...)
	winoInGradAddPortable(acc, 4*n, n, src, n, n)
	for k := range n {
		d := prod(b, block(src, 4, 4, func(i, j int) int { return (4*i + j) * n }, k), b)
		for e := range 16 {
			near("WinoInGradAdd", float64(before[e*n+k])+d[e/4][e%4], acc[e*n+k])
		}
	}
}

// TestWinoKernelsPanicOnShortBuffers checks that the exported transforms
// refuse buffers too short for their strides.
func TestWinoKernelsPanicOnShortBuffers(t *testing.T) {
	buf := make([]float32, 64)
	require.Panics(t, func() { WinoIn(buf, 4, buf[:18], 4, 1, 4) })
	require.Panics(t, func() { WinoOut(buf[:10], 4, buf, 4, 4) })
	require.Panics(t, func() { WinoOutGrad(buf[:60], 4, buf, 4, 4) })
	require.Panics(t, func() { WinoInGradAdd(buf, 16, 4, buf[:60], 4, 4) })
	require.NotPanics(t, func() { WinoIn(buf, 3, buf, 12, 3, 3) })
}

// TestWinoPoolMatchesReference checks WinoPool (assembly on the first
// multiple of 8 lanes, where the CPU has it) against a plain reference,
// bit for bit in value and winner, on windows holding ties, signed zeros
// and NaNs, with and without the bias.
func TestWinoPoolMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	vals := []float32{-2, -1, float32(math.Copysign(0, -1)), 0, 1, 3, float32(math.NaN())}
	for rep := range 200 {
		n := winoLaneCounts[rep%len(winoLaneCounts)]
		for _, bias := range []bool{false, true} {
			qs := n + 3
			q := make([]float32, 4*qs)
			for i := range q {
				if rng.IntN(3) == 0 {
					q[i] = rng.Float32()*4 - 2
				} else {
					q[i] = vals[rng.IntN(len(vals))]
				}
			}
			var b []float32
			if bias {
				b = make([]float32, n)
				for i := range b {
					b[i] = vals[rng.IntN(len(vals)-1)] // no NaN bias
				}
			}
			dst, win := make([]float32, n), make([]int32, n)
			WinoPool(dst, win, q, qs, b)
			for o := range n {
				bi := -1
				var best float32
				for c := range 4 {
					v := q[c*qs+o]
					if b != nil {
						v += b[o]
					}
					if bi < 0 || (best == best && (v != v || v > best)) {
						best, bi = v, c
					}
				}
				if best == best && best <= 0 {
					best, bi = 0, -1
				}
				require.Equal(t, math.Float32bits(best), math.Float32bits(dst[o]), "n %d, bias %v, lane %d", n, bias, o)
				require.Equal(t, int32(bi), win[o], "n %d, bias %v, lane %d", n, bias, o)
			}
		}
	}
}

// TestWinoPoolGradMatchesPortable checks WinoPoolGrad (assembly on the
// first multiple of 8 lanes, where the CPU has it) against its portable
// twin, bit for bit, and the twin against its definition: the gradient
// at the winner only, none for a window that passed nothing, the passed
// gradient added to the bias gradient.
func TestWinoPoolGradMatchesPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range winoLaneCounts {
		for _, bias := range []bool{false, true} {
			ds := n + 5
			g := winoRand(rng, n)
			g[0] = float32(math.Copysign(0, -1))
			win := make([]int32, n)
			for i := range win {
				win[i] = int32(rng.IntN(5)) - 1
			}
			var gb, gbWant []float32
			if bias {
				gb = winoRand(rng, n)
				gbWant = append([]float32(nil), gb...)
			}
			dy := winoRand(rng, 3*ds+n+3)
			want := append([]float32(nil), dy...)
			winoPoolGradPortable(want, ds, g, win, gbWant)
			WinoPoolGrad(dy, ds, g, win, gb)
			for i := range want {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(dy[i]), "n %d, element %d", n, i)
			}
			for i := range gb {
				require.Equal(t, math.Float32bits(gbWant[i]), math.Float32bits(gb[i]), "n %d, bias %d", n, i)
			}
			for o := range n {
				for c := range 4 {
					v := float32(0)
					if int(win[o]) == c {
						v = g[o]
					}
					require.Equal(t, v, dy[c*ds+o], "n %d, lane %d, position %d", n, o, c)
				}
			}
		}
	}
}
