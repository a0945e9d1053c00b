package nn

import (
	"fmt"
	"slices"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TransformerConfig shapes a TransformerEncoderLayer. Zero fields take
// PyTorch's defaults except Dropout, whose zero value means no dropout
// (PyTorch's default is 0.1: set it explicitly).
type TransformerConfig struct {
	DModel int // model size E (required)
	Heads  int // attention heads; E must divide by it (required)
	// DimFF is the hidden size of the feed-forward block (default 2048).
	DimFF int
	// Dropout is applied to the attention weights, after the feed-forward
	// activation and on both residual branches, while training.
	Dropout float32
	// Activation of the feed-forward block: ActReLU (the default, also
	// ActNone) or ActGELU.
	Activation Activation
	// NormFirst selects the pre-norm layout x + f(norm(x)) (PyTorch's
	// norm_first=True); the default is post-norm, norm(x + f(x)).
	NormFirst bool
	// Eps is the layer norms' epsilon (default 1e-5).
	Eps float32
}

// TransformerEncoderLayer is PyTorch's nn.TransformerEncoderLayer with
// batch_first=True: self-attention and a two-layer feed-forward block, each
// with a residual connection and a layer norm, before (NormFirst) or after
// it. Parameter names match PyTorch's: self_attn.in_proj_weight,
// self_attn.in_proj_bias, self_attn.out_proj.{weight,bias},
// linear1.{weight,bias}, linear2.{weight,bias}, norm1.{weight,bias},
// norm2.{weight,bias}.
type TransformerEncoderLayer struct {
	SelfAttn   *MultiheadAttention
	Linear1    *Dense // E → DimFF
	Linear2    *Dense // DimFF → E
	Norm1      *LayerNorm
	Norm2      *LayerNorm
	Dropout    *Dropout // after the feed-forward activation
	Dropout1   *Dropout // on the attention branch
	Dropout2   *Dropout // on the feed-forward branch
	Activation Activation
	NormFirst  bool
}

// NewTransformerEncoderLayer builds an encoder layer shaped by cfg.
// Options: WithSeed, WithRand (initial weights and dropout masks).
func NewTransformerEncoderLayer(cfg TransformerConfig, opts ...Option) *TransformerEncoderLayer {
	if cfg.DModel < 1 || cfg.Heads < 1 || cfg.DModel%cfg.Heads != 0 {
		panic(fmt.Sprintf("nn.NewTransformerEncoderLayer: DModel %d must be a positive multiple of Heads %d", cfg.DModel, cfg.Heads))
	}
	if cfg.DimFF == 0 {
		cfg.DimFF = 2048
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-5
	}
	switch cfg.Activation {
	case ActNone:
		cfg.Activation = ActReLU
	case ActReLU, ActGELU:
	default:
		panic(fmt.Sprintf("nn.NewTransformerEncoderLayer: activation %v is not ReLU or GELU", cfg.Activation))
	}
	if cfg.DimFF < 1 || cfg.Dropout < 0 || cfg.Dropout >= 1 {
		panic(fmt.Sprintf("nn.NewTransformerEncoderLayer: invalid DimFF %d or Dropout %v", cfg.DimFF, cfg.Dropout))
	}
	c := newConfig(opts)
	r := WithRand(c.rng)
	e := cfg.DModel
	l := &TransformerEncoderLayer{
		SelfAttn:   Register("self_attn", NewMultiheadAttention(e, cfg.Heads, cfg.Dropout, r)),
		Linear1:    Register("linear1", NewDense(e, cfg.DimFF, r)),
		Linear2:    Register("linear2", NewDense(cfg.DimFF, e, r)),
		Norm1:      Register("norm1", NewLayerNorm(e, WithEps(cfg.Eps))),
		Norm2:      Register("norm2", NewLayerNorm(e, WithEps(cfg.Eps))),
		Activation: cfg.Activation,
		NormFirst:  cfg.NormFirst,
	}
	l.Dropout = NewDropout(cfg.Dropout, childSource(c.rng))
	l.Dropout1 = NewDropout(cfg.Dropout, childSource(c.rng))
	l.Dropout2 = NewDropout(cfg.Dropout, childSource(c.rng))
	return l
}

// Forward runs the layer on x [B, T, E] with no mask.
func (l *TransformerEncoderLayer) Forward(x *autograd.Var) *autograd.Var {
	if l.SelfAttn == nil {
		panic(unbuilt("TransformerEncoderLayer", "NewTransformerEncoderLayer"))
	}
	return l.ForwardMasked(x, AttendOptions{})
}

// ForwardMasked runs the layer on x [B, T, E] with the attention masks in o
// (causal, key padding, additive); o.NeedWeights is ignored.
func (l *TransformerEncoderLayer) ForwardMasked(x *autograd.Var, o AttendOptions) *autograd.Var {
	if l.SelfAttn == nil {
		panic(unbuilt("TransformerEncoderLayer", "NewTransformerEncoderLayer"))
	}
	o.NeedWeights = false
	if l.NormFirst {
		x = autograd.Add(x, l.selfAttention(l.Norm1.Forward(x), o)) // x + sa(norm1(x))
		return autograd.Add(x, l.feedForward(l.Norm2.Forward(x)))   // x + ff(norm2(x))
	}
	x = l.Norm1.Forward(autograd.Add(x, l.selfAttention(x, o))) // norm1(x + sa(x))
	return l.Norm2.Forward(autograd.Add(x, l.feedForward(x)))   // norm2(x + ff(x))
}

func (l *TransformerEncoderLayer) selfAttention(x *autograd.Var, o AttendOptions) *autograd.Var {
	y, _ := l.SelfAttn.Attend(x, x, x, o)
	return l.Dropout1.Forward(y)
}

func (l *TransformerEncoderLayer) feedForward(x *autograd.Var) *autograd.Var {
	var h *autograd.Var
	if l.Activation == ActGELU {
		h = denseGELU(l.Linear1, x) // [B, T, DimFF]
	} else {
		h = l.Activation.Apply(l.Linear1.Forward(x))
	}
	h = l.Dropout.Forward(h)
	return l.Dropout2.Forward(l.Linear2.Forward(h)) // [B, T, E]
}

// Params returns the parameters in PyTorch's state_dict order.
func (l *TransformerEncoderLayer) Params() []*Param {
	if l.SelfAttn == nil {
		return nil
	}
	var ps []*Param
	for _, m := range []Module{l.SelfAttn, l.Linear1, l.Linear2, l.Norm1, l.Norm2} {
		ps = append(ps, m.Params()...)
	}
	return ps
}

// Children returns the sub-layers, dropouts included.
func (l *TransformerEncoderLayer) Children() []Module {
	return []Module{l.SelfAttn, l.Linear1, l.Dropout, l.Linear2, l.Norm1, l.Norm2, l.Dropout1, l.Dropout2}
}

// String describes the layer.
func (l *TransformerEncoderLayer) String() string {
	if l.SelfAttn == nil {
		return "TransformerEncoderLayer(unbuilt)"
	}
	norm := "post-norm"
	if l.NormFirst {
		norm = "pre-norm"
	}
	return fmt.Sprintf("TransformerEncoderLayer(%d, %d heads, ff %d, %v, %s, dropout %g)",
		l.SelfAttn.Embed(), l.SelfAttn.Heads, l.Linear1.Weight.Value().Dim(0), l.Activation, norm, l.Dropout.P)
}

// GPTConfig shapes a GPTBlock, after nanoGPT's GPTConfig.
type GPTConfig struct {
	DModel int // model size E (nanoGPT's n_embd; required)
	Heads  int // attention heads (n_head; required)
	// Dropout is applied to the attention weights and both residual
	// branches while training (nanoGPT's dropout).
	Dropout float32
	// NoBias drops the biases of the linear layers and layer norms
	// (nanoGPT's bias=False).
	NoBias bool
	// Rotary rotates queries and keys by position (see autograd.Rotary)
	// instead of relying on added position embeddings.
	Rotary bool
	// RotaryBase is the RoPE base (default 10000).
	RotaryBase float64
}

// CausalSelfAttention is nanoGPT's attention: one projection c_attn
// [3E, E] to queries, keys and values, causal multi-head attention, and the
// output projection c_proj.
type CausalSelfAttention struct {
	trainFlag
	CAttn      *Dense // E → 3E
	CProj      *Dense // E → E
	Heads      int
	Dropout    float32
	Rotary     bool
	RotaryBase float64
	Resid      *Dropout
	attnRNG
}

// Forward attends causally over x [B, T, E].
func (a *CausalSelfAttention) Forward(x *autograd.Var) *autograd.Var {
	if a.CAttn == nil {
		panic(unbuilt("CausalSelfAttention", "NewGPTBlock"))
	}
	return a.Resid.Forward(a.CProj.Forward(a.attend(x)))
}

// attend returns the heads' outputs for x [B, T, E], side by side, before
// c_proj: [B, T, E].
func (a *CausalSelfAttention) attend(x *autograd.Var) *autograd.Var {
	e := a.CProj.Weight.Value().Dim(0)
	qkv := a.CAttn.Forward(x) // [B, T, 3E]
	opt := autograd.AttentionOptions{Heads: a.Heads, Causal: true}
	if !a.eval && a.Dropout > 0 && !x.Inference() {
		opt.Dropout, opt.Rand = a.Dropout, a.rng
	}
	var y *autograd.Var
	if a.Rotary {
		p := autograd.Split(qkv, 2, e, e, e)
		q := autograd.Rotary(p[0], a.Heads, a.RotaryBase, 0) // [B, T, E]
		k := autograd.Rotary(p[1], a.Heads, a.RotaryBase, 0) // [B, T, E]
		y = autograd.ScaledDotProductAttention(q, k, p[2], opt)
	} else {
		y = autograd.SelfAttention(qkv, opt) // [B, T, E]
	}
	return y
}

// Params returns c_attn and c_proj's parameters.
func (a *CausalSelfAttention) Params() []*Param {
	if a.CAttn == nil {
		return nil
	}
	return append(a.CAttn.Params(), a.CProj.Params()...)
}

// Children returns the projections and the residual dropout.
func (a *CausalSelfAttention) Children() []Module { return []Module{a.CAttn, a.CProj, a.Resid} }

// GPTMLP is nanoGPT's feed-forward block: c_fc (E → 4E), exact GELU,
// c_proj (4E → E), dropout.
type GPTMLP struct {
	CFC   *Dense
	CProj *Dense
	Drop  *Dropout
}

// Forward computes dropout(c_proj(gelu(c_fc(x)))).
func (m *GPTMLP) Forward(x *autograd.Var) *autograd.Var {
	if m.CFC == nil {
		panic(unbuilt("GPTMLP", "NewGPTBlock"))
	}
	return m.Drop.Forward(m.CProj.Forward(denseGELU(m.CFC, x)))
}

// denseGELU returns gelu(d(x)) for a Dense without an activation of its
// own. On an inference input with a packed weight (PackForInference) the
// GELU runs in the product's epilogue, with the bias, instead of as a
// second pass over the [N, 4E] activations; otherwise, with a bias, it is
// one autograd.LinearGELU, which adds the bias and applies the GELU in one
// pass and keeps the GELU's derivative for the backward.
func denseGELU(d *Dense, x *autograd.Var) *autograd.Var {
	xs := x.Shape()
	in := d.Weight.Value().Dim(1)
	if d.Activation != ActNone || len(xs) < 2 || xs[len(xs)-1] != in {
		return autograd.GELU(d.Forward(x))
	}
	if x.Inference() && d.Weight.Cacheable() {
		return autograd.LinearPacked(x, d.packed.Get(d.Weight.Var, true), varOf(d.Bias), tensor.ActGELU)
	}
	if d.Bias == nil {
		return autograd.GELU(d.Forward(x))
	}
	if len(xs) == 2 {
		return autograd.LinearGELU(x, d.Weight.Var, d.Bias.Var)
	}
	y := autograd.LinearGELU(autograd.Reshape(x, -1, in), d.Weight.Var, d.Bias.Var)
	var shape [8]int // Reshape keeps no reference to it
	return autograd.Reshape(y, append(append(shape[:0], xs[:len(xs)-1]...), d.Weight.Value().Dim(0))...)
}

// Params returns c_fc and c_proj's parameters.
func (m *GPTMLP) Params() []*Param {
	if m.CFC == nil {
		return nil
	}
	return append(m.CFC.Params(), m.CProj.Params()...)
}

// Children returns the layers and the dropout.
func (m *GPTMLP) Children() []Module { return []Module{m.CFC, m.CProj, m.Drop} }

// GPTBlock is a decoder-only transformer block as in nanoGPT: pre-norm,
// causal self-attention and an MLP, each on a residual line:
//
//	x = x + attn(ln_1(x))
//	x = x + mlp(ln_2(x))
//
// Parameter names match nanoGPT's Block: ln_1.*, attn.c_attn.*,
// attn.c_proj.*, ln_2.*, mlp.c_fc.*, mlp.c_proj.*. The linear layers start
// from PyTorch's nn.Linear defaults; nanoGPT's GPT re-initialises them from
// N(0, 0.02) (use WithWeightInit on the block for that).
type GPTBlock struct {
	LN1  *LayerNorm
	Attn *CausalSelfAttention
	LN2  *LayerNorm
	MLP  *GPTMLP
}

// NewGPTBlock builds a block shaped by cfg. Options: WithWeightInit (the
// linear layers' weights), WithSeed, WithRand.
func NewGPTBlock(cfg GPTConfig, opts ...Option) *GPTBlock {
	e := cfg.DModel
	if e < 1 || cfg.Heads < 1 || e%cfg.Heads != 0 || cfg.Dropout < 0 || cfg.Dropout >= 1 {
		panic(fmt.Sprintf("nn.NewGPTBlock: DModel %d must be a positive multiple of Heads %d, Dropout %v in [0, 1)", e, cfg.Heads, cfg.Dropout))
	}
	if cfg.Rotary && (e/cfg.Heads)%2 != 0 {
		panic(fmt.Sprintf("nn.NewGPTBlock: rotary embeddings need an even head size, got %d", e/cfg.Heads))
	}
	if cfg.RotaryBase == 0 {
		cfg.RotaryBase = 10000
	}
	c := newConfig(opts)
	lin := []Option{WithRand(c.rng)}
	norm := []Option{}
	if cfg.NoBias {
		lin = append(lin, WithoutBias())
		norm = append(norm, WithoutBias())
	}
	if c.weightInit != nil {
		lin = append(lin, WithWeightInit(c.weightInit))
	}
	attn := &CausalSelfAttention{
		CAttn:      Register("c_attn", NewDense(e, 3*e, lin...)),
		CProj:      Register("c_proj", NewDense(e, e, lin...)),
		Heads:      cfg.Heads,
		Dropout:    cfg.Dropout,
		Rotary:     cfg.Rotary,
		RotaryBase: cfg.RotaryBase,
	}
	mlp := &GPTMLP{
		CFC:   Register("c_fc", NewDense(e, 4*e, lin...)),
		CProj: Register("c_proj", NewDense(4*e, e, lin...)),
	}
	attn.Resid = NewDropout(cfg.Dropout, childSource(c.rng))
	attn.attnRNG = newAttnRNG(c.rng)
	mlp.Drop = NewDropout(cfg.Dropout, childSource(c.rng))
	return &GPTBlock{
		LN1:  Register("ln_1", NewLayerNorm(e, norm...)),
		Attn: Register("attn", attn),
		LN2:  Register("ln_2", NewLayerNorm(e, norm...)),
		MLP:  Register("mlp", mlp),
	}
}

// Forward runs the block on x [B, T, E]. While training, each residual
// add is folded into the projection before it (see residualDense).
func (b *GPTBlock) Forward(x *autograd.Var) *autograd.Var {
	if b.Attn == nil {
		panic(unbuilt("GPTBlock", "NewGPTBlock"))
	}
	if x.Inference() {
		x = autograd.Add(x, b.Attn.Forward(b.LN1.Forward(x)))   // [B, T, E]
		return autograd.Add(x, b.MLP.Forward(b.LN2.Forward(x))) // [B, T, E]
	}
	x = residualDense(b.Attn.CProj, b.Attn.Resid, b.Attn.attend(b.LN1.Forward(x)), x) // x + c_proj(attn(ln_1(x)))
	h := denseGELU(b.MLP.CFC, b.LN2.Forward(x))                                       // [B, T, 4E]
	return residualDense(b.MLP.CProj, b.MLP.Drop, h, x)                               // x + c_proj(h)
}

// residualDense returns res + drop(d(h)). When drop passes its input
// through (p = 0 or eval mode) and d has no activation, it is one
// autograd.LinearResidual, which adds res to the product as it is
// finished rather than in a pass of its own, with the same bits as Add.
func residualDense(d *Dense, drop *Dropout, h, res *autograd.Var) *autograd.Var {
	hs, rs := h.Shape(), res.Shape()
	in, out := d.Weight.Value().Dim(1), d.Weight.Value().Dim(0)
	if (drop.P != 0 && !drop.eval) || d.Activation != ActNone || len(hs) < 2 || len(hs) != len(rs) ||
		hs[len(hs)-1] != in || rs[len(rs)-1] != out || !slices.Equal(hs[:len(hs)-1], rs[:len(rs)-1]) {
		return autograd.Add(res, drop.Forward(d.Forward(h)))
	}
	if len(hs) == 2 {
		return autograd.LinearResidual(h, d.Weight.Var, varOf(d.Bias), res)
	}
	y := autograd.LinearResidual(autograd.Reshape(h, -1, in), d.Weight.Var, varOf(d.Bias), autograd.Reshape(res, -1, out))
	return autograd.Reshape(y, rs...)
}

// Params returns the parameters in nanoGPT's state_dict order.
func (b *GPTBlock) Params() []*Param {
	if b.Attn == nil {
		return nil
	}
	var ps []*Param
	for _, m := range []Module{b.LN1, b.Attn, b.LN2, b.MLP} {
		ps = append(ps, m.Params()...)
	}
	return ps
}

// Children returns the sub-layers.
func (b *GPTBlock) Children() []Module { return []Module{b.LN1, b.Attn, b.LN2, b.MLP} }

// String describes the block.
func (b *GPTBlock) String() string {
	if b.Attn == nil {
		return "GPTBlock(unbuilt)"
	}
	s := fmt.Sprintf("GPTBlock(%d, %d heads", b.LN1.Shape[0], b.Attn.Heads)
	if b.Attn.Rotary {
		s += ", rotary"
	}
	return s + ")"
}

// TransformerEncoder is PyTorch's nn.TransformerEncoder: a stack of
// TransformerEncoderLayers ("layers.0.*", "layers.1.*", ...) and an
// optional final LayerNorm ("norm.*"; pass finalNorm for pre-norm stacks,
// which PyTorch leaves to the caller as norm=nn.LayerNorm(d_model)).
type TransformerEncoder struct {
	Layers []*TransformerEncoderLayer
	Norm   *LayerNorm // nil without finalNorm
}

// NewTransformerEncoder builds n layers shaped by cfg, each initialised
// independently (PyTorch deep-copies one layer, so its layers start equal;
// the difference does not matter once weights are loaded or trained).
// Options: WithSeed, WithRand.
func NewTransformerEncoder(cfg TransformerConfig, n int, finalNorm bool, opts ...Option) *TransformerEncoder {
	if n < 1 {
		panic(fmt.Sprintf("nn.NewTransformerEncoder: %d layers", n))
	}
	c := newConfig(opts)
	enc := &TransformerEncoder{}
	for i := range n {
		enc.Layers = append(enc.Layers, Register(fmt.Sprintf("layers.%d", i), NewTransformerEncoderLayer(cfg, WithRand(c.rng))))
	}
	if finalNorm {
		eps := cfg.Eps
		if eps == 0 {
			eps = 1e-5
		}
		enc.Norm = Register("norm", NewLayerNorm(cfg.DModel, WithEps(eps)))
	}
	return enc
}

// Forward runs the stack on x [B, T, E] with no mask.
func (e *TransformerEncoder) Forward(x *autograd.Var) *autograd.Var {
	if len(e.Layers) == 0 {
		panic(unbuilt("TransformerEncoder", "NewTransformerEncoder"))
	}
	return e.ForwardMasked(x, AttendOptions{})
}

// ForwardMasked runs every layer with the masks in o, then the final norm.
func (e *TransformerEncoder) ForwardMasked(x *autograd.Var, o AttendOptions) *autograd.Var {
	if len(e.Layers) == 0 {
		panic(unbuilt("TransformerEncoder", "NewTransformerEncoder"))
	}
	for _, l := range e.Layers {
		x = l.ForwardMasked(x, o) // [B, T, E]
	}
	if e.Norm != nil {
		x = e.Norm.Forward(x)
	}
	return x
}

// Params returns every layer's parameters, then the final norm's.
func (e *TransformerEncoder) Params() []*Param {
	var ps []*Param
	for _, l := range e.Layers {
		ps = append(ps, l.Params()...)
	}
	if e.Norm != nil {
		ps = append(ps, e.Norm.Params()...)
	}
	return ps
}

// Children returns the layers and the final norm.
func (e *TransformerEncoder) Children() []Module {
	out := make([]Module, 0, len(e.Layers)+1)
	for _, l := range e.Layers {
		out = append(out, l)
	}
	if e.Norm != nil {
		out = append(out, e.Norm)
	}
	return out
}

// KVCache holds the keys and values one GPTBlock has computed for a batch
// of sequences, preallocated to MaxLen positions, so that generation feeds
// only the new tokens through the block. The block itself stays read-only:
// give every batch of sequences (and every goroutine) its own caches, one
// per block.
type KVCache struct {
	K, V *tensor.Tensor // [B, MaxLen, E]; positions [0, Len) are filled
	Len  int
}

// NewKVCache returns an empty cache for batch sequences of up to maxLen
// positions of dim features.
func NewKVCache(batch, maxLen, dim int) *KVCache {
	if batch < 1 || maxLen < 1 || dim < 1 {
		panic(fmt.Sprintf("nn.NewKVCache: sizes must be positive, got batch=%d maxLen=%d dim=%d", batch, maxLen, dim))
	}
	return &KVCache{K: tensor.Zeros(batch, maxLen, dim), V: tensor.Zeros(batch, maxLen, dim)}
}

// Reset empties the cache for a new batch of sequences.
func (c *KVCache) Reset() { c.Len = 0 }

// decode attends from the new positions x [B, t, E] over the cached ones
// and themselves, appending their keys and values to c.
func (a *CausalSelfAttention) decode(x *autograd.Var, c *KVCache) *autograd.Var {
	xs, cs := x.Shape(), c.K.Shape()
	b, t, e := xs[0], xs[1], xs[2]
	if b != cs[0] || e != cs[2] || c.Len+t > cs[1] {
		panic(fmt.Sprintf("nn.GPTBlock.Decode: %d new positions of %v do not fit a cache %v holding %d", t, xs, cs, c.Len))
	}
	p := autograd.Split(a.CAttn.Forward(x), 2, e, e, e) // 3 × [B, t, E]
	q, k := p[0], p[1]
	if a.Rotary {
		q = autograd.Rotary(q, a.Heads, a.RotaryBase, c.Len) // [B, t, E]
		k = autograd.Rotary(k, a.Heads, a.RotaryBase, c.Len) // [B, t, E]
	}
	maxLen := cs[1]
	kd, vd := k.Value().Data(), p[2].Value().Data()
	for bi := 0; bi < b; bi++ {
		dst := (bi*maxLen + c.Len) * e
		copy(c.K.Data()[dst:dst+t*e], kd[bi*t*e:(bi+1)*t*e])
		copy(c.V.Data()[dst:dst+t*e], vd[bi*t*e:(bi+1)*t*e])
	}
	y := autograd.ScaledDotProductAttention(q, autograd.NoGrad(c.K), autograd.NoGrad(c.V), autograd.AttentionOptions{
		Heads: a.Heads, Causal: true, CausalOffset: c.Len, KeyLen: c.Len + t,
	}) // [B, t, E]
	c.Len += t
	return a.CProj.Forward(y)
}

// Decode runs the block, in inference mode, on the next positions x
// [B, t, E] of sequences whose earlier positions went through it with the
// same cache, and appends their keys and values to c. Feeding a prompt and
// then one token at a time gives the rows Forward would give for the whole
// sequence, without recomputing the prefix. It panics when c is too small.
func (b *GPTBlock) Decode(x *autograd.Var, c *KVCache) *autograd.Var {
	if b.Attn == nil {
		panic(unbuilt("GPTBlock", "NewGPTBlock"))
	}
	if !x.Inference() {
		x = autograd.NoGrad(x.Value())
	}
	x = autograd.Add(x, b.Attn.decode(b.LN1.Forward(x), c)) // [B, t, E]
	return autograd.Add(x, b.MLP.Forward(b.LN2.Forward(x))) // [B, t, E]
}
