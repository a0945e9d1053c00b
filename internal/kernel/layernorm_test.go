package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// lnLens are row widths around the vector width and the kernels' 16- and
// 32-value blocks, with 128 (the char-GPT's width) among them.
var lnLens = []int{1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 48, 64, 80, 127, 128, 129}

// lnRow returns n values of offset off and spread spread.
func lnRow(r *rand.Rand, n int, off, spread float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(off + (r.Float64()*2-1)*spread)
	}
	return x
}

// lnForward is the LayerNorm forward of a row as a kernel implements it:
// the row's mean and inverse deviation, then the normalised, scaled and
// shifted row written into dst.
type lnForward func(dst, x, w, b []float32, eps float32) (mean, inv float32)

// lnForwardPortable is LayerNormRow on the portable twins.
func lnForwardPortable(dst, x, w, b []float32, eps float32) (mean, inv float32) {
	fd := float32(len(x))
	mean = sumPortable(x) / fd
	inv = float32(1 / math.Sqrt(float64(lnVarSumPortable(x, mean)/fd)+float64(eps)))
	if w == nil {
		w = Ones(len(x))
	}
	if b == nil {
		b = negZeros(len(x))
	}
	lnApplyPortable(dst, x, w, b, mean, inv)
	return mean, inv
}

// TestLayerNormRow checks LayerNormRow and its portable twins against the
// float64 definition on rows of every awkward width, with and without
// the affine parameters, rows far off zero, in place: the statistics to
// float32 rounding, the output to the rounding of the statistics and the
// affine map; nothing past the row may change, the result may not depend
// on the row's alignment, and without a bias the output is exactly that
// of a zero bias but for the sign of zeros.
func TestLayerNormRow(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	impls := map[string]lnForward{"kernel": LayerNormRow, "portable": lnForwardPortable}
	for _, n := range lnLens {
		for _, c := range []struct {
			off, spread float64
			w, b        bool
		}{{0, 1, true, true}, {3, 0.01, true, false}, {-50, 20, false, true}, {0.5, 2, false, false}} {
			x0 := lnRow(r, n, c.off, c.spread)
			var w, b []float32
			if c.w {
				w = lnRow(r, n, 1, 0.5)
			}
			if c.b {
				b = lnRow(r, n, 0, 1)
			}
			eps := float32(1e-5)
			var mu, q float64
			for _, v := range x0 {
				mu += float64(v)
			}
			mu /= float64(n)
			for _, v := range x0 {
				q += (float64(v) - mu) * (float64(v) - mu)
			}
			inv := 1 / math.Sqrt(q/float64(n)+float64(eps))
			for name, f := range impls {
				msg := fmt.Sprintf("%s n=%d off=%v spread=%v w=%v b=%v", name, n, c.off, c.spread, c.w, c.b)
				dAll, dst := withGuards(make([]float32, n))
				gm, gi := f(dst, x0, w, b, eps)
				checkGuards(t, dAll, n, msg)
				// The float32 mean's error (n roundings of the running sum
				// and the division) over the deviation.
				errMu := float64(n+2) * 0x1p-24 * (math.Abs(c.off) + c.spread)
				require.InDelta(t, mu, float64(gm), errMu, "%s: mean", msg)
				require.InEpsilon(t, inv, float64(gi), float64(n+8)*0x1p-23+errMu*errMu*inv*inv+1e-6, "%s: inverse deviation", msg)
				for i := range n {
					xh := (float64(x0[i]) - mu) * inv
					want, wi, bi := xh, 1.0, 0.0
					if w != nil {
						wi = float64(w[i])
						want *= wi
					}
					if b != nil {
						bi = float64(b[i])
						want += bi
					}
					tol := (math.Abs(xh)*float64(n+8)*0x1p-22+errMu*inv)*math.Abs(wi) + math.Abs(bi)*0x1p-23
					require.InDelta(t, want, float64(dst[i]), tol+1e-30, "%s: y[%d]", msg, i)
				}
				// The same row one float further on in memory, and in place.
				x2 := append([]float32{0}, x0...)[1:]
				m2, i2 := f(x2, x2, w, b, eps)
				require.Equal(t, math.Float32bits(gm), math.Float32bits(m2), "%s: mean depends on alignment", msg)
				require.Equal(t, math.Float32bits(gi), math.Float32bits(i2), "%s: deviation depends on alignment", msg)
				require.Equal(t, dst, x2, "%s: output depends on alignment or aliasing", msg)
				if b == nil {
					zero := make([]float32, n)
					z := make([]float32, n)
					f(z, x0, w, zero, eps)
					for i := range n {
						require.True(t, dst[i] == z[i], "%s: no bias differs from a zero bias at %d: %v, %v", msg, i, dst[i], z[i])
					}
				}
			}
		}
	}
}

// wOr1 returns w[i], or 1 when w is nil.
func wOr1(w []float32, i int) float32 {
	if w == nil {
		return 1
	}
	return w[i]
}

// lnBackward is one row of LayerNorm's backward as a kernel implements it.
type lnBackward func(gx, prior, g, x, w, gw, gb []float32, mean, inv float32)

// lnBackwardPortable is LayerNormGradRow on the portable twins.
func lnBackwardPortable(gx, prior, g, x, w, gw, gb []float32, mean, inv float32) {
	if w == nil {
		w = Ones(len(x))
	}
	s1, s2 := lnGradSumsPortable(x, g, w, gw, gb, mean, inv)
	if gx == nil {
		return
	}
	fd := float32(len(x))
	lnGradApplyPortable(gx, prior, g, x, w, mean, inv, -inv*(s2/fd), -inv*(s1/fd))
}

// TestLayerNormGradRow checks LayerNormGradRow and its portable twins
// against the float64 definition on rows of every awkward width: the
// input gradient (alone and added to a prior gradient, also in place in
// the prior), the weight and bias gradients added into what they held,
// every combination of absent parameters and gradients; nothing past the
// row may change and the result may not depend on alignment.
func TestLayerNormGradRow(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	impls := map[string]lnBackward{"kernel": LayerNormGradRow, "portable": lnBackwardPortable}
	for _, n := range lnLens {
		for k := range 16 {
			hasW, wantGW, wantGB, withPrior := k&1 != 0, k&2 != 0, k&4 != 0, k&8 != 0
			x := lnRow(r, n, 2, 3)
			g := lnRow(r, n, 0.1, 1)
			var w, prior []float32
			if hasW {
				w = lnRow(r, n, 1, 0.5)
			}
			if withPrior {
				prior = lnRow(r, n, 0, 2)
			}
			gw0, gb0 := lnRow(r, n, 0, 1), lnRow(r, n, 0, 1)
			var mu64 float64
			for _, v := range x {
				mu64 += float64(v)
			}
			mu := float32(mu64 / float64(n))
			var q float64
			for _, v := range x {
				q += (float64(v) - float64(mu)) * (float64(v) - float64(mu))
			}
			inv := float32(1 / math.Sqrt(q/float64(n)+1e-5))
			// The float64 definition from the float32 statistics.
			xh, gn := make([]float64, n), make([]float64, n)
			var m1, m2, a1, a2 float64
			for i := range n {
				xh[i] = (float64(x[i]) - float64(mu)) * float64(inv)
				gn[i] = float64(g[i]) * float64(wOr1(w, i))
				m1 += gn[i]
				m2 += gn[i] * xh[i]
				a1 += math.Abs(gn[i])
				a2 += math.Abs(gn[i] * xh[i])
			}
			m1, m2, a1, a2 = m1/float64(n), m2/float64(n), a1/float64(n), a2/float64(n)
			e := float64(n+8) * 0x1p-23
			for name, f := range impls {
				msg := fmt.Sprintf("%s n=%d w=%v gw=%v gb=%v prior=%v", name, n, hasW, wantGW, wantGB, withPrior)
				var gw, gb, gwAll, gbAll []float32
				if wantGW {
					gwAll, gw = withGuards(gw0)
				}
				if wantGB {
					gbAll, gb = withGuards(gb0)
				}
				gxAll, gx := withGuards(make([]float32, n))
				f(gx, prior, g, x, w, gw, gb, mu, inv)
				checkGuards(t, gxAll, n, msg+" (gx)")
				for i := range n {
					want := float64(inv) * (gn[i] - m1 - xh[i]*m2)
					tol := float64(inv) * e * (math.Abs(gn[i]) + a1 + math.Abs(xh[i])*a2)
					if prior != nil {
						want += float64(prior[i])
						tol += math.Abs(want) * 0x1p-23
					}
					require.InDelta(t, want, float64(gx[i]), tol+1e-30, "%s: gx[%d]", msg, i)
				}
				if wantGW {
					checkGuards(t, gwAll, n, msg+" (gw)")
					for i := range n {
						want := float64(gw0[i]) + float64(g[i])*xh[i]
						require.InDelta(t, want, float64(gw[i]), (math.Abs(want)+math.Abs(float64(g[i])*xh[i]))*4*0x1p-23+1e-30, "%s: gw[%d]", msg, i)
					}
				}
				if wantGB {
					checkGuards(t, gbAll, n, msg+" (gb)")
					for i := range n {
						require.Equal(t, gb0[i]+g[i], gb[i], "%s: gb[%d]", msg, i)
					}
				}
				// One float further on in memory, in place in the prior.
				sh := func(v []float32) []float32 {
					if v == nil {
						return nil
					}
					return append([]float32{0}, v...)[1:]
				}
				gw2, gb2 := sh(gw0), sh(gb0)
				if !wantGW {
					gw2 = nil
				}
				if !wantGB {
					gb2 = nil
				}
				gx2 := make([]float32, n+1)[1:]
				p2 := sh(prior)
				if p2 != nil {
					gx2 = p2
				}
				f(gx2, p2, sh(g), sh(x), sh(w), gw2, gb2, mu, inv)
				require.Equal(t, gx, gx2, "%s: gx depends on alignment or aliasing", msg)
				require.Equal(t, gw, gw2, "%s: gw depends on alignment", msg)
				require.Equal(t, gb, gb2, "%s: gb depends on alignment", msg)
				// Without an input gradient only the parameters' sums move.
				if wantGW || wantGB {
					gw3, gb3 := sh(gw0), sh(gb0)
					if !wantGW {
						gw3 = nil
					}
					if !wantGB {
						gb3 = nil
					}
					f(nil, nil, g, x, w, gw3, gb3, mu, inv)
					require.Equal(t, gw, gw3, "%s: gw without gx", msg)
					require.Equal(t, gb, gb3, "%s: gb without gx", msg)
				}
			}
		}
	}
}

// BenchmarkLayerNormRow times LayerNormRow and LayerNormGradRow (with a
// prior gradient and the affine gradients) over the char-GPT share's
// 2048 rows of 128.
func BenchmarkLayerNormRow(b *testing.B) {
	const rows, d = 2048, 128
	r := rand.New(rand.NewPCG(9, 10))
	x, y, g, gx, prior := lnRow(r, rows*d, 0, 1), make([]float32, rows*d), lnRow(r, rows*d, 0, 1), make([]float32, rows*d), lnRow(r, rows*d, 0, 1)
	w, bias, gw, gb := lnRow(r, d, 1, 0.5), lnRow(r, d, 0, 1), make([]float32, d), make([]float32, d)
	mean, inv := make([]float32, rows), make([]float32, rows)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			for i := range rows {
				mean[i], inv[i] = LayerNormRow(y[i*d:(i+1)*d], x[i*d:(i+1)*d], w, bias, 1e-5)
			}
		}
	})
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			for i := range rows {
				LayerNormGradRow(gx[i*d:(i+1)*d], prior[i*d:(i+1)*d], g[i*d:(i+1)*d], x[i*d:(i+1)*d], w, gw, gb, mean[i], inv[i])
			}
		}
	})
}
