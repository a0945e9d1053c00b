package autograd

import (
	"testing"

	"github.com/stretchr/testify/require"

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
