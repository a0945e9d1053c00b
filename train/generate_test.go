package train

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/nn"
)

func tinyGPT(context int) *nn.GPT {
	return nn.NewGPT(nn.GPTModelConfig{VocabSize: 13, BlockSize: context, Layers: 2, Block: nn.GPTConfig{DModel: 16, Heads: 2}}, nn.WithSeed(7))
}

func TestGenerateCachedMatchesFull(t *testing.T) {
	ctx := context.Background()
	prompt := []int{1, 5, 2}
	models := map[string]nn.Module{
		"gpt":  tinyGPT(32),
		"lstm": nn.NewRNNLM(nn.RNNLMConfig{Vocab: 13, Embed: 6, Hidden: 16, Layers: 2}, nn.WithSeed(8)),
		"gru":  nn.NewRNNLM(nn.RNNLMConfig{Vocab: 13, Embed: 6, Hidden: 16, GRU: true}, nn.WithSeed(9)),
	}
	for name, m := range models {
		for _, cfg := range []GenerateConfig{
			{MaxTokens: 29},
			{MaxTokens: 29, Temperature: 1.5, TopK: 5, TopP: 0.9},
		} {
			fresh := func() GenerateConfig { c := cfg; c.Rand = rand.New(rand.NewPCG(1, 1)); return c }
			cached, err := Generate(ctx, m, prompt, fresh())
			require.NoError(t, err)
			require.Len(t, cached, 29)
			c := fresh()
			c.NoCache = true
			full, err := Generate(ctx, m, prompt, c)
			require.NoError(t, err)
			require.Equal(t, full, cached, "%s %+v", name, cfg)
		}
	}
}

func TestGenerateSeeded(t *testing.T) {
	m := tinyGPT(16)
	gen := func(seed uint64) []int {
		out, err := Generate(context.Background(), m, []int{3}, GenerateConfig{MaxTokens: 40, Temperature: 2, Rand: rand.New(rand.NewPCG(seed, 0))})
		require.NoError(t, err)
		require.Len(t, out, 40, "the cache restarts past the context of 16 instead of failing")
		return out
	}
	require.Equal(t, gen(1), gen(1))
	require.NotEqual(t, gen(1), gen(2))
}

func TestGenerateStopAndCancel(t *testing.T) {
	m := tinyGPT(16)
	all, err := Generate(context.Background(), m, []int{3}, GenerateConfig{MaxTokens: 10})
	require.NoError(t, err)
	out, err := Generate(context.Background(), m, []int{3}, GenerateConfig{MaxTokens: 10, Stop: []int{all[2]}})
	require.NoError(t, err)
	require.True(t, slices.Equal(all[:slices.Index(all, all[2])], out), "%v then %v", all, out)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err = Generate(ctx, m, []int{3}, GenerateConfig{MaxTokens: 10})
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, out)

	_, err = Generate(context.Background(), m, []int{30}, GenerateConfig{MaxTokens: 2})
	require.ErrorContains(t, err, "not an id in [0, 13)")
	_, err = Generate(context.Background(), m, []int{1}, GenerateConfig{MaxTokens: 2, Temperature: 1})
	require.EqualError(t, err, "train: Generate: sampling (Temperature > 0) needs Rand")
	_, err = Generate(context.Background(), m, nil, GenerateConfig{MaxTokens: 2})
	require.ErrorContains(t, err, "prompt is empty")
}

func TestSamplerFilters(t *testing.T) {
	// Temperature 1: probabilities proportional to 4, 3, 2, 1 (logits ln).
	logits := []float32{0.6931472, 1.3862944, 0, 1.0986123} // p ∝ 2, 4, 1, 3
	dist := func(k int, p float64) []float64 {
		s := newSampler(GenerateConfig{Temperature: 1, TopK: k, TopP: p})
		return append([]float64(nil), s.distribution(logits)...)
	}
	require.InDeltaSlice(t, []float64{0.2, 0.4, 0.1, 0.3}, dist(0, 0), 1e-6)
	require.InDeltaSlice(t, []float64{0, 4.0 / 7, 0, 3.0 / 7}, dist(2, 0), 1e-6)
	require.InDeltaSlice(t, []float64{0, 1, 0, 0}, dist(1, 0), 1e-6)
	// Top-p 0.7: 0.4 + 0.3 reaches it; 0.75 needs the third token.
	require.InDeltaSlice(t, []float64{0, 4.0 / 7, 0, 3.0 / 7}, dist(0, 0.7), 1e-6)
	require.InDeltaSlice(t, []float64{2.0 / 9, 4.0 / 9, 0, 3.0 / 9}, dist(0, 0.75), 1e-6)
	require.InDeltaSlice(t, []float64{0, 1, 0, 0}, dist(0, 0.1), 1e-6)
	require.InDeltaSlice(t, []float64{0, 4.0 / 7, 0, 3.0 / 7}, dist(3, 0.6), 1e-6)
	// Ties at the k-th place are kept.
	s := newSampler(GenerateConfig{Temperature: 1, TopK: 1})
	require.InDeltaSlice(t, []float64{0.5, 0, 0.5}, s.distribution([]float32{2, 1, 2}), 1e-9)
	// Temperature sharpens: p ∝ 2², 4², 1, 3².
	s = newSampler(GenerateConfig{Temperature: 0.5})
	require.InDeltaSlice(t, []float64{4.0 / 30, 16.0 / 30, 1.0 / 30, 9.0 / 30}, s.distribution(logits), 1e-6)
	// Greedy takes the first maximum; sampling never picks a filtered token.
	require.Equal(t, 1, newSampler(GenerateConfig{}).sample([]float32{1, 3, 3}))
	s = newSampler(GenerateConfig{Temperature: 1, TopK: 2, Rand: rand.New(rand.NewPCG(1, 2))})
	counts := map[int]int{}
	for range 2000 {
		counts[s.sample(logits)]++
	}
	require.Zero(t, counts[0]+counts[2])
	require.InDelta(t, 4.0/7, float64(counts[1])/2000, 0.05)
}
