package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// randomGPT returns a GPT whose every parameter, biases and layer-norm
// scales included, is drawn at random, so that no term of the forward
// vanishes.
func randomGPT(vocab, block, layers, e, heads int) *GPT {
	return randomGPTConfig(GPTModelConfig{VocabSize: vocab, BlockSize: block, Layers: layers,
		Block: GPTConfig{DModel: e, Heads: heads}})
}

func randomGPTConfig(cfg GPTModelConfig) *GPT {
	g := NewGPT(cfg, WithSeed(7))
	r := rand.New(rand.NewPCG(8, 9))
	for _, p := range g.Params() {
		d := p.Value().Data()
		for i := range d {
			d[i] = float32(r.NormFloat64() * 0.3)
		}
	}
	return g
}

func randomIDs(r *rand.Rand, vocab, b, t int) *tensor.Tensor {
	ids := tensor.Zeros(b, t)
	for i := range ids.Data() {
		ids.Data()[i] = float32(r.IntN(vocab))
	}
	return ids
}

// TestGPTPackedForwardMatchesTraining compares the fused inference forward
// (packed weights, an inference input) with the layers' training forward
// on the same ids: equal to float32 rounding, |Δ| ≤ 2e-5·(1+|y|).
func TestGPTPackedForwardMatchesTraining(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ e, heads, block int }{{32, 4, 40}, {128, 4, 128}} {
		g := randomGPT(11, c.block, 2, c.e, c.heads)
		for _, b := range []int{1, 2, 32} {
			for _, tt := range []int{1, 7, 17, 33, c.block} {
				if b == 32 && tt == 128 {
					continue // the same code as b=2; keeps the test short
				}
				t.Run(fmt.Sprintf("e%d/b%d/t%d", c.e, b, tt), func(t *testing.T) {
					ids := randomIDs(r, 11, b, tt)
					want := g.Forward(autograd.Constant(ids)).Value() // training path, weights not packed
					PackForInference(g)
					defer unpack(g)
					require.True(t, g.inferReady(autograd.NoGrad(ids)))
					got := g.Forward(autograd.NoGrad(ids)).Value()
					require.Equal(t, want.Shape(), got.Shape())
					for i, w := range want.Data() {
						require.InDelta(t, w, got.Data()[i], 2e-5*(1+math.Abs(float64(w))), "logit %d", i)
					}
				})
			}
		}
	}
}

// TestGPTPackedForwardNoBias covers nanoGPT's bias=False (no biases in
// the products or the layer norms) with dropout configured, which
// inference ignores, against the training path in evaluation mode.
func TestGPTPackedForwardNoBias(t *testing.T) {
	g := randomGPTConfig(GPTModelConfig{VocabSize: 9, BlockSize: 24, Layers: 3,
		Block: GPTConfig{DModel: 24, Heads: 3, NoBias: true, Dropout: 0.2}})
	SetTraining(g, false)
	ids := randomIDs(rand.New(rand.NewPCG(9, 9)), 9, 3, 19)
	want := g.Forward(autograd.Constant(ids)).Value()
	PackForInference(g)
	require.True(t, g.inferReady(autograd.NoGrad(ids)))
	got := g.Forward(autograd.NoGrad(ids)).Value()
	for i, w := range want.Data() {
		require.InDelta(t, w, got.Data()[i], 2e-5*(1+math.Abs(float64(w))), "logit %d", i)
	}
}

func unpack(m Module) {
	for _, p := range m.Params() {
		p.SetCacheable(false)
	}
}

// TestGPTPackedForwardFallsBack checks that inputs the fused path does not
// take still reach the layers, which report bad ids and lengths.
func TestGPTPackedForwardFallsBack(t *testing.T) {
	g := randomGPT(11, 8, 1, 16, 2)
	PackForInference(g)
	bad := tensor.New([]float32{1, 11}, 1, 2)
	require.False(t, g.inferReady(autograd.NoGrad(bad)))
	require.PanicsWithValue(t, "nn.Embedding.Forward: value 11 at position 1 is not an id in [0, 11)", func() { g.Forward(autograd.NoGrad(bad)) })
	long := tensor.Zeros(1, 9)
	require.False(t, g.inferReady(autograd.NoGrad(long)))
	require.Panics(t, func() { g.Forward(autograd.NoGrad(long)) })
	// A zero-value block (no layers of its own) reaches the block's own
	// unbuilt message, not a nil dereference on the fused path.
	h0 := g.H[0]
	g.H[0] = &GPTBlock{}
	require.False(t, g.inferReady(autograd.NoGrad(tensor.Zeros(1, 3))), "unbuilt block")
	require.Panics(t, func() { g.Forward(autograd.NoGrad(tensor.Zeros(1, 3))) })
	g.H[0] = h0
	unpack(g)
	require.False(t, g.inferReady(autograd.NoGrad(tensor.Zeros(1, 3))), "weights not packed")
}

// TestGPTPackedForwardAllocatesOnlyTheResult: the activations come from a
// pool; a call allocates its logits, their reshape and the Var.
func TestGPTPackedForwardAllocatesOnlyTheResult(t *testing.T) {
	if raceDetector {
		t.Skip("sync.Pool drops items under -race")
	}
	g := randomGPT(11, 40, 2, 32, 4)
	PackForInference(g)
	x := autograd.NoGrad(randomIDs(rand.New(rand.NewPCG(3, 4)), 11, 2, 17))
	g.Forward(x)
	allocs := testalloc.PerRun(20, func() { g.Forward(x) })
	require.LessOrEqual(t, allocs, 4.0)
}

// TestGPTPackedForwardConcurrent runs the fused forward from several
// goroutines at once, with different batch shapes sharing the scratch
// pool, and requires each result to equal a serial run's (run with -race).
func TestGPTPackedForwardConcurrent(t *testing.T) {
	g := randomGPT(11, 40, 2, 32, 4)
	PackForInference(g)
	r := rand.New(rand.NewPCG(5, 6))
	var ids, want []*tensor.Tensor
	for i := range 8 {
		ids = append(ids, randomIDs(r, 11, 1+i%3, 5+7*(i%2)))
		want = append(want, g.Forward(autograd.NoGrad(ids[i])).Value())
	}
	var wg sync.WaitGroup
	got := make([]*tensor.Tensor, len(ids))
	for i := range ids {
		wg.Go(func() {
			for range 5 {
				got[i] = g.Forward(autograd.NoGrad(ids[i])).Value()
			}
		})
	}
	wg.Wait()
	for i := range ids {
		require.Equal(t, want[i].Data(), got[i].Data(), "input %d", i)
	}
}
