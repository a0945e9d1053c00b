package nn_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

func randomIDs(r *rand.Rand, vocab, b, t int) *tensor.Tensor {
	ids := make([]int, b*t)
	for i := range ids {
		ids[i] = r.IntN(vocab)
	}
	return nn.IDs(ids, b, t)
}

// decodeInChunks feeds ids [B, T] to d as a prompt of 3 and then one
// position at a time, and joins the logits.
func decodeInChunks(d nn.Decoder, ids *tensor.Tensor) *tensor.Tensor {
	parts := []*tensor.Tensor{d.Decode(tensor.Slice(ids, 1, 0, 3).Clone())}
	for i := 3; i < ids.Dim(1); i++ {
		parts = append(parts, d.Decode(tensor.Slice(ids, 1, i, i+1).Clone()))
	}
	return tensor.Concat(1, parts...)
}

func TestLMDecodeMatchesForward(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	models := map[string]nn.IncrementalLM{
		"gpt": nn.NewGPT(nn.GPTModelConfig{VocabSize: 11, BlockSize: 9, Layers: 2,
			Block: nn.GPTConfig{DModel: 8, Heads: 2}}, nn.WithSeed(3)),
		"gpt-rotary": nn.NewGPT(nn.GPTModelConfig{VocabSize: 11, BlockSize: 9, Layers: 2,
			Block: nn.GPTConfig{DModel: 8, Heads: 2, Rotary: true}}, nn.WithSeed(4)),
		"lstm": nn.NewRNNLM(nn.RNNLMConfig{Vocab: 11, Embed: 5, Hidden: 7, Layers: 2}, nn.WithSeed(5)),
		"gru":  nn.NewRNNLM(nn.RNNLMConfig{Vocab: 11, Embed: 5, Hidden: 7, GRU: true}, nn.WithSeed(6)),
	}
	for name, m := range models {
		ids := randomIDs(r, 11, 2, 9)
		full := m.Forward(autograd.NoGrad(ids)).Value()
		require.Equal(t, []int{2, 9, 11}, full.Shape(), name)
		d := m.NewDecoder(2)
		got := decodeInChunks(d, ids)
		require.Equal(t, 9, d.Len(), name)
		require.Less(t, tensor.MaxAbsDiff(full, got), float32(1e-5), name)
		d.Reset()
		require.Zero(t, d.Len(), name)
		again := decodeInChunks(d, ids)
		require.Less(t, tensor.MaxAbsDiff(full, again), float32(1e-5), "%s after Reset", name)
	}
}

func TestGPTDecodeFull(t *testing.T) {
	g := nn.NewGPT(nn.GPTModelConfig{VocabSize: 5, BlockSize: 4, Layers: 1, Block: nn.GPTConfig{DModel: 4, Heads: 1}}, nn.WithSeed(1))
	d := g.NewDecoder(1)
	require.Equal(t, 4, d.Cap())
	d.Decode(nn.IDs([]int{1, 2, 3}, 1, 3))
	require.Panics(t, func() { d.Decode(nn.IDs([]int{1, 2}, 1, 2)) })
	d.Decode(nn.IDs([]int{1}, 1, 1))
	require.Equal(t, 4, d.Len())
	require.Panics(t, func() { g.Forward(autograd.NoGrad(nn.IDs(make([]int, 5), 1, 5))) })
}

func TestLMNamesAndGradients(t *testing.T) {
	g := nn.NewGPT(nn.GPTModelConfig{VocabSize: 5, BlockSize: 4, Layers: 2, Block: nn.GPTConfig{DModel: 4, Heads: 2}}, nn.WithSeed(1))
	lstm := nn.NewRNNLM(nn.RNNLMConfig{Vocab: 5, Embed: 3, Hidden: 4, Layers: 2}, nn.WithSeed(2))
	var names []string
	for _, nt := range nn.StateDict(lstm) {
		names = append(names, nt.Name)
	}
	require.Equal(t, []string{"embed.weight", "head.bias", "head.weight",
		"rnn.bias_hh_l0", "rnn.bias_hh_l1", "rnn.bias_ih_l0", "rnn.bias_ih_l1",
		"rnn.weight_hh_l0", "rnn.weight_hh_l1", "rnn.weight_ih_l0", "rnn.weight_ih_l1"}, names)
	// Every parameter receives a gradient from the next-token loss.
	ids := nn.IDs([]int{0, 1, 2, 3, 4, 3, 2, 1}, 2, 4)
	for _, m := range []nn.Module{g, lstm, nn.NewRNNLM(nn.RNNLMConfig{Vocab: 5, Embed: 3, Hidden: 4, GRU: true}, nn.WithSeed(2))} {
		nn.CrossEntropyLoss{}.Forward(m.Forward(autograd.Constant(ids)), ids).Backward()
		for _, p := range m.Params() {
			require.NotNil(t, p.Grad(), "%v %s", m, p.Name)
			require.Greater(t, tensor.MaxAbsDiff(p.Grad(), tensor.ZerosLike(p.Grad())), float32(0), "%v %s", m, p.Name)
		}
	}
}

func TestCrossEntropySequence(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	logits := tensor.RandN(r, 0, 2, 2, 3, 5)
	ids := randomIDs(r, 5, 2, 3)
	seq := autograd.NewVar(logits.Clone())
	flat := autograd.NewVar(logits.Reshape(6, 5).Clone())
	ls := nn.CrossEntropyLoss{LabelSmoothing: 0.1}.Forward(seq, ids)
	lf := nn.CrossEntropyLoss{LabelSmoothing: 0.1}.Forward(flat, ids.Reshape(6))
	require.Equal(t, lf.Value().Item(), ls.Value().Item())
	ls.Backward()
	lf.Backward()
	require.Equal(t, []int{2, 3, 5}, seq.Grad().Shape())
	require.True(t, tensor.Equal(flat.Grad().Reshape(2, 3, 5), seq.Grad()))
	none := nn.CrossEntropyLoss{Reduction: nn.ReduceNone}.Forward(autograd.Constant(logits), ids)
	require.Equal(t, []int{2, 3}, none.Shape())
	require.Panics(t, func() { nn.CrossEntropyLoss{}.Forward(autograd.Constant(logits), tensor.Zeros(2, 4)) })
}

func ExampleRNNLM_NewDecoder() {
	m := nn.NewRNNLM(nn.RNNLMConfig{Vocab: 10, Embed: 4, Hidden: 8, Layers: 2}, nn.WithSeed(1))
	d := m.NewDecoder(1)
	logits := d.Decode(nn.IDs([]int{3, 1, 4}, 1, 3)) // the prompt
	fmt.Println(logits.Shape(), d.Len())
	logits = d.Decode(nn.IDs([]int{1}, 1, 1)) // then one token at a time
	fmt.Println(logits.Shape(), d.Len())
	// Output:
	// [1 3 10] 3
	// [1 1 10] 4
}
