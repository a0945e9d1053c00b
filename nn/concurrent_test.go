package nn

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckConcurrentTraining checks that every layer whose training
// forward changes shared state is named, wherever it sits in the model,
// and that models of read-only layers pass: a layer missing from the check
// (or one flagged whatever its dropout) fails here.
func TestCheckConcurrentTraining(t *testing.T) {
	gpt := func(dropout float32) *GPT {
		return NewGPT(GPTModelConfig{VocabSize: 10, BlockSize: 8, Layers: 2, Block: GPTConfig{DModel: 8, Heads: 2, Dropout: dropout}}, WithSeed(1))
	}
	require.NoError(t, CheckConcurrentTraining(gpt(0)))
	require.NoError(t, CheckConcurrentTraining(NewSequential(NewDense(4, 4), NewDropout(0), NewMultiheadAttention(8, 2, 0), NewLayerNorm(4))))
	// Dropout between layers needs two layers.
	require.NoError(t, CheckConcurrentTraining(NewLSTM(4, 5, RNNConfig{Layers: 1, Dropout: 0.5}, WithSeed(1))))
	for _, c := range []struct {
		m    Module
		want string
	}{
		{gpt(0.1), "layer 3 of the model in Walk order, Dropout(p=0.1)"},
		{NewSequential(NewDense(4, 4), NewDropout(0.5)), "layer 2 of the model in Walk order, Dropout(p=0.5)"},
		{NewSequential(NewMultiheadAttention(8, 2, 0.2)), "MultiheadAttention"},
		{NewSequential(NewDense(4, 4), NewBatchNorm1D(4)), "BatchNorm"},
		{NewLSTM(4, 5, RNNConfig{Layers: 2, Dropout: 0.5}, WithSeed(1)), "LSTM"},
		{NewRNNLM(RNNLMConfig{Vocab: 10, Embed: 4, Hidden: 6, Layers: 2, Dropout: 0.3, GRU: true}, WithSeed(1)), "GRU"},
	} {
		require.ErrorContains(t, CheckConcurrentTraining(c.m), c.want)
	}
	// Attention dropout alone, in a GPT block's attention.
	b := NewGPTBlock(GPTConfig{DModel: 8, Heads: 2, Dropout: 0.1}, WithSeed(1))
	Walk(b, func(m Module) {
		if d, ok := m.(*Dropout); ok {
			d.P = 0
		}
	})
	require.ErrorContains(t, CheckConcurrentTraining(b), "CausalSelfAttention")
}
