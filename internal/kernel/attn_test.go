package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// causalAttnRef is CausalSelfAttention in float64, one query and one key
// at a time, with the scores of all keys and the causal mask written out.
func causalAttnRef(qkv []float32, b, t, e, heads int) []float64 {
	d := e / heads
	out := make([]float64, b*t*e)
	sc := make([]float64, t)
	for bi := range b {
		for h := range heads {
			for i := range t {
				q := qkv[(bi*t+i)*3*e+h*d:]
				m := math.Inf(-1)
				for j := range t {
					sc[j] = math.Inf(-1)
					if j > i {
						continue
					}
					k := qkv[(bi*t+j)*3*e+e+h*d:]
					var s float64
					for c := range d {
						s += float64(q[c]) * float64(k[c])
					}
					sc[j] = s / math.Sqrt(float64(d))
					m = math.Max(m, sc[j])
				}
				var z float64
				for j := range t {
					sc[j] = math.Exp(sc[j] - m)
					z += sc[j]
				}
				for j := range t {
					v := qkv[(bi*t+j)*3*e+2*e+h*d:]
					for c := range d {
						out[(bi*t+i)*e+h*d+c] += sc[j] / z * float64(v[c])
					}
				}
			}
		}
	}
	return out
}

func TestCausalSelfAttentionMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ b, t, e, heads int }{
		{1, 1, 32, 1}, {2, 7, 64, 2}, {1, 17, 96, 3}, {3, 33, 128, 4}, {2, 70, 128, 4}, {1, 33, 7, 7}, {2, 65, 34, 2},
	} {
		t.Run(fmt.Sprintf("b%d_t%d_e%d_h%d", c.b, c.t, c.e, c.heads), func(t *testing.T) {
			qkv := make([]float32, c.b*c.t*3*c.e)
			for i := range qkv {
				qkv[i] = float32(rng.NormFloat64() * 1.5)
			}
			out := make([]float32, c.b*c.t*c.e)
			for i := range out {
				out[i] = float32(math.NaN()) // every value must be written
			}
			CausalSelfAttention(out, qkv, c.b, c.t, c.e, c.heads)
			want := causalAttnRef(qkv, c.b, c.t, c.e, c.heads)
			for i, w := range want {
				require.InDelta(t, w, out[i], 2e-5*(1+math.Abs(w)), "value %d", i)
			}
		})
	}
}

func TestCausalSelfAttentionPanicsOnSizes(t *testing.T) {
	require.PanicsWithValue(t, "kernel.CausalSelfAttention: out 8 and qkv 24 values for B=1 T=2 E=4 heads=3",
		func() { CausalSelfAttention(make([]float32, 8), make([]float32, 24), 1, 2, 4, 3) })
	require.Panics(t, func() { CausalSelfAttention(make([]float32, 8), make([]float32, 23), 1, 2, 4, 2) })
}

func TestLayerNormRowsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, d := range []int{1, 7, 17, 33, 128, 300} {
		for _, affine := range []bool{false, true} {
			const rows = 3
			x := make([]float32, rows*d)
			for i := range x {
				x[i] = float32(3 + 2*rng.NormFloat64()) // a mean away from 0
			}
			var w, b []float32
			if affine {
				w, b = make([]float32, d), make([]float32, d)
				for i := range w {
					w[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				}
			}
			want := make([]float64, rows*d)
			for r := range rows {
				row := x[r*d : (r+1)*d]
				var mu, v float64
				for _, a := range row {
					mu += float64(a)
				}
				mu /= float64(d)
				for _, a := range row {
					v += (float64(a) - mu) * (float64(a) - mu)
				}
				inv := 1 / math.Sqrt(v/float64(d)+1e-5)
				for i, a := range row {
					y := (float64(a) - mu) * inv
					if affine {
						y = y*float64(w[i]) + float64(b[i])
					}
					want[r*d+i] = y
				}
			}
			got := make([]float32, rows*d)
			LayerNormRows(got, x, w, b, d, 1e-5)
			LayerNormRows(x, x, w, b, d, 1e-5) // in place
			for i, v := range want {
				require.InDelta(t, v, got[i], 1e-5*(1+math.Abs(v)), "d=%d affine=%v value %d", d, affine, i)
				require.Equal(t, got[i], x[i], "in place, d=%d value %d", d, i)
			}
		}
	}
	require.Panics(t, func() { LayerNormRows(make([]float32, 6), make([]float32, 6), make([]float32, 2), nil, 3, 1e-5) })
}

// BenchmarkCausalSelfAttention times the char-GPT's attention: one
// sequence of 128 positions, 4 heads of 32 features.
func BenchmarkCausalSelfAttention(b *testing.B) {
	const bt, t, e, heads = 1, 128, 128, 4
	rng := rand.New(rand.NewPCG(1, 2))
	qkv := randSlice(rng, bt*t*3*e)
	out := make([]float32, bt*t*e)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		CausalSelfAttention(out, qkv, bt, t, e, heads)
	}
	if c := cpuTime() - cpu0; c > 0 {
		b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
