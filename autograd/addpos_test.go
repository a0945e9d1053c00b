package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestAddBlocksMatchesBroadcast checks Add's block paths (one operand's
// shape a trailing part of the other's, either side, and equal sizes with
// extra unit axes) against the general broadcasting add and tensor.SumTo,
// bit for bit, with and without an arena, and numerically.
func TestAddBlocksMatchesBroadcast(t *testing.T) {
	cases := []struct{ a, b []int }{
		{[]int{3, 4, 5}, []int{4, 5}},
		{[]int{5}, []int{2, 3, 5}},
		{[]int{2, 3}, []int{1, 2, 3}},
		{[]int{3, 4, 5}, []int{3, 4, 5}},
		{[]int{3, 1, 5}, []int{4, 5}}, // not blocks: the general path
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(c.a, c.b), func(t *testing.T) {
			at, bt := rnd(uint64(2*i+1), -1, 1, c.a...), rnd(uint64(2*i+2), -1, 1, c.b...)
			want := tensor.Add(at, bt)
			ar := NewArena()
			for _, arena := range []*Arena{nil, ar, ar} {
				av, bv := NewVar(at), NewVar(bt)
				x := av
				if arena != nil {
					arena.Reset()
					// Through the arena, as a model's activation is.
					x = Mul(arena.Constant(tensor.Full(1, c.a...)), av)
				}
				out := Add(x, bv)
				require.Equal(t, want.Shape(), out.Shape())
				require.Equal(t, want.Data(), out.Value().Data())
				g := rnd(9, -1, 1, out.Shape()...)
				out.BackwardWith(g)
				require.Equal(t, tensor.SumTo(g, c.a...).Data(), av.Grad().Data(), "gradient of a")
				require.Equal(t, tensor.SumTo(g, c.b...).Data(), bv.Grad().Data(), "gradient of b")
			}
			res, err := CheckGrad(func(xs ...*Var) *Var { return Add(xs[0], xs[1]) }, []*tensor.Tensor{at, bt}, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
	}
}

// TestAddPositions checks AddPositions against Add(x, Embedding(table,
// positions)) bit for bit — values, the input's gradient and the table's,
// a parameter's and an op output's — numerically, and that it allocates
// nothing in a warm step under an arena.
func TestAddPositions(t *testing.T) {
	const B, T, E, maxLen, offset = 3, 4, 5, 9, 2
	xt, tt := rnd(1, -1, 1, B, T, E), rnd(2, -1, 1, maxLen, E)
	pos := make([]int, T)
	for i := range pos {
		pos[i] = offset + i
	}
	g := rnd(3, -1, 1, B, T, E)
	xw, tw := NewVar(xt), NewVar(tt)
	want := Add(xw, Embedding(tw, pos, -1))
	want.BackwardWith(g)

	xv, tv := NewVar(xt), NewVar(tt)
	got := AddPositions(xv, tv, offset)
	require.Equal(t, want.Value().Data(), got.Value().Data())
	got.BackwardWith(g)
	require.Equal(t, xw.Grad().Data(), xv.Grad().Data())
	require.Equal(t, tw.Grad().Data(), tv.Grad().Data())

	// The table as an op's output: its gradient goes back through the
	// engine.
	tv2 := NewVar(tt)
	AddPositions(NewVar(xt), Mul(tv2, Constant(tensor.Full(1, maxLen, E))), offset).BackwardWith(g)
	require.Equal(t, tw.Grad().Data(), tv2.Grad().Data())

	res, err := CheckGrad(func(xs ...*Var) *Var { return AddPositions(xs[0], xs[1], 1) }, []*tensor.Tensor{rnd(4, -1, 1, 2, 3, 2), rnd(5, -1, 1, 5, 2)}, GradCheckOptions{})
	require.NoError(t, err, "%v", res)

	require.PanicsWithValue(t, "autograd.AddPositions: positions [7, 11) outside the table's 9", func() { AddPositions(xv, tv, 7) })
	require.PanicsWithValue(t, "autograd.AddPositions: input [3 4 5] and table [9 4] are not [B, T, E] and [maxLen, E]", func() {
		AddPositions(xv, Constant(tensor.Zeros(maxLen, 4)), 0)
	})

	if raceEnabled {
		return
	}
	a := NewArena()
	step := func() {
		a.Reset()
		AddPositions(a.Constant(xt), tv, offset).BackwardWith(g)
	}
	step()
	require.Zero(t, testalloc.PerRun(10, step))
}

// TestBufPoolNoAllocs checks that a scratch buffer taken from and given
// back to the recurrent ops' pools costs nothing once warm.
func TestBufPoolNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	run := func() {
		b := getBuf(1000)
		b[999] = 1
		putBuf(b)
	}
	run()
	require.Zero(t, testalloc.PerRun(20, run))
}

// ExampleAddPositions adds the rows of a learned positional table for
// positions 1 and 2 to a batch of one sequence of two tokens.
func ExampleAddPositions() {
	x := Constant(tensor.New([]float32{1, 1, 2, 2}, 1, 2, 2))                  // [B=1, T=2, E=2]
	table := NewVar(tensor.New([]float32{0, 0, 10, 20, 30, 40, 50, 60}, 4, 2)) // [maxLen=4, E=2]
	y := AddPositions(x, table, 1)
	fmt.Println(y.Value().Data())
	Sum(y, false).Backward()
	fmt.Println(table.Grad().Data())
	// Output:
	// [11 21 32 42]
	// [0 0 1 1 1 1 0 0]
}

// TestScratchInts checks that ScratchInts hands out the arena's slots in
// call order, reuses them after Reset (growing one that is too short), and
// allocates a fresh slice without an arena.
func TestScratchInts(t *testing.T) {
	a := NewArena()
	v := a.Constant(tensor.Zeros(1))
	s1, s2 := ScratchInts(v, 3), ScratchInts(v, 5)
	require.Len(t, s1, 3)
	require.Len(t, s2, 5)
	s1[0], s2[0] = 7, 8
	a.Reset()
	r1, r2 := ScratchInts(v, 2), ScratchInts(v, 9)
	require.Equal(t, 7, r1[0], "the first slot is reused")
	require.Len(t, r2, 9)
	r2[8] = 1 // grown: the whole length is writable
	free := Constant(tensor.Zeros(1))
	f1, f2 := ScratchInts(free, 2), ScratchInts(free, 2)
	f1[0] = 1
	require.Zero(t, f2[0], "without an arena every call gets its own slice")
	if !raceEnabled {
		require.Zero(t, testalloc.PerRun(10, func() {
			a.Reset()
			ScratchInts(v, 3)
			ScratchInts(v, 9)
		}))
	}
}

// ExampleScratchInts converts class ids held as floats (a batch's targets)
// into the indices SoftmaxCrossEntropy takes, drawing the slice from the
// logits' arena.
func ExampleScratchInts() {
	a := NewArena()
	logits := a.Constant(tensor.New([]float32{2, 0, 0, 0, 3, 0}, 2, 3))
	targets := []float32{0, 1}
	ids := ScratchInts(logits, len(targets))
	for i, v := range targets {
		ids[i] = int(v)
	}
	loss := SoftmaxCrossEntropy(logits, ids, 0, ReduceMean)
	fmt.Printf("%.4f\n", loss.Value().Item()) // the mean of log(1 + 2e⁻²) and log(1 + 2e⁻³)
	// Output: 0.1672
}

// TestSliceMulSubArena checks Slice (along every axis, empty and whole
// ranges too), Mul and Sub of equal shapes under an arena against the
// same ops without one, values and gradients bit for bit, numerically,
// and that a warm step of them allocates nothing.
func TestSliceMulSubArena(t *testing.T) {
	x, y := rnd(1, -1, 1, 3, 4, 5), rnd(2, -1, 1, 3, 4, 5)
	ranges := [][3]int{{0, 1, 3}, {1, 0, 4}, {2, 2, 5}, {-1, 0, 2}, {1, 2, 2}, {0, 0, 3}}
	f := func(a *Arena, xv, yv *Var) *Var {
		var in *Var = xv
		if a != nil {
			a.Reset()
			in = Mul(a.Constant(tensor.Full(1, 3, 4, 5)), xv) // from the arena
		}
		p := Sub(Mul(in, yv), yv)
		var parts []*Var
		for _, r := range ranges {
			parts = append(parts, Reshape(Slice(p, r[0], r[1], r[2]), -1))
		}
		return Concat(0, parts...)
	}
	g := rnd(3, -1, 1, f(nil, Constant(x), Constant(y)).Shape()...)
	run := func(a *Arena) []*tensor.Tensor {
		xv, yv := NewVar(x), NewVar(y)
		out := f(a, xv, yv)
		v := out.Value().Clone()
		out.BackwardWith(g)
		return []*tensor.Tensor{v, xv.Grad(), yv.Grad()}
	}
	want := run(nil)
	a := NewArena()
	for range 2 {
		got := run(a)
		for k := range want {
			require.Equal(t, want[k].Data(), got[k].Data(), "tensor %d", k)
		}
	}
	res, err := CheckGrad(func(xs ...*Var) *Var { return f(nil, xs[0], xs[1]) }, []*tensor.Tensor{x, y}, GradCheckOptions{})
	require.NoError(t, err, "%v", res)
	require.PanicsWithValue(t, "tensor.Slice: range [2, 6) out of bounds for axis 1 of shape [3 4 5]", func() {
		Slice(a.Constant(x), 1, 2, 6)
	})
	if raceEnabled {
		return
	}
	xv, yv := NewVar(x), NewVar(y)
	step := func() {
		a.Reset()
		in := Mul(a.Constant(x), xv)
		Slice(Sub(in, yv), 1, 1, 3).BackwardWith(a.tensor([]int{3, 2, 5}))
	}
	step()
	require.Zero(t, testalloc.PerRun(10, step))
}
