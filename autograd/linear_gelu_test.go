package autograd

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

// TestLinearGELUGrad checks LinearGELU's gradients numerically for every
// input, on awkward sizes (rows and widths not multiples of 8 or 16).
func TestLinearGELUGrad(t *testing.T) {
	for _, sz := range [][3]int{{1, 3, 1}, {7, 5, 9}, {17, 12, 33}, {33, 7, 20}} {
		n, in, out := sz[0], sz[1], sz[2]
		checkGrad(t, func(v ...*Var) *Var { return LinearGELU(v[0], v[1], v[2]) },
			rnd(uint64(10+n), -2, 2, n, in), rnd(uint64(20+n), -1, 1, out, in), rnd(uint64(30+n), -1, 1, out))
	}
}

// TestLinearGELUMatchesUnfused compares LinearGELU with GELU(Linear(…)):
// value and every gradient, with and without a bias that needs a
// gradient, with a nil bias, and with an input that needs none; a second
// backward accumulates into the leaves' gradients as Linear's does.
func TestLinearGELUMatchesUnfused(t *testing.T) {
	const n, in, out = 37, 19, 45
	x, w, b := rnd(40, -2, 2, n, in), rnd(41, -1, 1, out, in), rnd(42, -1, 1, out)
	g := rnd(43, -1, 1, n, out)
	for _, c := range []struct {
		name          string
		bias, biasReq bool
		xReq          bool
	}{{"all", true, true, true}, {"constant bias", true, false, true}, {"no bias", false, false, true}, {"constant input", true, true, false}} {
		run := func(fused bool) [][]float32 {
			xv, wv := NewVar(x), NewVar(w)
			if !c.xReq {
				xv = Constant(x)
			}
			var bv *Var
			if c.bias {
				bv = NewVar(b)
				if !c.biasReq {
					bv = Constant(b)
				}
			}
			var res [][]float32
			for range 2 {
				var y *Var
				if fused {
					y = LinearGELU(xv, wv, bv)
				} else {
					y = GELU(Linear(xv, wv, bv))
				}
				y.BackwardWith(g)
				res = append(res, append([]float32(nil), y.Value().Data()...))
			}
			res = append(res, wv.Grad().Data())
			if c.xReq {
				res = append(res, xv.Grad().Data())
			}
			if c.biasReq {
				res = append(res, bv.Grad().Data())
			}
			return res
		}
		want, got := run(false), run(true)
		require.Len(t, got, len(want))
		for i := range want {
			require.InDeltaSlice(t, want[i], got[i], 2e-5, "%s: result %d", c.name, i)
		}
	}
	require.Panics(t, func() { LinearGELU(NewVar(x), NewVar(w), NewVar(tensor.Zeros(out+1))) })
	require.Panics(t, func() { LinearGELU(NewVar(x), NewVar(tensor.Zeros(out, in+1)), NewVar(b)) })
}

// TestLinearGELUSplitExact checks that LinearGELU's forward and its bias
// gradient sums, split across workers for large outputs, give the
// one-worker results bit for bit, with a width that is not a multiple of
// 16, and that the bias gradient is the column sums of the
// pre-activation's gradient, row by row.
func TestLinearGELUSplitExact(t *testing.T) {
	const n, in, out = 600, 20, 131
	x, w, b := rnd(50, -1, 1, n, in), rnd(51, -1, 1, out, in), rnd(52, -1, 1, out)
	g := rnd(53, -1, 1, n, out)
	run := func() [][]float32 {
		vs := []*Var{NewVar(x), NewVar(w), NewVar(b)}
		y := LinearGELU(vs[0], vs[1], vs[2])
		y.BackwardWith(g)
		return [][]float32{y.Value().Data(), vs[0].Grad().Data(), vs[1].Grad().Data(), vs[2].Grad().Data()}
	}
	one, two := onWorkers(t, run)
	for i := range one {
		require.Equal(t, one[i], two[i], "result %d", i)
	}
	// The pre-activation's gradient, from the unfused op's GELU backward.
	pre := NewVar(Linear(Constant(x), Constant(w), Constant(b)).Value())
	GELU(pre).BackwardWith(g)
	want := make([]float32, out)
	for i := range n {
		for j := range want {
			want[j] += pre.Grad().Data()[i*out+j]
		}
	}
	require.InDeltaSlice(t, want, two[3], 1e-4, "bias gradient")
}

// TestLinearGELUStaleBuffers runs LinearGELU from an arena whose buffers
// hold the previous step's values (another op's): the results must equal
// those of a run without an arena.
func TestLinearGELUStaleBuffers(t *testing.T) {
	const n, in, out = 9, 6, 23
	w, b := NewVar(rnd(60, -1, 1, out, in)), NewVar(rnd(61, -1, 1, out))
	g := rnd(62, -1, 1, n, out)
	step := func(a *Arena, op func(x, w, b *Var) *Var, seed uint64) [][]float32 {
		w.ZeroGrad()
		b.ZeroGrad()
		x := rnd(seed, -2, 2, n, in)
		in := Constant(x)
		if a != nil {
			in = a.Constant(x)
		}
		y := op(Mul(in, Constant(tensor.Full(1, n, in.Shape()[1]))), w, b)
		y.BackwardWith(g)
		return [][]float32{append([]float32(nil), y.Value().Data()...), append([]float32(nil), w.Grad().Data()...), append([]float32(nil), b.Grad().Data()...)}
	}
	dirty := func(x, w, b *Var) *Var { return Exp(Linear(x, w, b)) }
	a := NewArena()
	for j := range 3 {
		want := step(nil, LinearGELU, uint64(70+j))
		a.Reset()
		step(a, dirty, uint64(80+j))
		a.Reset()
		require.Equal(t, want, step(a, LinearGELU, uint64(70+j)), "step %d", j)
	}
}
