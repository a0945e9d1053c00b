package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestGPTBlockResidualMatchesUnfused checks GPTBlock.Forward while
// training, whose residual adds are folded into the projections
// (autograd.LinearResidual), against the block written out with Add, bit
// for bit: the output and the gradients of the input and of every
// parameter, with biases, without, and with dropout (where the residual
// branches must keep their dropout, so the fused op may not run, and the
// masks are drawn in the same order). Sizes are awkward: 2×7 tokens, a
// model size of 15.
func TestGPTBlockResidualMatchesUnfused(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  GPTConfig
	}{
		{"bias", GPTConfig{DModel: 15, Heads: 3}},
		{"no bias", GPTConfig{DModel: 15, Heads: 3, NoBias: true}},
		{"dropout", GPTConfig{DModel: 15, Heads: 3, Dropout: 0.3}},
	} {
		r := rand.New(rand.NewPCG(8, 9))
		x := tensor.RandN(r, 0, 1, 2, 7, 15)
		gy := tensor.RandN(r, 0, 1, 2, 7, 15)
		run := func(fused bool) [][]float32 {
			b := NewGPTBlock(c.cfg, WithSeed(11))
			xv := autograd.NewVar(x)
			var y *autograd.Var
			if fused {
				y = b.Forward(xv)
			} else {
				h := autograd.Add(xv, b.Attn.Forward(b.LN1.Forward(xv)))
				y = autograd.Add(h, b.MLP.Forward(b.LN2.Forward(h)))
			}
			y.BackwardWith(gy)
			out := [][]float32{y.Value().Data(), xv.Grad().Data()}
			for _, p := range b.Params() {
				out = append(out, p.Grad().Data())
			}
			return out
		}
		want, got := run(false), run(true)
		require.Len(t, got, len(want), c.name)
		for i := range want {
			require.Len(t, got[i], len(want[i]), c.name)
			for j := range want[i] {
				require.Equal(t, math.Float32bits(want[i][j]), math.Float32bits(got[i][j]), "%s: result %d [%d]: %v, want %v", c.name, i, j, got[i][j], want[i][j])
			}
		}
	}
}
