package quant

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
)

// MultiheadAttention is the int8 counterpart of nn.MultiheadAttention:
// the input projection in_proj_weight [3E, E] and the output projection
// out_proj are int8 with per-row scales (saved as "in_proj_weight" I8 with
// "in_proj_weight_scale", and out_proj.weight with
// out_proj.weight_scale); the attention itself (scores, softmax, masks,
// the weighted sum) runs in float32 as in the float layer. Self-attention
// projects queries, keys and values in one int8 product; distinct query,
// key and value inputs each take their third of the projection. It is
// inference only: there is no attention dropout.
type MultiheadAttention struct {
	cfg   nn.AttentionConfig
	in    *linear    // [3E, E]
	parts [3]*linear // the query, key and value rows of in
	out   *Dense
}

// NewMultiheadAttention quantises the float layer m. m is not changed.
func NewMultiheadAttention(m *nn.MultiheadAttention) *MultiheadAttention {
	if m.InProjWeight == nil {
		panic("quant.NewMultiheadAttention: the nn.MultiheadAttention is not built (use nn.NewMultiheadAttention)")
	}
	_, c := m.LayerConfig()
	var bias *nn.Param
	if m.InProjBias != nil {
		bias = m.InProjBias
	}
	return makeAttention(c.(nn.AttentionConfig), quantLinear(m.InProjWeight.Value(), cloneOrNil(bias)), NewDense(m.OutProj))
}

// emptyAttention makes an attention layer of zeros shaped by c, for a
// model file to fill.
func emptyAttention(c nn.AttentionConfig) *MultiheadAttention {
	e := c.Embed
	return makeAttention(c, emptyLinear([]int{3 * e, e}, c.NoBias), &Dense{l: emptyLinear([]int{e, e}, c.NoBias)})
}

func makeAttention(c nn.AttentionConfig, in *linear, out *Dense) *MultiheadAttention {
	name(in, "in_proj_weight", "in_proj_bias")
	m := &MultiheadAttention{cfg: c, in: in, out: nn.Register("out_proj", out)}
	m.split()
	return m
}

// split rebuilds the query, key and value parts of the input projection.
func (m *MultiheadAttention) split() {
	e := m.cfg.Embed
	for i := range m.parts {
		m.parts[i] = m.in.rows(i*e, (i+1)*e)
	}
}

// Forward is self-attention of x [B, T, E] with no mask.
func (m *MultiheadAttention) Forward(x *autograd.Var) *autograd.Var {
	y, _ := m.Attend(x, x, x, nn.AttendOptions{})
	return y
}

// Attend is nn.MultiheadAttention.Attend: the output [B, T, E] for query
// [B, T, E], key and value [B, S, E] under the masks of o, and the
// head-averaged weights [B, T, S] when o.NeedWeights is set.
func (m *MultiheadAttention) Attend(query, key, value *autograd.Var, o nn.AttendOptions) (*autograd.Var, *autograd.Var) {
	e := m.cfg.Embed
	for _, v := range []*autograd.Var{query, key, value} {
		rejectTaped("quant.MultiheadAttention.Attend", v)
		if s := v.Shape(); len(s) != 3 || s[2] != e {
			panic(fmt.Sprintf("quant.MultiheadAttention: query %v, key %v, value %v must be [B, T, %d]", query.Shape(), key.Shape(), value.Shape(), e))
		}
	}
	opt := autograd.AttentionOptions{Heads: m.cfg.Heads, Causal: o.Causal, KeyPadding: o.KeyPadding, Mask: o.Mask}
	var out, weights *autograd.Var
	if query == key && key == value {
		qkv := m.in.apply("quant.MultiheadAttention", query) // [B, T, 3E]
		out = autograd.SelfAttention(qkv, opt)
		if o.NeedWeights {
			p := autograd.Split(qkv, 2, e, e, e)
			weights = autograd.AttentionWeights(p[0], p[1], opt)
		}
	} else {
		q := m.parts[0].apply("quant.MultiheadAttention", query)
		k := m.parts[1].apply("quant.MultiheadAttention", key)
		v := m.parts[2].apply("quant.MultiheadAttention", value)
		out = autograd.ScaledDotProductAttention(q, k, v, opt)
		if o.NeedWeights {
			weights = autograd.AttentionWeights(q, k, opt)
		}
	}
	if weights != nil {
		weights = autograd.Mean(weights, false, 1)
	}
	return m.out.Forward(out), weights
}

// Params returns nothing: a quantised layer is not trainable.
func (m *MultiheadAttention) Params() []*nn.Param { return nil }

// Buffers returns in_proj_weight, its scales, in_proj_bias, and out_proj's
// buffers.
func (m *MultiheadAttention) Buffers() []*nn.Param {
	return append(m.in.buffers(), m.out.Buffers()...)
}

// StateLoaded packs the int8 weights again after a load.
func (m *MultiheadAttention) StateLoaded() {
	m.in.pack()
	m.split()
	m.out.StateLoaded()
}

// String describes the layer, like "quant.MultiheadAttention(64, 4 heads,
// int8)".
func (m *MultiheadAttention) String() string {
	return fmt.Sprintf("quant.MultiheadAttention(%d, %d heads, int8)", m.cfg.Embed, m.cfg.Heads)
}

// LayerConfig returns "quant.MultiheadAttention" and the float layer's
// nn.AttentionConfig.
func (m *MultiheadAttention) LayerConfig() (string, any) { return KindMultiheadAttention, m.cfg }

// TransformerEncoderLayer is the int8 counterpart of
// nn.TransformerEncoderLayer: its self-attention is a MultiheadAttention of
// this package and its feed-forward layers linear1 and linear2 are int8
// Dense layers; the layer norms, residual additions and activation stay
// in float32. Buffers carry the float layer's names.
type TransformerEncoderLayer struct {
	cfg          nn.TransformerLayerConfig
	attn         *MultiheadAttention
	lin1, lin2   *Dense
	norm1, norm2 *nn.LayerNorm
	act          nn.Activation
}

// NewTransformerEncoderLayer quantises the float layer l. l is not
// changed.
func NewTransformerEncoderLayer(l *nn.TransformerEncoderLayer) *TransformerEncoderLayer {
	if l.SelfAttn == nil {
		panic("quant.NewTransformerEncoderLayer: the nn.TransformerEncoderLayer is not built (use nn.NewTransformerEncoderLayer)")
	}
	_, c := l.LayerConfig()
	q := &TransformerEncoderLayer{
		cfg:   c.(nn.TransformerLayerConfig),
		attn:  nn.Register("self_attn", NewMultiheadAttention(l.SelfAttn)),
		lin1:  nn.Register("linear1", NewDense(l.Linear1)),
		lin2:  nn.Register("linear2", NewDense(l.Linear2)),
		norm1: nn.Register("norm1", nn.NewLayerNorm(l.Norm1.Shape[0], nn.WithEps(l.Norm1.Eps))),
		norm2: nn.Register("norm2", nn.NewLayerNorm(l.Norm2.Shape[0], nn.WithEps(l.Norm2.Eps))),
		act:   l.Activation,
	}
	copyValues(q.norm1.Params(), l.Norm1.Params())
	copyValues(q.norm2.Params(), l.Norm2.Params())
	return q
}

// emptyEncoderLayer makes a layer of zeros shaped by c (checked by
// transformerConfig), for a model file to fill.
func emptyEncoderLayer(c nn.TransformerLayerConfig, act nn.Activation) *TransformerEncoderLayer {
	e, ff := c.DModel, c.DimFF
	return &TransformerEncoderLayer{
		cfg:   c,
		attn:  nn.Register("self_attn", emptyAttention(nn.AttentionConfig{Embed: e, Heads: c.Heads, Dropout: c.Dropout})),
		lin1:  nn.Register("linear1", &Dense{l: emptyLinear([]int{ff, e}, false)}),
		lin2:  nn.Register("linear2", &Dense{l: emptyLinear([]int{e, ff}, false)}),
		norm1: nn.Register("norm1", nn.NewLayerNorm(e, nn.WithEps(c.Eps))),
		norm2: nn.Register("norm2", nn.NewLayerNorm(e, nn.WithEps(c.Eps))),
		act:   act,
	}
}

// Forward runs the layer on x [B, T, E] with no mask.
func (l *TransformerEncoderLayer) Forward(x *autograd.Var) *autograd.Var {
	return l.ForwardMasked(x, nn.AttendOptions{})
}

// ForwardMasked runs the layer on x [B, T, E] with the attention masks in
// o (o.NeedWeights is ignored).
func (l *TransformerEncoderLayer) ForwardMasked(x *autograd.Var, o nn.AttendOptions) *autograd.Var {
	o.NeedWeights = false
	sa := func(x *autograd.Var) *autograd.Var {
		y, _ := l.attn.Attend(x, x, x, o)
		return y
	}
	ff := func(x *autograd.Var) *autograd.Var {
		return l.lin2.Forward(l.act.Apply(l.lin1.Forward(x)))
	}
	if l.cfg.NormFirst {
		x = autograd.Add(x, sa(l.norm1.Forward(x)))    // x + sa(norm1(x))
		return autograd.Add(x, ff(l.norm2.Forward(x))) // x + ff(norm2(x))
	}
	x = l.norm1.Forward(autograd.Add(x, sa(x)))    // norm1(x + sa(x))
	return l.norm2.Forward(autograd.Add(x, ff(x))) // norm2(x + ff(x))
}

// Params returns nothing: a quantised layer is not trainable.
func (l *TransformerEncoderLayer) Params() []*nn.Param { return nil }

// Buffers returns every tensor of the layer under the float layer's names.
func (l *TransformerEncoderLayer) Buffers() []*nn.Param {
	ps := append(l.attn.Buffers(), l.lin1.Buffers()...)
	ps = append(ps, l.lin2.Buffers()...)
	return append(append(ps, l.norm1.Params()...), l.norm2.Params()...)
}

// StateLoaded packs the int8 weights again after a load.
func (l *TransformerEncoderLayer) StateLoaded() {
	l.attn.StateLoaded()
	l.lin1.StateLoaded()
	l.lin2.StateLoaded()
}

// String describes the layer.
func (l *TransformerEncoderLayer) String() string {
	c := l.cfg
	return fmt.Sprintf("quant.TransformerEncoderLayer(%d, %d heads, ff %d, %v, int8)", c.DModel, c.Heads, c.DimFF, l.act)
}

// LayerConfig returns "quant.TransformerEncoderLayer" and the float
// layer's nn.TransformerLayerConfig.
func (l *TransformerEncoderLayer) LayerConfig() (string, any) {
	return KindTransformerEncoderLayer, l.cfg
}

var (
	_ nn.BufferOwner = (*MultiheadAttention)(nil)
	_ nn.StateLoader = (*TransformerEncoderLayer)(nil)
)

// TransformerEncoder is the int8 counterpart of nn.TransformerEncoder: a
// stack of int8 TransformerEncoderLayers ("layers.N.*") and the optional
// float final norm ("norm.*").
type TransformerEncoder struct {
	cfg    nn.TransformerLayerConfig
	layers []*TransformerEncoderLayer
	norm   *nn.LayerNorm // nil without a final norm
}

// NewTransformerEncoder quantises the float stack e. e is not changed.
func NewTransformerEncoder(e *nn.TransformerEncoder) *TransformerEncoder {
	if len(e.Layers) == 0 {
		panic("quant.NewTransformerEncoder: the nn.TransformerEncoder is not built (use nn.NewTransformerEncoder)")
	}
	_, c := e.LayerConfig()
	q := &TransformerEncoder{cfg: c.(nn.TransformerLayerConfig)}
	for i, l := range e.Layers {
		q.layers = append(q.layers, nn.Register(fmt.Sprintf("layers.%d", i), NewTransformerEncoderLayer(l)))
	}
	if e.Norm != nil {
		q.norm = nn.Register("norm", nn.NewLayerNorm(e.Norm.Shape[0], nn.WithEps(e.Norm.Eps)))
		copyValues(q.norm.Params(), e.Norm.Params())
	}
	return q
}

// emptyEncoder makes a stack of zeros shaped by c, for a model file to
// fill.
func emptyEncoder(c nn.TransformerLayerConfig, act nn.Activation) *TransformerEncoder {
	q := &TransformerEncoder{cfg: c}
	lc := c
	lc.Layers, lc.FinalNorm = 0, false
	for i := range c.Layers {
		q.layers = append(q.layers, nn.Register(fmt.Sprintf("layers.%d", i), emptyEncoderLayer(lc, act)))
	}
	if c.FinalNorm {
		q.norm = nn.Register("norm", nn.NewLayerNorm(c.DModel, nn.WithEps(c.Eps)))
	}
	return q
}

// Forward runs the stack on x [B, T, E] with no mask.
func (e *TransformerEncoder) Forward(x *autograd.Var) *autograd.Var {
	return e.ForwardMasked(x, nn.AttendOptions{})
}

// ForwardMasked runs every layer with the masks in o, then the final norm.
func (e *TransformerEncoder) ForwardMasked(x *autograd.Var, o nn.AttendOptions) *autograd.Var {
	for _, l := range e.layers {
		x = l.ForwardMasked(x, o) // [B, T, E]
	}
	if e.norm != nil {
		x = e.norm.Forward(x)
	}
	return x
}

// Params returns nothing: a quantised stack is not trainable.
func (e *TransformerEncoder) Params() []*nn.Param { return nil }

// Buffers returns every layer's tensors, then the final norm's.
func (e *TransformerEncoder) Buffers() []*nn.Param {
	var ps []*nn.Param
	for _, l := range e.layers {
		ps = append(ps, l.Buffers()...)
	}
	if e.norm != nil {
		ps = append(ps, e.norm.Params()...)
	}
	return ps
}

// StateLoaded packs the int8 weights again after a load.
func (e *TransformerEncoder) StateLoaded() {
	for _, l := range e.layers {
		l.StateLoaded()
	}
}

// String describes the stack.
func (e *TransformerEncoder) String() string {
	return fmt.Sprintf("quant.TransformerEncoder(%d layers of %v)", len(e.layers), e.layers[0])
}

// LayerConfig returns "quant.TransformerEncoder" and the float stack's
// nn.TransformerLayerConfig.
func (e *TransformerEncoder) LayerConfig() (string, any) { return KindTransformerEncoder, e.cfg }
