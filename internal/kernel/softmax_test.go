package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// softmaxLens are row lengths around the vector width and the 32-value
// block of the kernels' first pass.
var softmaxLens = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 127, 128, 129}

// softmaxRow returns the kept exponentials e = exp(z − max z) of a row of
// n scores of spread range (spread ≥ 60 puts some exponentials near
// underflow), the last masked ones zero as a causal mask leaves them, and
// inv = 1/Σe.
func softmaxRow(r *rand.Rand, n, masked int, spread float64) (e []float32, inv float32) {
	z := make([]float64, n)
	m := math.Inf(-1)
	for i := range n - masked {
		z[i] = (r.Float64()*2 - 1) * spread
		m = max(m, z[i])
	}
	e = make([]float32, n)
	var sum float64
	for i := range n - masked {
		e[i] = float32(math.Exp(z[i] - m))
		sum += float64(e[i])
	}
	if sum > 0 {
		inv = float32(1 / sum)
	}
	return e, inv
}

// withGuards returns a copy of x followed by three guard values, and the
// copy's first len(x) values.
func withGuards(x []float32) (all, row []float32) {
	all = append(append([]float32(nil), x...), 42, -42, 42)
	return all, all[:len(x)]
}

// checkGuards fails when a kernel wrote past its row.
func checkGuards(t *testing.T, all []float32, n int, msg string) {
	t.Helper()
	require.Equal(t, []float32{42, -42, 42}, all[n:], "%s: wrote past the row", msg)
}

// TestSoftmaxBackward checks SoftmaxBackward and its portable twin against
// the float64 definition, p = e·inv (exactly the rounded product) and
// p∘(dp − Σ p·dp), on rows of every awkward length with masked (zero)
// tails, gradients of large and small magnitude and exponentials down to
// underflow; nothing past the row may change, the kernel's result may not
// depend on the row's alignment, and kernel and twin agree to rounding.
func TestSoftmaxBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	impls := map[string]func(e, dp []float32, inv float32) float32{
		"kernel":   SoftmaxBackward,
		"portable": softmaxBackwardPortable,
	}
	for _, n := range softmaxLens {
		for _, c := range []struct {
			masked       int
			spread, gmag float64
		}{{0, 3, 1}, {n / 3, 3, 1e4}, {n / 2, 80, 1e-4}, {n - min(n, 1), 1, 1}} {
			e0, inv := softmaxRow(r, n, c.masked, c.spread)
			dp0 := make([]float32, n)
			for i := range dp0 {
				dp0[i] = float32((r.Float64()*2 - 1) * c.gmag)
			}
			// The float64 definition.
			p := make([]float64, n)
			var s, sAbs float64
			for i := range n {
				p[i] = float64(e0[i]) * float64(inv)
				s += p[i] * float64(dp0[i])
				sAbs += math.Abs(p[i] * float64(dp0[i]))
			}
			eps := float64(n+4) * 0x1p-23
			got := map[string][]float32{}
			for name, f := range impls {
				msg := fmt.Sprintf("%s n=%d masked=%d spread=%v |dp|~%v", name, n, c.masked, c.spread, c.gmag)
				eAll, e := withGuards(e0)
				dAll, dp := withGuards(dp0)
				gs := f(e, dp, inv)
				checkGuards(t, eAll, n, msg+" (e)")
				checkGuards(t, dAll, n, msg+" (dp)")
				require.InDelta(t, s, float64(gs), eps*sAbs+1e-30, "%s: Σ p·dp", msg)
				for i := range n {
					require.Equal(t, float32(p[i]), e[i], "%s: p[%d]", msg, i)
					want := p[i] * (float64(dp0[i]) - s)
					// Rounding of dp − s and of the product, plus the
					// error of the computed s itself (eps·Σ|p·dp|).
					tol := p[i] * ((2*math.Abs(float64(dp0[i]))+math.Abs(s))*0x1p-21 + eps*sAbs)
					require.InDelta(t, want, float64(dp[i]), tol+1e-30, "%s: dS[%d]", msg, i)
				}
				got[name] = dp
				// The same row one float further on in memory.
				e2 := append([]float32{0}, e0...)[1:]
				d2 := append([]float32{0}, dp0...)[1:]
				require.Equal(t, math.Float32bits(gs), math.Float32bits(f(e2, d2, inv)), "%s: Σ depends on alignment", msg)
				require.Equal(t, dp, d2, "%s: dS depends on alignment", msg)
			}
			for i := range n {
				k, pt := float64(got["kernel"][i]), float64(got["portable"][i])
				require.InDelta(t, pt, k, p[i]*((math.Abs(s)+2*math.Abs(float64(dp0[i])))*0x1p-20+2*eps*sAbs)+1e-30, "n=%d: kernel and twin apart at %d", n, i)
			}
		}
	}
	require.Panics(t, func() { SoftmaxBackward(make([]float32, 3), make([]float32, 2), 1) })
}

// TestExpShiftSum checks ExpShiftSum and its portable twin against
// float64 exp(x − shift) and its sum on rows of every awkward length, with
// −Inf (masked) scores, arguments down to underflow, a NaN kept, and
// nothing past the row changed or counted.
func TestExpShiftSum(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	impls := map[string]func(x []float32, shift float32) float32{
		"kernel":   ExpShiftSum,
		"portable": expShiftSumPortable,
	}
	negInf := float32(math.Inf(-1))
	for _, n := range softmaxLens {
		for _, spread := range []float64{1, 20, 120} {
			x0 := make([]float32, n)
			shift := negInf
			for i := range x0 {
				x0[i] = float32((r.Float64()*2 - 1) * spread)
				if i%5 == 3 {
					x0[i] = negInf
				}
				shift = max(shift, x0[i])
			}
			if n == 0 || math.IsInf(float64(shift), -1) {
				shift = 0
			}
			var want float64
			for _, v := range x0 {
				want += math.Exp(float64(v - shift))
			}
			for name, f := range impls {
				msg := fmt.Sprintf("%s n=%d spread=%v", name, n, spread)
				all, x := withGuards(x0)
				s := f(x, shift)
				checkGuards(t, all, n, msg)
				require.InDelta(t, want, float64(s), want*float64(n+8)*0x1p-22+1e-30, "%s: sum", msg)
				for i, v := range x0 {
					w := math.Exp(float64(v - shift))
					require.InDelta(t, w, float64(x[i]), w*0x1p-20+1e-37, "%s: exp at %d", msg, i)
				}
			}
		}
	}
	for _, name := range []string{"kernel", "portable"} {
		x := []float32{0, 1, float32(math.NaN()), 2, 3, 4, 5, 6, 7, 8}
		require.True(t, math.IsNaN(float64(impls[name](x, 8))), "%s: the sum drops a NaN", name)
		require.True(t, math.IsNaN(float64(x[2])), "%s: exp drops a NaN", name)
	}
}

// TestPrefetch checks that Prefetch, a hint, returns and leaves every value
// alone, at lengths and offsets that start and end inside cache lines.
func TestPrefetch(t *testing.T) {
	buf := make([]float32, 200)
	for i := range buf {
		buf[i] = float32(i)
	}
	want := append([]float32(nil), buf...)
	for off := range 17 {
		for _, n := range []int{0, 1, 15, 16, 17, 33, 150} {
			Prefetch(buf[off : off+n])
		}
	}
	require.Equal(t, want, buf)
}

// TestSoftmaxExp checks SoftmaxExp against its portable twin (Max, then
// ExpShiftSum) on rows of every awkward length and alignment, with −Inf
// (masked) scores, ±0 maxima, rows of −Inf only (left alone, sum 0) and
// NaNs anywhere (a NaN maximum and sum): the maximum must be the twin's,
// the exponentials its bits, the sum equal to rounding, and nothing around
// the row may change. The values around the row are larger than any in
// it, so a maximum that read past the row would show.
func TestSoftmaxExp(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	negInf := float32(math.Inf(-1))
	for _, n := range append(softmaxLens, 2, 47, 48, 49, 200) {
		for c := range 5 {
			x0 := make([]float32, n)
			for i := range x0 {
				x0[i] = float32((r.Float64()*2 - 1) * 30)
				if i%5 == 3 {
					x0[i] = negInf
				}
			}
			switch {
			case c == 1: // every score masked
				for i := range x0 {
					x0[i] = negInf
				}
			case c == 2 && n > 0: // a NaN somewhere
				x0[r.IntN(n)] = float32(math.NaN())
			case c == 3 && n > 0: // maxima of both zeros
				for i := range x0 {
					x0[i] = -float32(i % 3)
				}
				x0[n-1] = float32(math.Copysign(0, -1))
			}
			want := append([]float32(nil), x0...)
			wm, ws := softmaxExpPortable(want)
			for off := range 3 {
				msg := fmt.Sprintf("n=%d case=%d off=%d", n, c, off)
				all := make([]float32, off+n+20)
				for i := range all {
					all[i] = 1e30
				}
				x := all[off : off+n]
				copy(x, x0)
				m, s := SoftmaxExp(x)
				for i := range all {
					if i < off || i >= off+n {
						require.Equal(t, float32(1e30), all[i], "%s: wrote outside the row at %d", msg, i-off)
					}
				}
				if math.IsNaN(float64(wm)) {
					require.True(t, math.IsNaN(float64(m)) && math.IsNaN(float64(s)), "%s: m=%v sum=%v, want NaNs", msg, m, s)
					continue
				}
				require.Equal(t, wm, m, "%s: maximum", msg)
				for i := range x {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(x[i]), "%s: exp at %d", msg, i)
				}
				require.InDelta(t, float64(ws), float64(s), math.Abs(float64(ws))*float64(n+8)*0x1p-23, "%s: sum", msg)
			}
		}
	}
}
