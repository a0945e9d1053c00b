package nn

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestDenseGELUFusedInTraining checks that the feed-forward blocks of
// GPTBlock and of a GELU TransformerEncoderLayer compute c_fc/linear1 and
// the GELU as one autograd.LinearGELU when training (the same bits), that
// this agrees with GELU(Dense(x)) in value and gradients, and that a
// layer without a bias keeps the unfused op. Linear and the fused op both
// add the bias to the finished product, so the bits tell which op ran
// through the GELU alone: the hidden widths, 3204 (4×801) and 45, end in
// columns past the last full vector, which the fused op's GELU
// (kernel.GELUBiasDeriv) and GELU's round differently. Sizes are awkward:
// 3×7 tokens, a model size of 801 (more than one k block of the product).
func TestDenseGELUFusedInTraining(t *testing.T) {
	const e = 801
	blk := NewGPTBlock(GPTConfig{DModel: e, Heads: 3}, WithSeed(3))
	enc := NewTransformerEncoderLayer(TransformerConfig{DModel: e, Heads: 3, DimFF: 45, Activation: ActGELU}, WithSeed(4))
	r := rand.New(rand.NewPCG(6, 7))
	x := tensor.RandN(r, 0, 1, 3, 7, e)
	fused := func(d *Dense, v *autograd.Var) *autograd.Var {
		h := d.Weight.Value().Dim(0)
		return autograd.Reshape(autograd.LinearGELU(autograd.Reshape(v, -1, e), d.Weight.Var, d.Bias.Var), 3, 7, h)
	}
	for _, c := range []struct {
		name string
		d    *Dense
	}{{"GPTMLP", blk.MLP.CFC}, {"TransformerEncoderLayer", enc.Linear1}} {
		gy := tensor.RandN(r, 0, 1, 3, 7, c.d.Weight.Value().Dim(0))
		run := func(f func(*autograd.Var) *autograd.Var) (y []float32, grads [][]float32) {
			c.d.Weight.ZeroGrad()
			c.d.Bias.ZeroGrad()
			xv := autograd.NewVar(x)
			out := f(xv)
			out.BackwardWith(gy)
			return out.Value().Data(), [][]float32{xv.Grad().Data(), c.d.Weight.Grad().Data(), c.d.Bias.Grad().Data()}
		}
		fusedY, fusedG := run(func(v *autograd.Var) *autograd.Var { return fused(c.d, v) })
		gotY, gotG := run(func(v *autograd.Var) *autograd.Var { return denseGELU(c.d, v) })
		plainY, plainG := run(func(v *autograd.Var) *autograd.Var { return autograd.GELU(c.d.Forward(v)) })
		require.Equal(t, fusedY, gotY, "%s: not the fused op", c.name)
		if pre := c.d.Forward(autograd.NewVar(x)).Value().Data(); geluKernelsRoundApart(pre, len(c.d.Bias.Value().Data())) {
			require.NotEqual(t, plainY, gotY, "%s: the fused and unfused ops round alike here", c.name)
		}
		require.InDeltaSlice(t, plainY, gotY, 1e-4, c.name)
		for i := range gotG {
			require.Equal(t, fusedG[i], gotG[i], "%s: gradient %d", c.name, i)
			require.InDeltaSlice(t, plainG[i], gotG[i], 1e-3, "%s: gradient %d", c.name, i)
		}
	}
	// The modules' own forwards take it (no dropout).
	got := blk.MLP.Forward(autograd.NewVar(x)).Value().Data()
	want := blk.MLP.CProj.Forward(fused(blk.MLP.CFC, autograd.NewVar(x))).Value().Data()
	require.Equal(t, want, got, "GPTMLP.Forward")
	got = enc.feedForward(autograd.NewVar(x)).Value().Data()
	want = enc.Linear2.Forward(fused(enc.Linear1, autograd.NewVar(x))).Value().Data()
	require.Equal(t, want, got, "TransformerEncoderLayer.feedForward")
	// Without a bias: GELU(Dense(x)).
	d := NewGPTBlock(GPTConfig{DModel: 12, Heads: 2, NoBias: true}, WithSeed(5)).MLP.CFC
	x12 := autograd.NewVar(tensor.RandN(r, 0, 1, 3, 7, 12))
	require.Equal(t, autograd.GELU(d.Forward(x12)).Value().Data(), denseGELU(d, x12).Value().Data())
}

// geluKernelsRoundApart reports whether kernel.GELU and kernel.GELUBiasDeriv
// (with a zero bias) give different bits anywhere on the rows of pre, w
// wide. The vector kernels round a row's tail columns differently; the
// portable ones (purego, arm64, no AVX2) agree, and then the fused op
// cannot be told from the unfused one by its bits.
func geluKernelsRoundApart(pre []float32, w int) bool {
	a, b, der := make([]float32, len(pre)), make([]float32, len(pre)), make([]float32, len(pre))
	kernel.GELU(a, pre)
	kernel.GELUBiasDeriv(b, der, pre, make([]float32, w))
	return !slices.Equal(a, b)
}
