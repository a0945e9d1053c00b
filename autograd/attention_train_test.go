package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

// fromHeadsLast turns [B, T, H·D] into [B, H, T, D].
func fromHeadsLast(x *tensor.Tensor, heads int) *tensor.Tensor {
	s := x.Shape()
	return tensor.Permute(x.Reshape(s[0], s[1], heads, s[2]/heads), 0, 2, 1, 3)
}

// TestSelfAttentionAwkwardSizes checks SelfAttention's output and gradient
// against attention composed of separate ops, for sequence lengths around
// the 32-row blocks (a single row, partial blocks, a block and one row),
// one and three heads, with and without the causal mask.
func TestSelfAttentionAwkwardSizes(t *testing.T) {
	const b, d = 2, 5
	for _, tt := range []int{1, 7, 17, 33, 65} {
		for _, heads := range []int{1, 3} {
			for _, causal := range []bool{true, false} {
				t.Run(fmt.Sprintf("T%d/h%d/causal=%v", tt, heads, causal), func(t *testing.T) {
					e := heads * d
					seed := uint64(300 + tt*7 + heads)
					qkv := rnd(seed, -2, 2, b, tt, 3*e)
					gy := rnd(seed+1, -1, 1, b, tt, e)
					opt := AttentionOptions{Heads: heads, Causal: causal}

					x := NewVar(qkv)
					y := SelfAttention(x, opt)
					y.BackwardWith(gy)

					q := NewVar(fromHeadsLast(tensor.Slice(qkv, 2, 0, e), heads))
					k := NewVar(fromHeadsLast(tensor.Slice(qkv, 2, e, 2*e), heads))
					v := NewVar(fromHeadsLast(tensor.Slice(qkv, 2, 2*e, 3*e), heads))
					ref := refAttention(q, k, v, AttentionOptions{Causal: causal})
					ref.BackwardWith(fromHeadsLast(gy, heads))

					require.Less(t, tensor.MaxAbsDiff(toHeadsLast(ref.Value()), y.Value()), float32(2e-6))
					want := tensor.Concat(2, toHeadsLast(q.Grad()), toHeadsLast(k.Grad()), toHeadsLast(v.Grad()))
					require.Less(t, tensor.MaxAbsDiff(want, x.Grad()), float32(1e-5))
				})
			}
		}
	}
	for _, tt := range []int{1, 7, 33} {
		opt := AttentionOptions{Heads: 3, Causal: true}
		checkGrad(t, func(xs ...*Var) *Var { return SelfAttention(xs[0], opt) }, rnd(uint64(400+tt), -1, 1, 1, tt, 3*6))
	}
}

// TestAttentionGradStaleBuffers checks ScaledDotProductAttention's
// gradients when their buffers come back from an arena holding the last
// step's values: keys that no query may see (causal, fewer queries than
// keys) and keys beyond KeyLen must still get zero gradient.
func TestAttentionGradStaleBuffers(t *testing.T) {
	const b, tq, s, e, heads = 2, 3, 6, 8, 2
	opts := []AttentionOptions{
		{Heads: heads, Causal: true},            // keys 3…5 unseen
		{Heads: heads, Causal: true, KeyLen: 5}, // key 5 outside, keys 3, 4 unseen
		{Heads: heads, Causal: true, CausalOffset: 1, KeyLen: 4},
		{Heads: heads, KeyLen: 4},
	}
	for i, opt := range opts {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			wq, wk, wv := NewVar(rnd(500, 0.5, 1.5, b, tq, e)), NewVar(rnd(501, 0.5, 1.5, b, s, e)), NewVar(rnd(502, 0.5, 1.5, b, s, e))
			gy := rnd(503, -1, 1, b, tq, e)
			step := func(a *Arena, opt AttentionOptions, seed uint64) [3][]float32 {
				for _, w := range []*Var{wq, wk, wv} {
					w.ZeroGrad()
				}
				c := func(x *tensor.Tensor) *Var {
					if a == nil {
						return Constant(x)
					}
					return a.Constant(x)
				}
				q := Mul(c(rnd(seed, -1, 1, b, tq, e)), wq)
				k := Mul(c(rnd(seed+1, -1, 1, b, s, e)), wk)
				v := Mul(c(rnd(seed+2, -1, 1, b, s, e)), wv)
				ScaledDotProductAttention(q, k, v, opt).BackwardWith(gy)
				return [3][]float32{
					append([]float32(nil), wq.Grad().Data()...),
					append([]float32(nil), wk.Grad().Data()...),
					append([]float32(nil), wv.Grad().Data()...),
				}
			}
			// Before each measured step, unmasked attention over every key
			// leaves non-zero gradients in the arena's buffers.
			a := NewArena()
			for j := range 3 {
				want := step(nil, opt, uint64(600+10*j))
				a.Reset()
				step(a, AttentionOptions{Heads: heads}, uint64(700+10*j))
				a.Reset()
				require.Equal(t, want, step(a, opt, uint64(600+10*j)), "step %d", j)
			}
		})
	}
}

// TestSelfAttentionKeptProbsStaleBuffers checks SelfAttention's kept
// exponentials and row inverses, which come from the arena with old
// values in them (here every buffer of the arena is filled with NaN
// before the measured step): the gradient must be the one computed
// without an arena, for causal and plain attention, with a sequence of
// 33 (a partial last block).
func TestSelfAttentionKeptProbsStaleBuffers(t *testing.T) {
	const b, e, heads = 2, 6, 2
	w := NewVar(rnd(510, 0.5, 1.5, b, 33, 3*e))
	gy := rnd(511, -1, 1, b, 33, e)
	nan := float32(math.NaN())
	for _, causal := range []bool{true, false} {
		step := func(a *Arena, seed uint64) []float32 {
			w.ZeroGrad()
			x := rnd(seed, -2, 2, b, 33, 3*e)
			in := Constant(x)
			if a != nil {
				in = a.Constant(x)
			}
			SelfAttention(Mul(in, w), AttentionOptions{Heads: heads, Causal: causal}).BackwardWith(gy)
			return append([]float32(nil), w.Grad().Data()...)
		}
		a := NewArena()
		for j := range 3 {
			want := step(nil, uint64(520+j))
			a.Reset()
			step(a, uint64(530+j))
			a.Reset()
			for _, buf := range a.bufs {
				d := buf.Data()
				d = d[:cap(d)]
				for i := range d {
					d[i] = nan
				}
			}
			require.Equal(t, want, step(a, uint64(520+j)), "causal %v, step %d", causal, j)
		}
	}
}

// TestSelfAttentionProbsCap checks that a SelfAttention whose probabilities
// would pass maxKeptProbs keeps the log-sum-exps instead (no probabilities
// buffer) and gives the same values and, to rounding, the same gradients
// as the path that keeps them. A fallback that mixed the two records would
// fail it.
func TestSelfAttentionProbsCap(t *testing.T) {
	const b, e, heads = 2, 6, 2
	x := rnd(540, -2, 2, b, 17, 3*e)
	gy := rnd(541, -1, 1, b, 17, e)
	for _, causal := range []bool{true, false} {
		run := func(limit int) (y, g []float32, kept int) {
			defer func(old int) { maxKeptProbs = old }(maxKeptProbs)
			maxKeptProbs = limit
			a := NewArena()
			xv := NewVar(x)
			out := SelfAttention(Mul(a.Constant(tensor.Ones(b, 17, 3*e)), xv), AttentionOptions{Heads: heads, Causal: causal})
			out.BackwardWith(gy)
			geom := selfAttnGeom(x.Shape(), heads, causal)
			for _, buf := range a.bufs {
				if len(buf.Data()) == geom.probsLen() {
					kept++
				}
			}
			return out.Value().Data(), xv.Grad().Data(), kept
		}
		wantY, wantG, kept := run(1 << 23)
		require.Equal(t, 1, kept, "causal %v: the probabilities are not kept under the cap", causal)
		gotY, gotG, kept := run(0)
		require.Zero(t, kept, "causal %v: probabilities kept past the cap", causal)
		require.Equal(t, wantY, gotY, "causal %v", causal)
		require.InDeltaSlice(t, wantG, gotG, 1e-5, "causal %v", causal)
	}
}
