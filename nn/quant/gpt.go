package quant

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// GPT is the int8 counterpart of nn.GPT: every linear layer — each
// block's attention projections c_attn [3E, E] and c_proj [E, E], its MLP
// c_fc [4E, E] and c_proj [E, 4E], and lm_head — holds symmetric
// per-output-channel int8 weights and runs on the int8 kernels, while the
// token and position embeddings, the layer norms, GELU and the attention
// itself (softmax over q·kᵀ, weighted sum of v) stay in float32. Its
// buffers carry nn.GPT's names, each int8 weight with a "weight_scale"
// beside it.
//
// GPT is inference only and implements nn.IncrementalLM: NewDecoder
// decodes over per-sequence key/value caches, so train.Generate and the
// serve package generate with it as with the float model. Like nn.GPT it
// is read-only while serving; many goroutines may decode at once, each
// with its own decoder.
type GPT struct {
	cfg    nn.GPTFileConfig
	base   float64 // RoPE base
	wte    *nn.Embedding
	wpe    *nn.PositionalEmbedding // nil with rotary blocks
	blocks []gptBlock
	lnf    *nn.LayerNorm
	head   *Dense
}

type gptBlock struct {
	ln1, ln2                    *nn.LayerNorm
	cattn, cproj, cfc, mlpCProj *Dense
}

// NewGPT quantises the float model g. g is not changed.
func NewGPT(g *nn.GPT) *GPT {
	if g.WTE == nil {
		panic("quant.NewGPT: the nn.GPT is not built (use nn.NewGPT)")
	}
	_, c := g.LayerConfig()
	q := buildGPT(c.(nn.GPTFileConfig), g)
	copyValues(q.wte.Params(), g.WTE.Params())
	if g.WPE != nil {
		copyValues(q.wpe.Params(), g.WPE.Params())
	}
	for i, b := range g.H {
		copyValues(q.blocks[i].ln1.Params(), b.LN1.Params())
		copyValues(q.blocks[i].ln2.Params(), b.LN2.Params())
	}
	copyValues(q.lnf.Params(), g.LNF.Params())
	return q
}

// copyValues copies the values of src into dst, Param by Param.
func copyValues(dst, src []*nn.Param) {
	for i, p := range src {
		copy(dst[i].Value().Data(), p.Value().Data())
	}
}

// buildGPT makes a GPT shaped by c: float layers freshly built, and int8
// layers quantised from src's when src is not nil, else empty (for a
// model file to fill).
func buildGPT(c nn.GPTFileConfig, src *nn.GPT) *GPT {
	mc := c.Model()
	e, v := mc.Block.DModel, mc.VocabSize
	g := &GPT{cfg: c, base: mc.Block.RotaryBase}
	if g.base == 0 {
		g.base = 10000
	}
	var ln []nn.Option
	if mc.Block.NoBias {
		ln = append(ln, nn.WithoutBias())
	}
	g.wte = nn.Register("transformer.wte", nn.NewEmbedding(v, e))
	if !mc.Block.Rotary {
		g.wpe = nn.Register("transformer.wpe", nn.NewPositionalEmbedding(mc.BlockSize, e))
	}
	// dense quantises the float layer f when there is one; otherwise it
	// makes an empty in → out layer.
	dense := func(name string, f *nn.Dense, in, out int, noBias bool) *Dense {
		if f != nil {
			return nn.Register(name, NewDense(f))
		}
		return nn.Register(name, &Dense{l: emptyLinear([]int{out, in}, noBias)})
	}
	for i := range mc.Layers {
		var fb *nn.GPTBlock
		fd := make([]*nn.Dense, 4)
		if src != nil {
			fb = src.H[i]
			fd = []*nn.Dense{fb.Attn.CAttn, fb.Attn.CProj, fb.MLP.CFC, fb.MLP.CProj}
		}
		p := fmt.Sprintf("transformer.h.%d.", i)
		nb := mc.Block.NoBias
		g.blocks = append(g.blocks, gptBlock{
			ln1:      nn.Register(p+"ln_1", nn.NewLayerNorm(e, ln...)),
			ln2:      nn.Register(p+"ln_2", nn.NewLayerNorm(e, ln...)),
			cattn:    dense(p+"attn.c_attn", fd[0], e, 3*e, nb),
			cproj:    dense(p+"attn.c_proj", fd[1], e, e, nb),
			cfc:      dense(p+"mlp.c_fc", fd[2], e, 4*e, nb),
			mlpCProj: dense(p+"mlp.c_proj", fd[3], 4*e, e, nb),
		})
	}
	g.lnf = nn.Register("transformer.ln_f", nn.NewLayerNorm(e, ln...))
	var head *nn.Dense
	if src != nil {
		head = src.LMHead
	}
	g.head = dense("lm_head", head, e, v, true)
	return g
}

// Config returns the model's shape.
func (g *GPT) Config() nn.GPTModelConfig { return g.cfg.Model() }

// Forward maps token ids idx [B, T] (float whole numbers), T ≤ the block
// size, to next-token logits [B, T, vocab].
func (g *GPT) Forward(idx *autograd.Var) *autograd.Var {
	rejectTaped("quant.GPT.Forward", idx)
	return g.run(idx, nil)
}

// run is Forward, or, with caches, the next positions of sequences whose
// earlier positions went through the same caches.
func (g *GPT) run(idx *autograd.Var, caches []*nn.KVCache) *autograd.Var {
	s := idx.Shape()
	offset := 0
	if caches != nil {
		offset = caches[0].Len
	}
	if len(s) != 2 || offset+s[1] > g.cfg.BlockSize {
		panic(fmt.Sprintf("quant.GPT: ids %v at offset %d are not [B, T] within the block size %d", s, offset, g.cfg.BlockSize))
	}
	x := g.wte.Forward(idx) // [B, T, E]
	if g.wpe != nil {
		x = g.wpe.ForwardAt(x, offset)
	}
	for i := range g.blocks {
		var c *nn.KVCache
		if caches != nil {
			c = caches[i]
		}
		x = g.blocks[i].run(g.shape(), x, c) // [B, T, E]
	}
	return g.head.Forward(g.lnf.Forward(x)) // [B, T, V]
}

// blockShape is what a block's attention needs besides its layers.
type blockShape struct {
	op     string // the panics' prefix
	heads  int
	e      int
	rotary bool
	base   float64 // RoPE base
}

func (g *GPT) shape() blockShape {
	return blockShape{op: "quant.GPT", heads: g.cfg.Block.Heads, e: g.cfg.Block.DModel, rotary: g.wpe == nil, base: g.base}
}

// run runs one pre-norm block: x + attn(ln_1(x)), then + mlp(ln_2(x)),
// over the cache c when it is not nil.
func (b *gptBlock) run(s blockShape, x *autograd.Var, c *nn.KVCache) *autograd.Var {
	heads, e := s.heads, s.e
	qkv := b.cattn.Forward(b.ln1.Forward(x)) // [B, T, 3E]
	var y *autograd.Var
	switch {
	case c != nil:
		y = s.decodeAttention(qkv, c)
	case s.rotary:
		p := autograd.Split(qkv, 2, e, e, e)
		q := autograd.Rotary(p[0], heads, s.base, 0)
		k := autograd.Rotary(p[1], heads, s.base, 0)
		y = autograd.ScaledDotProductAttention(q, k, p[2], autograd.AttentionOptions{Heads: heads, Causal: true})
	default:
		y = autograd.SelfAttention(qkv, autograd.AttentionOptions{Heads: heads, Causal: true}) // [B, T, E]
	}
	x = autograd.Add(x, b.cproj.Forward(y))
	h := autograd.GELU(b.cfc.Forward(b.ln2.Forward(x))) // [B, T, 4E]
	return autograd.Add(x, b.mlpCProj.Forward(h))       // [B, T, E]
}

// decodeAttention attends from the new positions' qkv [B, t, 3E] over the
// cached positions and themselves, appending their keys and values to c
// (as nn.GPTBlock.Decode does).
func (s blockShape) decodeAttention(qkv *autograd.Var, c *nn.KVCache) *autograd.Var {
	heads, e := s.heads, s.e
	qs, cs := qkv.Shape(), c.K.Shape()
	b, t := qs[0], qs[1]
	if b != cs[0] || e != cs[2] || c.Len+t > cs[1] {
		panic(fmt.Sprintf("%s: %d new positions of %v do not fit a cache %v holding %d", s.op, t, qs, cs, c.Len))
	}
	p := autograd.Split(qkv, 2, e, e, e) // 3 × [B, t, E]
	q, k := p[0], p[1]
	if s.rotary {
		q = autograd.Rotary(q, heads, s.base, c.Len)
		k = autograd.Rotary(k, heads, s.base, c.Len)
	}
	maxLen := cs[1]
	kd, vd := k.Value().Data(), p[2].Value().Data()
	for bi := range b {
		dst := (bi*maxLen + c.Len) * e
		copy(c.K.Data()[dst:dst+t*e], kd[bi*t*e:(bi+1)*t*e])
		copy(c.V.Data()[dst:dst+t*e], vd[bi*t*e:(bi+1)*t*e])
	}
	y := autograd.ScaledDotProductAttention(q, autograd.NoGrad(c.K), autograd.NoGrad(c.V), autograd.AttentionOptions{
		Heads: heads, Causal: true, CausalOffset: c.Len, KeyLen: c.Len + t,
	})
	c.Len += t
	return y
}

// NewDecoder returns a decoder for batch sequences of up to the block size
// positions, over one key/value cache per block.
func (g *GPT) NewDecoder(batch int) nn.Decoder {
	cs := make([]*nn.KVCache, len(g.blocks))
	for i := range cs {
		cs[i] = nn.NewKVCache(batch, g.cfg.BlockSize, g.cfg.Block.DModel)
	}
	return &gptDecoder{g: g, caches: cs, arena: autograd.NewArena()}
}

type gptDecoder struct {
	g      *GPT
	caches []*nn.KVCache
	arena  *autograd.Arena // the float intermediates of one Decode call
}

// Decode runs the new ids through the model over the caches; the float
// intermediates come from the decoder's arena, and the logits returned are
// the caller's.
func (d *gptDecoder) Decode(ids *tensor.Tensor) *tensor.Tensor {
	d.arena.Reset()
	return d.g.run(d.arena.Input(ids), d.caches).Value().Clone()
}
func (d *gptDecoder) Len() int { return d.caches[0].Len }
func (d *gptDecoder) Cap() int { return d.g.cfg.BlockSize }
func (d *gptDecoder) Reset() {
	for _, c := range d.caches {
		c.Reset()
	}
}

// Params returns nothing: a quantised model is not trainable.
func (g *GPT) Params() []*nn.Param { return nil }

// Buffers returns every tensor of the model under nn.GPT's names: the
// float embeddings and layer norms, and each int8 layer's weight, scales
// and bias.
func (g *GPT) Buffers() []*nn.Param {
	ps := g.wte.Params()
	if g.wpe != nil {
		ps = append(ps, g.wpe.Params()...)
	}
	for _, b := range g.blocks {
		ps = append(ps, b.ln1.Params()...)
		ps = append(ps, b.cattn.Buffers()...)
		ps = append(ps, b.cproj.Buffers()...)
		ps = append(ps, b.ln2.Params()...)
		ps = append(ps, b.cfc.Buffers()...)
		ps = append(ps, b.mlpCProj.Buffers()...)
	}
	ps = append(ps, g.lnf.Params()...)
	return append(ps, g.head.Buffers()...)
}

// StateLoaded packs the int8 weights again after a load.
func (g *GPT) StateLoaded() {
	for _, b := range g.blocks {
		for _, d := range []*Dense{b.cattn, b.cproj, b.cfc, b.mlpCProj} {
			d.StateLoaded()
		}
	}
	g.head.StateLoaded()
}

// String describes the model, like "quant.GPT(vocab 65, block 64, 2
// layers, 64, 4 heads, int8)".
func (g *GPT) String() string {
	c := g.cfg
	return fmt.Sprintf("quant.GPT(vocab %d, block %d, %d layers, %d, %d heads, int8)", c.VocabSize, c.BlockSize, c.Layers, c.Block.DModel, c.Block.Heads)
}

// LayerConfig returns "quant.GPT" and the float model's nn.GPTFileConfig.
func (g *GPT) LayerConfig() (string, any) { return KindGPT, g.cfg }

var _ nn.IncrementalLM = (*GPT)(nil)
