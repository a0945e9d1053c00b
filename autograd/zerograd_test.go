package autograd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

// TestZeroGradThenBackward checks the gradients that follow ZeroGrad,
// which leaves the old values in the buffer to be cleared or overwritten
// when the gradient is next touched: a weight used once (its gradient GEMM
// overwrites the stale buffer), a weight used twice in one graph (the
// second use must add to the first), a bias (summed into), a leaf reached
// through the engine (accumulate) and one never reached (Grad reads
// zeros). Each is compared with a fresh parameter's gradient. The first
// step's gradients hold NaN, so any stale value that leaks shows.
func TestZeroGradThenBackward(t *testing.T) {
	const n, in, out = 9, 7, 5
	w0, b0 := rnd(1, -1, 1, out, in), rnd(2, -1, 1, out)
	w20, s0 := rnd(3, -1, 1, out, out), rnd(4, -1, 1, n, out)
	x1, x2 := rnd(5, -1, 1, n, in), rnd(6, -1, 1, n, in)
	nan := rnd(7, -1, 1, n, in)
	nan.Data()[0] = float32(math.NaN())

	// graph: y = Linear(Linear(x, w, b), w2) + s·1, with w2 applied twice.
	forward := func(x *tensor.Tensor, w, b, w2, s, unused *Var) *Var {
		h := Linear(Constant(x), w, b)
		y := Linear(Linear(h, w2, nil), w2, nil)
		return Sum(Add(y, s), false)
	}
	w, b, w2, s, unused := NewVar(w0.Clone()), NewVar(b0.Clone()), NewVar(w20.Clone()), NewVar(s0.Clone()), NewVar(rnd(8, -1, 1, 3))
	Sum(unused, false).Backward()
	forward(nan, w, b, w2, s, unused).Backward()
	require.True(t, math.IsNaN(float64(w.Grad().Data()[0])), "the first step's weight gradient should hold NaN")
	for _, v := range []*Var{w, b, w2, s, unused} {
		v.ZeroGrad()
	}
	forward(x2, w, b, w2, s, unused).Backward()

	fw, fb, fw2, fs := NewVar(w0.Clone()), NewVar(b0.Clone()), NewVar(w20.Clone()), NewVar(s0.Clone())
	forward(x2, fw, fb, fw2, fs, NewVar(rnd(8, -1, 1, 3))).Backward()
	require.Equal(t, fw.Grad().Data(), w.Grad().Data(), "weight used once")
	require.Equal(t, fb.Grad().Data(), b.Grad().Data(), "bias")
	require.Equal(t, fw2.Grad().Data(), w2.Grad().Data(), "weight used twice")
	require.Equal(t, fs.Grad().Data(), s.Grad().Data(), "leaf through the engine")
	require.Equal(t, []float32{0, 0, 0}, unused.Grad().Data(), "leaf not reached")

	// A second backward without ZeroGrad adds, as before.
	forward(x1, w, b, w2, s, unused).Backward()
	forward(x1, fw, fb, fw2, fs, NewVar(rnd(8, -1, 1, 3))).Backward()
	require.Equal(t, fw.Grad().Data(), w.Grad().Data(), "weight after two backwards")
	require.Equal(t, fw2.Grad().Data(), w2.Grad().Data(), "twice-used weight after two backwards")
}
