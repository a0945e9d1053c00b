package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Token ids become vectors; id 0 is padding and stays zero.
func ExampleEmbedding() {
	emb := nn.NewEmbeddingPadded(100, 16, 0, nn.WithSeed(1))
	// Two sequences of four tokens, padded with 0.
	x, err := emb.Lookup([]int{5, 17, 42, 0, 8, 9, 0, 0}, 2, 4)
	if err != nil {
		panic(err)
	}
	fmt.Println(emb, x.Shape())
	fmt.Println("padding vector sum:", tensor.SumAll(tensor.Slice(x.Value(), 1, 3, 4)))
	_, err = emb.Lookup([]int{100})
	fmt.Println(err)
	// Output:
	// Embedding(100, 16, padding 0) [2 4 16]
	// padding vector sum: 0
	// nn.Embedding.Lookup: id 100 at position 0 is outside [0, 100)
}

// Self-attention with a causal mask and a key padding mask, asking for the
// head-averaged attention weights.
func ExampleMultiheadAttention() {
	mha := nn.NewMultiheadAttention(32, 4, 0, nn.WithSeed(1))
	x := autograd.Constant(tensor.RandN(rand.New(rand.NewPCG(1, 2)), 0, 1, 2, 5, 32)) // [B, T, E]
	pad := []bool{
		false, false, false, false, false, // sequence 0: five tokens
		false, false, false, true, true, // sequence 1: three tokens and padding
	}
	y, w := mha.Attend(x, x, x, nn.AttendOptions{Causal: true, KeyPadding: pad, NeedWeights: true})
	fmt.Println(mha, y.Shape(), w.Shape())
	// The last query of sequence 1 attends to its three real tokens only.
	fmt.Printf("%.2f\n", tensor.Slice(tensor.Slice(w.Value(), 0, 1, 2), 1, 4, 5).Data())
	// Output:
	// MultiheadAttention(32, 4 heads) [2 5 32] [2 5 5]
	// [0.33 0.43 0.24 0.00 0.00]
}

// A pre-norm encoder layer with GELU, run on a batch with a causal mask.
func ExampleTransformerEncoderLayer() {
	layer := nn.NewTransformerEncoderLayer(nn.TransformerConfig{
		DModel: 64, Heads: 4, DimFF: 256, Dropout: 0.1, Activation: nn.ActGELU, NormFirst: true,
	}, nn.WithSeed(1))
	fmt.Println(layer)
	x := autograd.Constant(tensor.RandN(rand.New(rand.NewPCG(1, 2)), 0, 1, 8, 10, 64)) // [B, T, E]
	y := layer.ForwardMasked(x, nn.AttendOptions{Causal: true})
	fmt.Println(y.Shape(), nn.CountParams(layer))
	for _, s := range nn.StateDict(layer)[:3] {
		fmt.Println(s.Name, s.Value.Shape())
	}
	// Output:
	// TransformerEncoderLayer(64, 4 heads, ff 256, GELU, pre-norm, dropout 0.1)
	// [8 10 64] 49984
	// linear1.bias [256]
	// linear1.weight [256 64]
	// linear2.bias [64]
}

// Generation feeds a prompt once, then one token at a time, through a
// per-sequence cache; the blocks stay read-only.
func ExampleGPTBlock_Decode() {
	block := nn.NewGPTBlock(nn.GPTConfig{DModel: 16, Heads: 2, Rotary: true}, nn.WithSeed(1))
	cache := nn.NewKVCache(1, 32, 16) // one sequence of up to 32 positions
	r := rand.New(rand.NewPCG(1, 2))
	prompt := autograd.Constant(tensor.RandN(r, 0, 1, 1, 5, 16))
	h := block.Decode(prompt, cache) // [1, 5, 16]
	fmt.Println(h.Shape(), cache.Len)
	for range 3 {
		next := autograd.Constant(tensor.RandN(r, 0, 1, 1, 1, 16)) // the next token's embedding
		h = block.Decode(next, cache)                              // [1, 1, 16]
	}
	fmt.Println(h.Shape(), cache.Len)
	// Output:
	// [1 5 16] 5
	// [1 1 16] 8
}

// A small nanoGPT: next-token loss on a batch, then generation that feeds
// the prompt once and each new token through per-sequence caches.
func ExampleGPT() {
	model := nn.NewGPT(nn.GPTModelConfig{
		VocabSize: 50, BlockSize: 16, Layers: 2,
		Block: nn.GPTConfig{DModel: 32, Heads: 4, Dropout: 0.1},
	}, nn.WithSeed(1))
	fmt.Println(model, nn.CountParams(model))

	// Training: ids [B, T] and the same sequences shifted by one as targets.
	ids := nn.IDs([]int{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4)
	targets := []int{2, 3, 4, 9, 6, 7, 8, 9}
	logits := model.Forward(autograd.Constant(ids)) // [2, 4, 50]
	loss := autograd.SoftmaxCrossEntropy(autograd.Reshape(logits, -1, 50), targets, 0, autograd.ReduceMean)
	loss.Backward()
	fmt.Println(logits.Shape(), model.LMHead.Weight.Grad().Shape())

	// Generation: greedy, one sequence.
	caches := model.NewCaches(1)
	next := model.Decode(autograd.Constant(nn.IDs([]int{1, 2, 3}, 1, 3)), caches) // [1, 3, 50]
	for range 4 {
		last := tensor.Slice(next.Value(), 1, next.Shape()[1]-1, next.Shape()[1]).Reshape(1, 50)
		tok := tensor.ArgMax(last, 1)[0]
		next = model.Decode(autograd.Constant(nn.IDs([]int{tok}, 1, 1)), caches) // [1, 1, 50]
	}
	fmt.Println(caches[0].Len)
	// Output:
	// GPT(vocab 50, block 16, 2 layers, 32, 4 heads) 29184
	// [2 4 50] [50 32]
	// 7
}
