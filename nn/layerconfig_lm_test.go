package nn

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestLanguageModelFiles saves a GPT (learned positions and rotary) and an
// RNNLM (LSTM and GRU) with SaveModel and checks that LoadModel rebuilds
// each with no code and the same logits.
func TestLanguageModelFiles(t *testing.T) {
	ids := tensor.New([]float32{1, 4, 2, 0, 3, 3, 1, 2}, 2, 4)
	for _, m := range []Module{
		NewGPT(GPTModelConfig{VocabSize: 5, BlockSize: 8, Layers: 2, Block: GPTConfig{DModel: 8, Heads: 2}}, WithSeed(1)),
		NewGPT(GPTModelConfig{VocabSize: 5, BlockSize: 8, Layers: 1, Block: GPTConfig{DModel: 8, Heads: 2, Rotary: true, NoBias: true}}, WithSeed(2)),
		NewRNNLM(RNNLMConfig{Vocab: 5, Embed: 6, Hidden: 7, Layers: 2}, WithSeed(3)),
		NewRNNLM(RNNLMConfig{Vocab: 5, Embed: 6, Hidden: 7, GRU: true}, WithSeed(4)),
	} {
		path := filepath.Join(t.TempDir(), "lm.safetensors")
		var info ModelInfo
		require.NoError(t, info.SetExtra(ExtraTokenizer, "shoshin-tokenizer 1 char"))
		require.NoError(t, SaveModel(path, m, info))
		got, ginfo, err := LoadModel(path)
		require.NoError(t, err, "%v", m)
		require.Equal(t, fmt.Sprint(m), fmt.Sprint(got))
		var tok string
		ok, err := ginfo.Extra(ExtraTokenizer, &tok)
		require.True(t, ok)
		require.NoError(t, err)
		want := m.Forward(autograd.NoGrad(ids)).Value().Data()
		require.Equal(t, want, got.Forward(autograd.NoGrad(ids)).Value().Data(), "%v", m)
	}
}

// TestLanguageModelConfigChecked feeds configurations a hostile file could
// hold and expects errors naming the field.
func TestLanguageModelConfigChecked(t *testing.T) {
	_, err := GPTValues(GPTFileConfig{VocabSize: 5, BlockSize: 8, Layers: 1, Block: GPTBlockConfig{DModel: 9, Heads: 2}})
	require.ErrorContains(t, err, "d_model 9 must divide by heads 2")
	_, err = GPTValues(GPTFileConfig{VocabSize: 0, BlockSize: 8, Layers: 1, Block: GPTBlockConfig{DModel: 8, Heads: 2}})
	require.ErrorContains(t, err, "vocab_size")
	_, err = RNNLMValues(RNNLMFileConfig{Vocab: 5, Embed: 6, Hidden: 7, Dropout: 1})
	require.ErrorContains(t, err, "dropout")
	n, err := GPTValues(GPTFileConfig{VocabSize: 5, BlockSize: 8, Layers: 2, Block: GPTBlockConfig{DModel: 8, Heads: 2}})
	require.NoError(t, err)
	require.Equal(t, int64(countAll(NewGPT(GPTFileConfig{VocabSize: 5, BlockSize: 8, Layers: 2, Block: GPTBlockConfig{DModel: 8, Heads: 2}}.Model()))), n)
	n, err = RNNLMValues(RNNLMFileConfig{Vocab: 5, Embed: 6, Hidden: 7, Layers: 2})
	require.NoError(t, err)
	require.Equal(t, int64(countAll(NewRNNLM(RNNLMConfig{Vocab: 5, Embed: 6, Hidden: 7, Layers: 2}))), n)
}
