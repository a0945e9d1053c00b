package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

// TestLinearResidualGrad checks LinearResidual's gradients numerically for
// every input, with and without a bias, on awkward sizes.
func TestLinearResidualGrad(t *testing.T) {
	for _, sz := range [][3]int{{1, 1, 1}, {7, 3, 5}, {33, 17, 9}, {7, 9, 3}} {
		n, in, out := sz[0], sz[1], sz[2]
		x, w := rnd(uint64(10+n), -2, 2, n, in), rnd(uint64(20+n), -1, 1, out, in)
		b, r := rnd(uint64(30+n), -1, 1, out), rnd(uint64(40+n), -1, 1, n, out)
		checkGrad(t, func(v ...*Var) *Var { return LinearResidual(v[0], v[1], v[2], v[3]) }, x, w, b, r)
		checkGrad(t, func(v ...*Var) *Var { return LinearResidual(v[0], v[1], nil, v[2]) }, x, w, r)
	}
}

// TestLinearResidualMatchesUnfused compares LinearResidual with
// Add(res, Linear(…)) bit for bit: the value and every gradient, with and
// without a bias, with a constant residual, with the input itself as the
// residual (its two gradients summed by the engine), and twice in a row
// (the leaves' gradients accumulate as Linear's do).
func TestLinearResidualMatchesUnfused(t *testing.T) {
	const n, in, out = 37, 19, 45
	x, w, b := rnd(50, -2, 2, n, in), rnd(51, -1, 1, out, in), rnd(52, -1, 1, out)
	r, g := rnd(53, -3, 3, n, out), rnd(54, -1, 1, n, out)
	xs := rnd(55, -2, 2, n, out) // a square layer's input, its own residual
	ws := rnd(56, -1, 1, out, out)
	for _, c := range []struct {
		name        string
		bias        bool
		resConstant bool
		self        bool
	}{{"all", true, false, false}, {"no bias", false, false, false}, {"constant residual", true, true, false}, {"input as residual", true, false, true}} {
		run := func(fused bool) [][]float32 {
			xv, wv, rv := NewVar(x), NewVar(w), NewVar(r)
			if c.self {
				xv, wv = NewVar(xs), NewVar(ws)
				rv = xv
			} else if c.resConstant {
				rv = Constant(r)
			}
			var bv *Var
			if c.bias {
				bv = NewVar(b)
			}
			var res [][]float32
			for range 2 {
				var y *Var
				if fused {
					y = LinearResidual(xv, wv, bv, rv)
				} else {
					y = Add(rv, Linear(xv, wv, bv))
				}
				y.BackwardWith(g)
				res = append(res, append([]float32(nil), y.Value().Data()...))
			}
			res = append(res, wv.Grad().Data(), xv.Grad().Data())
			if c.bias {
				res = append(res, bv.Grad().Data())
			}
			if !c.resConstant && !c.self {
				res = append(res, rv.Grad().Data())
			}
			return res
		}
		want, got := run(false), run(true)
		require.Len(t, got, len(want))
		for i := range want {
			require.Len(t, got[i], len(want[i]))
			for j := range want[i] {
				require.Equal(t, math.Float32bits(want[i][j]), math.Float32bits(got[i][j]), "%s: result %d [%d]: %v, want %v", c.name, i, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestLinearResidualPanics checks that mismatched shapes panic naming the
// op and the shapes.
func TestLinearResidualPanics(t *testing.T) {
	x, w, b := NewVar(tensor.Zeros(4, 3)), NewVar(tensor.Zeros(5, 3)), NewVar(tensor.Zeros(5))
	require.PanicsWithValue(t, "autograd.LinearResidual: residual [4 6] does not match input [4 3] and weight [5 3] (want [4 5])", func() {
		LinearResidual(x, w, b, NewVar(tensor.Zeros(4, 6)))
	})
	require.PanicsWithValue(t, "autograd.LinearResidual: residual [3 5] does not match input [4 3] and weight [5 3] (want [4 5])", func() {
		LinearResidual(x, w, b, NewVar(tensor.Zeros(3, 5)))
	})
	require.Panics(t, func() { LinearResidual(x, NewVar(tensor.Zeros(5, 4)), b, NewVar(tensor.Zeros(4, 5))) })
	require.Panics(t, func() { LinearResidual(x, w, NewVar(tensor.Zeros(4)), NewVar(tensor.Zeros(4, 5))) })
}

// ExampleLinearResidual adds a layer's output to the residual stream it
// was computed from, as a transformer block does.
func ExampleLinearResidual() {
	x := NewVar(tensor.New([]float32{1, 2}, 1, 2))             // [N=1, in=2]
	w := NewVar(tensor.New([]float32{1, 0, 0, 1, 1, 1}, 3, 2)) // [out=3, in=2]
	b := NewVar(tensor.New([]float32{0.5, 0.5, 0.5}, 3))
	res := NewVar(tensor.New([]float32{10, 20, 30}, 1, 3))
	y := LinearResidual(x, w, b, res) // res + x·wᵀ + b
	fmt.Println(y.Value().Data())
	// Output: [11.5 22.5 33.5]
}
