package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

// TestAttentionKeyBlocksGrad checks the backward's key blocks (the key and
// value gradients of the keys a row block is the first to see, formed in
// one product over all the rows from that block on) with CheckGrad, for
// sequence lengths that end before, on and after each 32-row block, up to
// four blocks: causal and not, with the forward's probabilities kept and
// recomputed from the log-sum-exps, with key padding (which recomputes)
// and with dropout (which redraws the forward's decisions).
func TestAttentionKeyBlocksGrad(t *testing.T) {
	const heads, d = 2, 2
	const e = heads * d
	for _, tt := range []int{1, 7, 31, 32, 33, 65, 128} {
		for _, causal := range []bool{true, false} {
			kpm := make([]bool, tt)
			for j := 0; j < tt; j += 5 { // keys 0, 5, 10, …: a row may lose every key
				kpm[j] = true
			}
			cases := []struct {
				name string
				opt  func() AttentionOptions
				kept int // maxKeptProbs for the case
			}{
				{"kept", func() AttentionOptions { return AttentionOptions{Heads: heads, Causal: causal} }, 1 << 23},
				{"lse", func() AttentionOptions { return AttentionOptions{Heads: heads, Causal: causal} }, 0},
				{"padding", func() AttentionOptions { return AttentionOptions{Heads: heads, Causal: causal, KeyPadding: kpm} }, 1 << 23},
				{"dropout", func() AttentionOptions {
					return AttentionOptions{Heads: heads, Causal: causal, Dropout: 0.2, Rand: rand.New(rand.NewPCG(uint64(tt), 3))}
				}, 1 << 23},
			}
			for i, c := range cases {
				t.Run(fmt.Sprintf("T%d/causal=%v/%s", tt, causal, c.name), func(t *testing.T) {
					if tt == 128 && testing.Short() && c.name != "kept" {
						t.Skip("long sequence")
					}
					defer func(old int) { maxKeptProbs = old }(maxKeptProbs)
					maxKeptProbs = c.kept
					x := rnd(uint64(800+10*tt+i), -1, 1, 1, tt, 3*e)
					checkGrad(t, func(xs ...*Var) *Var { return SelfAttention(xs[0], c.opt()) }, x)
				})
			}
		}
	}
}

// TestAttentionKeyBlocksMatchComposed compares the gradients of causal
// SelfAttention (kept probabilities and recomputed ones) with those of
// attention composed of separate ops, at lengths that end before, on and
// after the 32-row blocks, so that every key block (and a wrong row count
// or key range in any of them) is seen; and causal attention with a
// CausalOffset and more keys than queries, whose first key block is wider
// than a row block, with the same attention written as an additive mask.
func TestAttentionKeyBlocksMatchComposed(t *testing.T) {
	const b, heads, d = 2, 2, 8
	const e = heads * d
	for _, tt := range []int{31, 32, 33, 65, 128} {
		for _, kept := range []int{1 << 23, 0} {
			t.Run(fmt.Sprintf("T%d/kept=%v", tt, kept > 0), func(t *testing.T) {
				defer func(old int) { maxKeptProbs = old }(maxKeptProbs)
				maxKeptProbs = kept
				qkv := rnd(uint64(900+tt), -2, 2, b, tt, 3*e)
				gy := rnd(uint64(901+tt), -1, 1, b, tt, e)
				x := NewVar(qkv)
				SelfAttention(x, AttentionOptions{Heads: heads, Causal: true}).BackwardWith(gy)

				q := NewVar(fromHeadsLast(tensor.Slice(qkv, 2, 0, e), heads))
				k := NewVar(fromHeadsLast(tensor.Slice(qkv, 2, e, 2*e), heads))
				v := NewVar(fromHeadsLast(tensor.Slice(qkv, 2, 2*e, 3*e), heads))
				refAttention(q, k, v, AttentionOptions{Causal: true}).BackwardWith(fromHeadsLast(gy, heads))
				want := tensor.Concat(2, toHeadsLast(q.Grad()), toHeadsLast(k.Grad()), toHeadsLast(v.Grad()))
				require.Less(t, tensor.MaxAbsDiff(want, x.Grad()), float32(1e-5))
			})
		}
	}
	for _, sz := range [][3]int{{40, 75, 35}, {33, 50, 17}, {70, 70, 0}, {5, 100, 95}} {
		tq, s, off := sz[0], sz[1], sz[2]
		t.Run(fmt.Sprintf("T%d/S%d/offset%d", tq, s, off), func(t *testing.T) {
			qt, kt, vt := attnCase(uint64(950+tq), b, heads, tq, s, d, d)
			mask := tensor.Zeros(tq, s)
			for i := range tq {
				for j := i + off + 1; j < s; j++ {
					mask.Set(float32(math.Inf(-1)), i, j)
				}
			}
			gy := rnd(uint64(960+tq), -1, 1, b, heads, tq, d)
			run := func(opt AttentionOptions) [3]*tensor.Tensor {
				q, k, v := NewVar(qt), NewVar(kt), NewVar(vt)
				ScaledDotProductAttention(q, k, v, opt).BackwardWith(gy)
				return [3]*tensor.Tensor{q.Grad(), k.Grad(), v.Grad()}
			}
			want := run(AttentionOptions{Mask: mask})
			got := run(AttentionOptions{Causal: true, CausalOffset: off})
			for j := range want {
				require.Less(t, tensor.MaxAbsDiff(want[j], got[j]), float32(1e-5), "gradient of input %d", j)
			}
		})
	}
}
