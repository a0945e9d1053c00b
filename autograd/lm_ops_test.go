package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestEmbeddingIDs(t *testing.T) {
	w := NewVar(tensor.New([]float32{0, 0, 1, 1, 2, 2, 3, 3}, 4, 2))
	ids := tensor.New([]float32{2, 1, 1, 0, 3, 1}, 2, 3)
	coef := tensor.New([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 3, 2)
	want := []float32{0, 0, 3 + 5 + 11, 4 + 6 + 12, 1, 2, 9, 10} // row 0 is padding, row 1 used three times
	// Plain, then twice under an arena with other ids in between, so that a
	// stale saved id or a gradient buffer not cleared would show.
	y := EmbeddingIDs(w, Constant(ids), 0)
	require.Equal(t, []int{2, 3, 2}, y.Shape())
	require.Equal(t, []float32{2, 2, 1, 1, 1, 1, 0, 0, 3, 3, 1, 1}, y.Value().Data())
	Sum(Mul(y, Constant(coef)), false).Backward()
	require.Equal(t, want, w.Grad().Data())
	a := NewArena()
	other := tensor.New([]float32{3, 3, 3, 3, 3, 3}, 2, 3)
	for _, in := range []*tensor.Tensor{ids, other, ids} {
		w.ZeroGrad()
		a.Reset()
		y := EmbeddingIDs(w, a.Constant(in), 0)
		Sum(Mul(y, a.Constant(coef)), false).Backward()
		if in == ids {
			require.Equal(t, want, w.Grad().Data())
		}
	}
	// Inference-mode ids record nothing.
	require.False(t, EmbeddingIDs(w, NoGrad(ids), -1).RequiresGrad())

	checkGrad(t, func(xs ...*Var) *Var {
		return EmbeddingIDs(xs[0], Constant(tensor.New([]float32{3, 0, 3, 1}, 4)), -1)
	}, rnd(1, -1, 1, 4, 3))
	require.PanicsWithValue(t, "autograd.EmbeddingIDs: value 4 at position 1 is not an id in [0, 4)",
		func() { EmbeddingIDs(w, Constant(tensor.New([]float32{0, 4}, 2)), -1) })
	require.PanicsWithValue(t, "autograd.EmbeddingIDs: value 0.5 at position 0 is not an id in [0, 4)",
		func() { EmbeddingIDs(w, Constant(tensor.New([]float32{0.5}, 1)), -1) })
}

// BenchmarkSelfAttention times the char-GPT's attention: causal
// self-attention over a packed [B, T, 3E] projection, B=32, T=128, E=128,
// 4 heads of 32, forward and backward, under an arena.
func BenchmarkSelfAttention(b *testing.B) {
	x := rnd(300, -1, 1, 32, 128, 384)
	proj := rnd(301, -1, 1, 32, 128, 128)
	opt := AttentionOptions{Heads: 4, Causal: true}
	a := NewArena()
	b.ReportAllocs()
	for b.Loop() {
		a.Reset()
		qkv := NewVar(x)
		Sum(Mul(SelfAttention(qkv, opt), a.Constant(proj)), false).Backward()
	}
	// Forward and backward: 7 products of T²/2·D per (batch, head).
	flops := 7 * 2 * 32 * 4 * 128 * 128 / 2 * 32
	b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestRecurrentStepwiseAndSingle checks the paths that read weight_hh in
// place (one step at a time, a batch of one) against the path that
// transposes it once (many steps of a batch): feeding the sequence step by
// step, carrying the state, and running each sequence alone must give the
// outputs and final states of the whole run; and both paths pass CheckGrad.
func TestRecurrentStepwiseAndSingle(t *testing.T) {
	const T, B, I, H = 4, 3, 2, 5
	for i, c := range []recurrentCase{{kind: kindRNN, state: true}, {kind: kindLSTM, state: true}, {kind: kindGRU, state: true}} {
		t.Run(c.String(), func(t *testing.T) {
			ins := c.inputs(uint64(400+10*i), T, B, I, H)
			vars := make([]*Var, len(ins))
			for j, in := range ins {
				vars[j] = Constant(in)
			}
			whole := c.run(vars...)
			// Step by step, the state carried from one call to the next.
			step := append([]*Var(nil), vars...)
			nState := len(whole) - 1
			for s := 0; s < T; s++ {
				step[0] = Constant(tensor.Slice(ins[0], 0, s, s+1).Clone())
				outs := c.run(step...)
				require.InDeltaSlice(t, tensor.Slice(whole[0].Value(), 0, s, s+1).Clone().Data(), outs[0].Value().Data(), 1e-6, "step %d", s)
				copy(step[len(step)-nState:], outs[1:])
			}
			for j := 1; j <= nState; j++ {
				require.InDeltaSlice(t, whole[j].Value().Data(), step[len(step)-nState+j-1].Value().Data(), 1e-6)
			}
			// Each sequence alone.
			for b := 0; b < B; b++ {
				one := append([]*Var(nil), vars...)
				one[0] = Constant(tensor.Slice(ins[0], 1, b, b+1).Clone())
				for j := len(one) - nState; j < len(one); j++ {
					one[j] = Constant(tensor.Slice(ins[j], 0, b, b+1).Clone())
				}
				outs := c.run(one...)
				require.InDeltaSlice(t, tensor.Slice(whole[0].Value(), 1, b, b+1).Clone().Data(), outs[0].Value().Data(), 1e-6, "sequence %d", b)
			}
			for _, shape := range [][2]int{{1, B}, {T, 1}} {
				res, err := CheckGrad(func(xs ...*Var) *Var { return flatCat(c.run(xs...)) }, c.inputs(uint64(500+i), shape[0], shape[1], I, H), GradCheckOptions{})
				require.NoError(t, err, "T=%d B=%d: %v", shape[0], shape[1], res)
			}
		})
	}
}

// BenchmarkLayerNorm times forward and backward of the char-GPT's layer
// norm over [32·128, 128] under an arena.
func BenchmarkLayerNorm(b *testing.B) {
	x, w, bias := rnd(700, -1, 1, 4096, 128), rnd(701, 0.5, 1.5, 128), rnd(702, -1, 1, 128)
	proj := rnd(703, -1, 1, 4096, 128)
	a := NewArena()
	wv, bv := NewVar(w), NewVar(bias)
	b.ReportAllocs()
	for b.Loop() {
		a.Reset()
		xv := NewVar(x)
		Sum(Mul(LayerNorm(xv, wv, bv, 1, 1e-5), a.Constant(proj)), false).Backward()
	}
}

// TestRecurrentWeightGradPaths checks that weight gradients reach
// parameters directly (leaves) and through the engine (weights computed by
// another op) alike, under an arena, twice (stale buffers must not leak).
func TestRecurrentWeightGradPaths(t *testing.T) {
	for i, c := range []recurrentCase{{kind: kindLSTM, state: true}, {kind: kindGRU, state: true}} {
		ins := c.inputs(uint64(800+10*i), 3, 2, 4, 3)
		proj := rnd(uint64(900+i), -1, 1, 3*2*3)
		grads := func(direct bool, a *Arena) [][]float32 {
			leaves := make([]*Var, len(ins))
			xs := make([]*Var, len(ins))
			for j, in := range ins {
				leaves[j] = NewVar(in)
				xs[j] = leaves[j]
				// The input always comes through the arena, as in a model;
				// the weights too unless direct.
				if j == 0 || !direct {
					xs[j] = Mul(leaves[j], a.Constant(tensor.Full(1, in.Shape()...)))
				}
			}
			out := c.run(xs...)[0]
			Sum(Mul(Reshape(out, -1), a.Constant(proj)), false).Backward()
			var gs [][]float32
			for _, l := range leaves {
				gs = append(gs, append([]float32(nil), l.Grad().Data()...))
			}
			return gs
		}
		a := NewArena()
		want := grads(true, a)
		for range 2 {
			a.Reset()
			got := grads(false, a)
			for j := range want {
				require.InDeltaSlice(t, want[j], got[j], 1e-6, "%v input %d", c, j)
			}
		}
	}
}

// TestSwapLeadingAxes compares SwapLeadingAxes with Permute, checks its
// gradient, and runs it twice under an arena.
func TestSwapLeadingAxes(t *testing.T) {
	for _, shape := range [][]int{{3, 4, 5}, {2, 3}, {4, 1, 2, 3}} {
		x := rnd(1000, -1, 1, shape...)
		axes := []int{1, 0}
		for i := 2; i < len(shape); i++ {
			axes = append(axes, i)
		}
		want := Permute(Constant(x), axes...).Value()
		got := SwapLeadingAxes(Constant(x)).Value()
		require.Equal(t, want.Shape(), got.Shape())
		require.Equal(t, want.Data(), got.Data())
		checkGrad(t, func(xs ...*Var) *Var { return SwapLeadingAxes(xs[0]) }, x)
		a := NewArena()
		for range 2 {
			a.Reset()
			xv := NewVar(x)
			proj := a.Constant(rnd(1001, -1, 1, want.Shape()...))
			Sum(Mul(SwapLeadingAxes(Mul(xv, a.Constant(tensor.Full(1, shape...)))), proj), false).Backward()
			wantG := Permute(Constant(proj.Value()), axes...).Value() // the inverse of a swap is a swap
			require.Equal(t, wantG.Data(), xv.Grad().Data())
		}
	}
	require.Panics(t, func() { SwapLeadingAxes(Constant(tensor.Zeros(3))) })
}

// A batch of two sequences of three steps, batch-first, turned time-major
// for a recurrent op.
func ExampleSwapLeadingAxes() {
	x := Constant(tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3, 1)) // [B=2, T=3, F=1]
	y := SwapLeadingAxes(x)                                         // [T=3, B=2, F=1]
	fmt.Println(y.Shape(), y.Value().Data())
	// Output: [3 2 1] [1 4 2 5 3 6]
}

// TestLayerNormRowsSpread runs a layer norm large enough to spread its
// rows over workers (forward, and backward with per-chunk weight and bias
// sums) and compares it with the same run on one worker.
func TestLayerNormRowsSpread(t *testing.T) {
	x, w, bias := rnd(1100, -2, 2, 3, 101, 128), rnd(1101, 0.5, 1.5, 128), rnd(1102, -1, 1, 128)
	proj := rnd(1103, -1, 1, 3, 101, 128)
	run := func(workers int) (y []float32, grads [][]float32) {
		defer parallel.SetWorkers(parallel.SetWorkers(workers))
		vs := []*Var{NewVar(x), NewVar(w), NewVar(bias)}
		out := LayerNorm(vs[0], vs[1], vs[2], 1, 1e-5)
		Sum(Mul(out, Constant(proj)), false).Backward()
		for _, v := range vs {
			grads = append(grads, v.Grad().Data())
		}
		return out.Value().Data(), grads
	}
	y1, g1 := run(1)
	for _, workers := range []int{2, 3} {
		y, g := run(workers)
		require.Equal(t, y1, y, "forward with %d workers", workers)
		for i := range g1 {
			require.InDeltaSlice(t, g1[i], g[i], 1e-4, "gradient %d with %d workers", i, workers)
		}
	}
}
