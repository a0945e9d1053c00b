package nn

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/autograd"
)

// GPTModelConfig shapes a GPT, after nanoGPT's GPTConfig.
type GPTModelConfig struct {
	VocabSize int // number of token ids (required)
	BlockSize int // longest sequence: positions of wpe and of a KVCache (required)
	Layers    int // number of GPTBlocks (n_layer; required)
	// Block shapes every block: DModel, Heads, Dropout, NoBias, Rotary.
	// With Rotary the model has no position table (wpe).
	Block GPTConfig
}

// GPT is nanoGPT's decoder-only language model: token embeddings (wte)
// plus learned positions (wpe, absent with rotary blocks), dropout, a
// stack of GPTBlocks, a final layer norm and a linear head to logits. Its
// parameters carry nanoGPT's names (transformer.wte.weight,
// transformer.wpe.weight, transformer.h.N.*, transformer.ln_f.*,
// lm_head.weight), so a nanoGPT state_dict loads into it.
//
// Unlike nanoGPT, lm_head is not tied to wte (a tied model's state_dict
// carries both keys with equal values and loads all the same), and the
// model holds no generate loop: Decode advances per-sequence KVCaches one
// step at a time instead of re-running the whole context for every token.
type GPT struct {
	Cfg    GPTModelConfig
	WTE    *Embedding
	WPE    *PositionalEmbedding // nil with rotary blocks
	Drop   *Dropout
	H      []*GPTBlock
	LNF    *LayerNorm
	LMHead *Dense // no bias
}

// NewGPT builds a model shaped by cfg, initialised as nanoGPT does:
// weights from N(0, 0.02), biases zero, and the residual projections
// (attn.c_proj, mlp.c_proj) from N(0, 0.02/√(2·Layers)). Options: WithSeed,
// WithRand.
func NewGPT(cfg GPTModelConfig, opts ...Option) *GPT {
	if cfg.VocabSize < 1 || cfg.BlockSize < 1 || cfg.Layers < 1 {
		panic(fmt.Sprintf("nn.NewGPT: VocabSize %d, BlockSize %d and Layers %d must be positive", cfg.VocabSize, cfg.BlockSize, cfg.Layers))
	}
	c := newConfig(opts)
	e := cfg.Block.DModel
	std := WithWeightInit(Normal(0, 0.02))
	g := &GPT{Cfg: cfg}
	g.WTE = Register("transformer.wte", NewEmbedding(cfg.VocabSize, e, std, WithRand(c.rng)))
	if !cfg.Block.Rotary {
		g.WPE = Register("transformer.wpe", NewPositionalEmbedding(cfg.BlockSize, e, std, WithRand(c.rng)))
	}
	proj := Normal(0, float32(0.02/math.Sqrt(2*float64(cfg.Layers))))
	for i := range cfg.Layers {
		b := NewGPTBlock(cfg.Block, std, WithRand(c.rng))
		for _, d := range []*Dense{b.Attn.CAttn, b.MLP.CFC} {
			zeroBias(d)
		}
		for _, d := range []*Dense{b.Attn.CProj, b.MLP.CProj} {
			proj(d.Weight.Value(), c.rng)
			zeroBias(d)
		}
		g.H = append(g.H, Register(fmt.Sprintf("transformer.h.%d", i), b))
	}
	ln := []Option{}
	if cfg.Block.NoBias {
		ln = append(ln, WithoutBias())
	}
	g.LNF = Register("transformer.ln_f", NewLayerNorm(e, ln...))
	g.LMHead = Register("lm_head", NewDense(e, cfg.VocabSize, WithoutBias(), std, WithRand(c.rng)))
	g.Drop = NewDropout(cfg.Block.Dropout, childSource(c.rng))
	return g
}

func zeroBias(d *Dense) {
	if d.Bias != nil {
		clear(d.Bias.Value().Data())
	}
}

// Forward maps token ids idx [B, T] (held as float values, see IDs), with
// T ≤ BlockSize, to next-token logits [B, T, VocabSize].
func (g *GPT) Forward(idx *autograd.Var) *autograd.Var {
	if g.WTE == nil {
		panic(unbuilt("GPT", "NewGPT"))
	}
	if y := g.forwardPacked(idx); y != nil {
		return y // inference with packed weights: fused (gpt_infer.go)
	}
	x := g.embed(idx, 0)
	for _, b := range g.H {
		x = b.Forward(x) // [B, T, E]
	}
	return g.LMHead.Forward(g.LNF.Forward(x)) // [B, T, V]
}

func (g *GPT) embed(idx *autograd.Var, offset int) *autograd.Var {
	s := idx.Shape()
	if len(s) != 2 || offset+s[1] > g.Cfg.BlockSize {
		panic(fmt.Sprintf("nn.GPT: ids %v at offset %d are not [B, T] within the block size %d", s, offset, g.Cfg.BlockSize))
	}
	x := g.WTE.Forward(idx) // [B, T, E]
	if g.WPE != nil {
		x = g.WPE.ForwardAt(x, offset) // [B, T, E]
	}
	return g.Drop.Forward(x)
}

// NewCaches returns one empty KVCache per block for batch sequences of up
// to BlockSize positions.
func (g *GPT) NewCaches(batch int) []*KVCache {
	cs := make([]*KVCache, len(g.H))
	for i := range cs {
		cs[i] = NewKVCache(batch, g.Cfg.BlockSize, g.Cfg.Block.DModel)
	}
	return cs
}

// Decode returns the logits [B, t, VocabSize] of the next positions idx
// [B, t] of sequences whose earlier positions went through the same caches
// (from NewCaches), and appends to the caches. It runs in inference mode;
// many goroutines may decode at once, each with its own caches.
func (g *GPT) Decode(idx *autograd.Var, caches []*KVCache) *autograd.Var {
	if g.WTE == nil {
		panic(unbuilt("GPT", "NewGPT"))
	}
	if len(caches) != len(g.H) {
		panic(fmt.Sprintf("nn.GPT.Decode: %d caches for %d blocks", len(caches), len(g.H)))
	}
	if !idx.Inference() {
		idx = autograd.NoGrad(idx.Value())
	}
	x := g.embed(idx, caches[0].Len)
	for i, b := range g.H {
		x = b.Decode(x, caches[i]) // [B, t, E]
	}
	return g.LMHead.Forward(g.LNF.Forward(x)) // [B, t, V]
}

// Params returns the parameters in nanoGPT's state_dict order.
func (g *GPT) Params() []*Param {
	if g.WTE == nil {
		return nil
	}
	ps := g.WTE.Params()
	if g.WPE != nil {
		ps = append(ps, g.WPE.Params()...)
	}
	for _, b := range g.H {
		ps = append(ps, b.Params()...)
	}
	return append(append(ps, g.LNF.Params()...), g.LMHead.Params()...)
}

// Children returns the sub-layers.
func (g *GPT) Children() []Module {
	out := []Module{g.WTE}
	if g.WPE != nil {
		out = append(out, g.WPE)
	}
	out = append(out, g.Drop)
	for _, b := range g.H {
		out = append(out, b)
	}
	return append(out, g.LNF, g.LMHead)
}

// String describes the model.
func (g *GPT) String() string {
	c := g.Cfg
	return fmt.Sprintf("GPT(vocab %d, block %d, %d layers, %d, %d heads)", c.VocabSize, c.BlockSize, c.Layers, c.Block.DModel, c.Block.Heads)
}
