package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestEmbeddingLayer(t *testing.T) {
	e := nn.NewEmbeddingPadded(50, 40, -1, nn.WithSeed(1))
	require.Equal(t, 49, e.PaddingIdx)
	w := e.Weight.Value()
	for _, v := range w.Data()[49*40:] {
		require.Zero(t, v, "padding row starts at zero")
	}
	// The other rows are N(0, 1).
	rest := tensor.Slice(w, 0, 0, 49)
	require.InDelta(t, 0, tensor.MeanAll(rest), 0.1)
	require.InDelta(t, 1, math.Sqrt(float64(tensor.MeanAll(tensor.Square(rest)))), 0.1)
	require.Equal(t, "Embedding(50, 40, padding 49)", e.String())

	y := e.Forward(autograd.Constant(nn.IDs([]int{3, 49, 3, 0, 1, 2}, 2, 3)))
	require.Equal(t, []int{2, 3, 40}, y.Shape())
	require.Equal(t, w.Data()[3*40:4*40], y.Value().Data()[:40])
	autograd.Sum(y, false).Backward()
	g := e.Weight.Grad()
	require.Equal(t, float32(2), g.At(3, 0), "id 3 used twice")
	require.Equal(t, float32(0), g.At(49, 0), "padding gets no gradient")
	require.Equal(t, float32(0), g.At(7, 0), "unused id")

	inf := e.Forward(autograd.NoGrad(nn.IDs([]int{1, 2})))
	require.True(t, inf.Inference(), "inference ids give an inference result")
	require.False(t, inf.RequiresGrad())

	_, err := e.Lookup([]int{1, 50}, 2)
	require.EqualError(t, err, "nn.Embedding.Lookup: id 50 at position 1 is outside [0, 50)")
	_, err = e.Lookup([]int{1, 2, 3}, 2, 2)
	require.EqualError(t, err, "nn.Embedding.Lookup: shape [2 2] holds 4 ids, got 3")
	v, err := e.Lookup([]int{1, 2, 3})
	require.NoError(t, err)
	require.Equal(t, []int{3, 40}, v.Shape())
	require.PanicsWithValue(t, "nn.Embedding.Forward: value 1.5 at position 1 is not an id in [0, 50)",
		func() { e.Forward(autograd.Constant(tensor.New([]float32{1, 1.5}, 2))) })
	require.Equal(t, -1, nn.NewEmbedding(3, 2).PaddingIdx)
}

func TestMultiheadAttentionInitAndPaths(t *testing.T) {
	const e = 16
	m := nn.NewMultiheadAttention(e, 4, 0, nn.WithSeed(2))
	// xavier_uniform on [3E, E]: bound √(6/(E+3E)).
	bound := float32(math.Sqrt(6.0 / (4 * e)))
	maxIn := tensor.MaxAll(tensor.Abs(m.InProjWeight.Value()))
	require.LessOrEqual(t, maxIn, bound)
	require.Greater(t, maxIn, 0.9*bound)
	require.Less(t, tensor.MaxAll(tensor.Abs(m.OutProj.Weight.Value())), float32(1/math.Sqrt(e))+1e-6)
	require.Zero(t, tensor.MaxAll(tensor.Abs(m.InProjBias.Value())))
	require.Zero(t, tensor.MaxAll(tensor.Abs(m.OutProj.Bias.Value())))
	// Non-zero biases, so that a bias slice mix-up would show.
	for i, v := range tensor.RandU(rand.New(rand.NewPCG(3, 3)), -1, 1, 3*e).Data() {
		m.InProjBias.Value().Data()[i] = v
	}
	require.Equal(t, "MultiheadAttention(16, 4 heads)", m.String())

	x := tensor.RandN(rand.New(rand.NewPCG(4, 4)), 0, 1, 2, 5, e)
	opt := nn.AttendOptions{Causal: true, KeyPadding: []bool{false, false, true, false, false, false, false, false, false, true}, NeedWeights: true}
	// The packed self-attention path and the general path agree.
	xv := autograd.Constant(x)
	self, ws := m.Attend(xv, xv, xv, opt)
	gen, wg := m.Attend(autograd.Constant(x), autograd.Constant(x), autograd.Constant(x), opt)
	require.Less(t, tensor.MaxAbsDiff(self.Value(), gen.Value()), float32(1e-5))
	require.Less(t, tensor.MaxAbsDiff(ws.Value(), wg.Value()), float32(1e-6))
	require.Equal(t, []int{2, 5, 5}, ws.Shape())
	for r := 0; r < 10; r++ {
		var s float32
		for _, p := range ws.Value().Data()[r*5 : (r+1)*5] {
			s += p
		}
		require.InDelta(t, 1, s, 1e-5)
	}
	plain, none := m.Attend(xv, xv, xv, nn.AttendOptions{})
	require.Nil(t, none)
	require.Less(t, tensor.MaxAbsDiff(plain.Value(), m.Forward(xv).Value()), float32(1e-6))
	require.PanicsWithValue(t, "nn.MultiheadAttention: query [2 5 8], key [2 5 16], value [2 5 16] must be [B, T, 16]",
		func() { m.Attend(autograd.Constant(tensor.Zeros(2, 5, 8)), xv, xv, nn.AttendOptions{}) })
}

func TestSequenceLayersDropoutModes(t *testing.T) {
	l := nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: 8, Heads: 2, DimFF: 16, Dropout: 0.5}, nn.WithSeed(5))
	x := autograd.Constant(tensor.RandN(rand.New(rand.NewPCG(6, 6)), 0, 1, 2, 4, 8))
	a, b := l.Forward(x).Value(), l.Forward(x).Value()
	require.Greater(t, tensor.MaxAbsDiff(a, b), float32(1e-3), "training draws fresh masks")
	// An inference-mode input is evaluated whatever the layer's mode.
	ia := l.Forward(autograd.NoGrad(x.Value())).Value()
	ib := l.Forward(autograd.NoGrad(x.Value())).Value()
	require.True(t, tensor.Equal(ia, ib), "inference input: no dropout")
	require.True(t, nn.IsTraining(l))
	nn.Eval(l)
	require.False(t, l.SelfAttn.Training(), "Eval reaches the attention")
	require.False(t, l.Dropout1.Training())
	a, b = l.Forward(x).Value(), l.Forward(x).Value()
	require.True(t, tensor.Equal(a, b), "evaluation is deterministic")
	require.True(t, tensor.Equal(a, ia), "inference input equals evaluation")
	// With dropout off, evaluation equals a dropout-free layer with the
	// same weights.
	ref := nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: 8, Heads: 2, DimFF: 16}, nn.WithSeed(7))
	require.NoError(t, nn.LoadStateDict(ref, nn.StateDict(l)))
	require.Less(t, tensor.MaxAbsDiff(ref.Forward(x).Value(), a), float32(1e-6))

	g := nn.NewGPTBlock(nn.GPTConfig{DModel: 8, Heads: 2, Dropout: 0.5}, nn.WithSeed(8))
	gx := tensor.RandN(rand.New(rand.NewPCG(9, 9)), 0, 1, 1, 4, 8)
	require.True(t, tensor.Equal(g.Forward(autograd.NoGrad(gx)).Value(), g.Forward(autograd.NoGrad(gx)).Value()))
	nn.Eval(g)
	require.False(t, g.Attn.Training())
	require.False(t, g.MLP.Drop.Training())
}

func TestTransformerDefaults(t *testing.T) {
	l := nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: 8, Heads: 2})
	require.Equal(t, 2048, l.Linear1.Weight.Value().Dim(0))
	require.Equal(t, nn.ActReLU, l.Activation)
	require.Equal(t, float32(1e-5), l.Norm1.Eps)
	require.Equal(t, "TransformerEncoderLayer(8, 2 heads, ff 2048, ReLU, post-norm, dropout 0)", l.String())
	require.PanicsWithValue(t, "nn.NewTransformerEncoderLayer: DModel 10 must be a positive multiple of Heads 4",
		func() { nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: 10, Heads: 4}) })
	require.PanicsWithValue(t, "nn.NewMultiheadAttention: embed 10 must be a positive multiple of heads 4",
		func() { nn.NewMultiheadAttention(10, 4, 0) })
}

func TestGPTBlockIsCausal(t *testing.T) {
	for _, rotary := range []bool{false, true} {
		b := nn.NewGPTBlock(nn.GPTConfig{DModel: 8, Heads: 2, Rotary: rotary}, nn.WithSeed(9))
		x := tensor.RandN(rand.New(rand.NewPCG(10, 10)), 0, 1, 1, 5, 8)
		y := b.Forward(autograd.Constant(x)).Value()
		x2 := x.Clone()
		for i := 3 * 8; i < 5*8; i++ { // change tokens 3 and 4 (not by a constant: layer norm removes that)
			x2.Data()[i] += float32(i%5) - 2
		}
		y2 := b.Forward(autograd.Constant(x2)).Value()
		require.Less(t, tensor.MaxAbsDiff(tensor.Slice(y, 1, 0, 3), tensor.Slice(y2, 1, 0, 3)), float32(1e-6), "rotary=%v: earlier positions unchanged", rotary)
		require.Greater(t, tensor.MaxAbsDiff(tensor.Slice(y, 1, 3, 5), tensor.Slice(y2, 1, 3, 5)), float32(1e-3))
	}
	b := nn.NewGPTBlock(nn.GPTConfig{DModel: 8, Heads: 2, Rotary: true}, nn.WithSeed(11))
	names := []string{}
	for _, p := range b.Params() {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
		"ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"}, names)
	require.Equal(t, "GPTBlock(8, 2 heads, rotary)", b.String())
	// The whole rotary block, input gradient checked numerically.
	res, err := autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var { return b.Forward(xs[0]) },
		[]*tensor.Tensor{tensor.RandN(rand.New(rand.NewPCG(12, 12)), 0, 1, 1, 4, 8)}, autograd.GradCheckOptions{})
	require.NoError(t, err, "%v", res)
}

func TestPositionEncodings(t *testing.T) {
	s := nn.NewSinusoidalPositionalEncoding(10, 6)
	require.InDelta(t, math.Sin(1), s.PE.At(1, 0), 1e-6)
	require.InDelta(t, math.Cos(1), s.PE.At(1, 1), 1e-6)
	require.InDelta(t, math.Sin(3/math.Pow(10000, 2.0/6)), s.PE.At(3, 2), 1e-6)
	require.InDelta(t, math.Cos(3/math.Pow(10000, 4.0/6)), s.PE.At(3, 5), 1e-6)
	x := tensor.Ones(2, 4, 6)
	y := s.Forward(autograd.Constant(x)).Value()
	require.InDelta(t, 1+math.Sin(1), y.At(1, 1, 0), 1e-6)
	require.Nil(t, s.Params())

	p := nn.NewPositionalEmbedding(6, 4, nn.WithSeed(13))
	v := autograd.NewVar(tensor.Zeros(2, 3, 4))
	out := p.Forward(v)
	require.Equal(t, tensor.Slice(p.Weight.Value(), 0, 0, 3).Data(), tensor.Slice(out.Value(), 0, 0, 1).Data())
	autograd.Sum(out, false).Backward()
	require.Equal(t, float32(2), p.Weight.Grad().At(2, 0), "two sequences use position 2")
	require.Equal(t, float32(0), p.Weight.Grad().At(3, 0), "position 3 is beyond T")
	require.PanicsWithValue(t, "nn.PositionalEmbedding.Forward: input [1 7 4] is not [B, T ≤ 6, 4]",
		func() { p.Forward(autograd.Constant(tensor.Zeros(1, 7, 4))) })

	r := &nn.Rotary{Heads: 2}
	rx := tensor.RandN(rand.New(rand.NewPCG(14, 14)), 0, 1, 1, 3, 8)
	require.True(t, tensor.Equal(autograd.Rotary(autograd.Constant(rx), 2, 10000, 0).Value(), r.Forward(autograd.Constant(rx)).Value()))
}

func TestConv1DLayer(t *testing.T) {
	c := nn.NewConv1D(4, 6, 3, nn.WithPadding(1), nn.WithStride(2), nn.WithGroups(2), nn.WithSeed(15))
	require.Equal(t, []int{6, 2, 3}, c.Weight.Shape())
	require.LessOrEqual(t, tensor.MaxAll(tensor.Abs(c.Weight.Value())), float32(1/math.Sqrt(6)))
	y := c.Forward(autograd.Constant(tensor.Ones(2, 4, 9)))
	require.Equal(t, []int{2, 6, 5}, y.Shape())
	require.Equal(t, "Conv1D(4 → 6, k=3, stride 2, padding 1, dilation 1, groups 2)", c.String())
	mp := nn.NewMaxPool1D(2)
	require.Equal(t, []int{2, 6, 2}, mp.Forward(y).Shape())
	ap := nn.NewAvgPool1D(3, nn.WithStride(1), nn.WithPadding(1))
	require.Equal(t, []int{2, 6, 5}, ap.Forward(y).Shape())
}

// FuzzEmbeddingLookup feeds arbitrary ids and shapes to Lookup: it must
// return an error for any bad id or shape and never panic.
func FuzzEmbeddingLookup(f *testing.F) {
	e := nn.NewEmbeddingPadded(7, 3, 0, nn.WithSeed(16))
	f.Add([]byte{1, 2, 3}, 3, 1)
	f.Add([]byte{0, 255, 6}, 1, 3)
	f.Add([]byte{}, 0, 0)
	f.Fuzz(func(t *testing.T, raw []byte, d0, d1 int) {
		ids := make([]int, len(raw))
		bad := false
		for i, b := range raw {
			ids[i] = int(int8(b))
			bad = bad || ids[i] < 0 || ids[i] >= 7
		}
		d0, d1 = d0%64, d1%64
		v, err := e.Lookup(ids, d0, d1)
		if bad || d0 < 0 || d1 < 0 || d0*d1 != len(ids) {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		require.Equal(t, []int{d0, d1, 3}, v.Shape())
	})
}

func TestSequenceLayersRNGState(t *testing.T) {
	x := autograd.Constant(tensor.RandN(rand.New(rand.NewPCG(17, 17)), 0, 1, 2, 6, 8))
	for name, m := range map[string]nn.Module{
		"encoder": nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: 8, Heads: 2, DimFF: 16, Dropout: 0.3}, nn.WithSeed(18)),
		"gpt":     nn.NewGPTBlock(nn.GPTConfig{DModel: 8, Heads: 2, Dropout: 0.3}, nn.WithSeed(19)),
		"mha":     nn.NewMultiheadAttention(8, 2, 0.3, nn.WithRand(rand.New(rand.NewPCG(20, 20)))),
	} {
		state, err := nn.RNGState(m)
		require.NoError(t, err, name)
		a := m.Forward(x).Value()
		b := m.Forward(x).Value()
		require.False(t, tensor.Equal(a, b), "%s: masks differ from step to step", name)
		require.NoError(t, nn.SetRNGState(m, state), name)
		require.True(t, tensor.Equal(a, m.Forward(x).Value()), "%s: a restored state redraws the same masks", name)
	}
	// The attention generator alone is restored too.
	m := nn.NewMultiheadAttention(8, 2, 0.5, nn.WithSeed(21))
	st, err := m.RNGState()
	require.NoError(t, err)
	a := m.Forward(x).Value()
	require.NoError(t, m.SetRNGState(st))
	require.True(t, tensor.Equal(a, m.Forward(x).Value()))
	require.Error(t, m.SetRNGState([]byte("junk")))
	require.False(t, tensor.Equal(m.Forward(x).Value(), m.Forward(x).Value()), "a bad state leaves the generator running")
}

func TestTransformerEncoderStack(t *testing.T) {
	cfg := nn.TransformerConfig{DModel: 8, Heads: 2, DimFF: 16, NormFirst: true}
	enc := nn.NewTransformerEncoder(cfg, 2, true, nn.WithSeed(22))
	require.Equal(t, "layers.1.self_attn.in_proj_weight", enc.Layers[1].SelfAttn.InProjWeight.Name)
	require.Equal(t, "norm.bias", enc.Norm.Bias.Name)
	x := autograd.Constant(tensor.RandN(rand.New(rand.NewPCG(23, 23)), 0, 1, 2, 5, 8))
	o := nn.AttendOptions{Causal: true}
	want := enc.Norm.Forward(enc.Layers[1].ForwardMasked(enc.Layers[0].ForwardMasked(x, o), o))
	require.True(t, tensor.Equal(want.Value(), enc.ForwardMasked(x, o).Value()))
	require.Greater(t, tensor.MaxAbsDiff(enc.Layers[0].Linear1.Weight.Value(), enc.Layers[1].Linear1.Weight.Value()), float32(0))
	require.Len(t, enc.Children(), 3)
}

func TestGPTBlockDecodeMatchesForward(t *testing.T) {
	for _, rotary := range []bool{false, true} {
		blocks := []*nn.GPTBlock{
			nn.NewGPTBlock(nn.GPTConfig{DModel: 8, Heads: 2, Rotary: rotary, Dropout: 0.2}, nn.WithSeed(30)),
			nn.NewGPTBlock(nn.GPTConfig{DModel: 8, Heads: 2, Rotary: rotary, Dropout: 0.2}, nn.WithSeed(31)),
		}
		x := tensor.RandN(rand.New(rand.NewPCG(32, 32)), 0, 1, 2, 7, 8)
		full := autograd.NoGrad(x)
		for _, b := range blocks {
			full = b.Forward(full)
		}
		caches := []*nn.KVCache{nn.NewKVCache(2, 9, 8), nn.NewKVCache(2, 9, 8)}
		run := func(from, to int) *tensor.Tensor {
			h := autograd.Constant(tensor.Slice(x, 1, from, to))
			for i, b := range blocks {
				h = b.Decode(h, caches[i])
			}
			return h.Value()
		}
		parts := []*tensor.Tensor{run(0, 3)}
		for i := 3; i < 7; i++ {
			parts = append(parts, run(i, i+1))
		}
		require.Equal(t, 7, caches[1].Len)
		require.Less(t, tensor.MaxAbsDiff(full.Value(), tensor.Concat(1, parts...)), float32(1e-5), "rotary=%v", rotary)
		require.PanicsWithValue(t, "nn.GPTBlock.Decode: 3 new positions of [2 3 8] do not fit a cache [2 9 8] holding 7",
			func() { blocks[0].Decode(autograd.Constant(tensor.Zeros(2, 3, 8)), caches[0]) })
		caches[0].Reset()
		require.Zero(t, caches[0].Len)
	}
}

func TestGPTModel(t *testing.T) {
	for _, rotary := range []bool{false, true} {
		cfg := nn.GPTModelConfig{VocabSize: 13, BlockSize: 9, Layers: 2, Block: nn.GPTConfig{DModel: 8, Heads: 2, Rotary: rotary, Dropout: 0.1}}
		g := nn.NewGPT(cfg, nn.WithSeed(40))
		require.Equal(t, rotary, g.WPE == nil)
		ids := []int{1, 5, 7, 2, 12, 0, 3, 3, 9, 4, 11, 6}
		logits := g.Forward(autograd.NoGrad(nn.IDs(ids, 2, 6)))
		require.Equal(t, []int{2, 6, 13}, logits.Shape())
		// Prompt of 2, then one token at a time through the caches.
		caches := g.NewCaches(2)
		step := func(from, to int) *tensor.Tensor {
			var part []int
			for b := 0; b < 2; b++ {
				part = append(part, ids[b*6+from:b*6+to]...)
			}
			return g.Decode(autograd.Constant(nn.IDs(part, 2, to-from)), caches).Value()
		}
		parts := []*tensor.Tensor{step(0, 2)}
		for i := 2; i < 6; i++ {
			parts = append(parts, step(i, i+1))
		}
		require.Less(t, tensor.MaxAbsDiff(logits.Value(), tensor.Concat(1, parts...)), float32(1e-5), "rotary=%v", rotary)
		require.PanicsWithValue(t, "nn.GPT: ids [2 4] at offset 6 are not [B, T] within the block size 9",
			func() { g.Decode(autograd.Constant(tensor.Zeros(2, 4)), caches) })
	}
	// nanoGPT's initialisation: N(0, 0.02), residual projections scaled.
	g := nn.NewGPT(nn.GPTModelConfig{VocabSize: 100, BlockSize: 64, Layers: 8, Block: nn.GPTConfig{DModel: 64, Heads: 4}}, nn.WithSeed(41))
	rms := func(x *tensor.Tensor) float64 { return math.Sqrt(float64(tensor.MeanAll(tensor.Square(x)))) }
	require.InDelta(t, 0.02, rms(g.WTE.Weight.Value()), 0.002)
	require.InDelta(t, 0.02, rms(g.H[3].Attn.CAttn.Weight.Value()), 0.002)
	require.InDelta(t, 0.02/4, rms(g.H[3].MLP.CProj.Weight.Value()), 0.0005)
	require.Zero(t, tensor.MaxAll(tensor.Abs(g.H[0].MLP.CFC.Bias.Value())))
	require.Equal(t, "lm_head.weight", g.LMHead.Weight.Name)
	require.Equal(t, "transformer.h.7.mlp.c_proj.bias", g.H[7].MLP.CProj.Bias.Name)
	require.Equal(t, "GPT(vocab 100, block 64, 8 layers, 64, 4 heads)", g.String())
}
