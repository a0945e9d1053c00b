package quant

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
)

// GPTBlock is the int8 counterpart of an nn.GPTBlock used on its own (in
// a Sequential or a program's model), made by Quantize or NewGPTBlock: it
// runs the code of GPT's blocks, with int8 attn.c_attn, attn.c_proj,
// mlp.c_fc and mlp.c_proj and float32 layer norms, GELU and attention. It
// keeps the float block's Forward and Decode (over an nn.KVCache) and
// buffer names, each int8 weight with a "weight_scale" beside it. Like
// the other layers of this package it is inference only.
type GPTBlock struct {
	cfg nn.GPTBlockConfig
	b   gptBlock
}

// NewGPTBlock quantises the float block b. b is not changed.
func NewGPTBlock(b *nn.GPTBlock) *GPTBlock {
	if b.Attn == nil {
		panic("quant.NewGPTBlock: the nn.GPTBlock is not built (use nn.NewGPTBlock)")
	}
	_, c := b.LayerConfig()
	q := buildGPTBlock(c.(nn.GPTBlockConfig), b)
	copyValues(q.b.ln1.Params(), b.LN1.Params())
	copyValues(q.b.ln2.Params(), b.LN2.Params())
	return q
}

// buildGPTBlock makes a block shaped by c, its int8 layers quantised from
// src when it is not nil and otherwise empty (for a model file to fill).
func buildGPTBlock(c nn.GPTBlockConfig, src *nn.GPTBlock) *GPTBlock {
	e, nb := c.DModel, c.NoBias
	var ln []nn.Option
	if nb {
		ln = append(ln, nn.WithoutBias())
	}
	dense := func(name string, f func() *nn.Dense, in, out int) *Dense {
		if src != nil {
			return nn.Register(name, NewDense(f()))
		}
		return nn.Register(name, &Dense{l: emptyLinear([]int{out, in}, nb)})
	}
	return &GPTBlock{cfg: c, b: gptBlock{
		ln1:      nn.Register("ln_1", nn.NewLayerNorm(e, ln...)),
		ln2:      nn.Register("ln_2", nn.NewLayerNorm(e, ln...)),
		cattn:    dense("attn.c_attn", func() *nn.Dense { return src.Attn.CAttn }, e, 3*e),
		cproj:    dense("attn.c_proj", func() *nn.Dense { return src.Attn.CProj }, e, e),
		cfc:      dense("mlp.c_fc", func() *nn.Dense { return src.MLP.CFC }, e, 4*e),
		mlpCProj: dense("mlp.c_proj", func() *nn.Dense { return src.MLP.CProj }, 4*e, e),
	}}
}

func (q *GPTBlock) shape() blockShape {
	base := q.cfg.RotaryBase
	if base == 0 {
		base = 10000
	}
	return blockShape{op: "quant.GPTBlock", heads: q.cfg.Heads, e: q.cfg.DModel, rotary: q.cfg.Rotary, base: base}
}

func (q *GPTBlock) check(op string, x *autograd.Var) {
	rejectTaped(op, x)
	if s := x.Shape(); len(s) != 3 || s[2] != q.cfg.DModel {
		panic(fmt.Sprintf("%s: input %v is not [B, T, %d]", op, s, q.cfg.DModel))
	}
}

// Forward runs the block (causal self-attention, then the MLP, each with
// its residual) on x [B, T, E].
func (q *GPTBlock) Forward(x *autograd.Var) *autograd.Var {
	q.check("quant.GPTBlock.Forward", x)
	return q.b.run(q.shape(), x, nil)
}

// Decode runs the block on the next positions x [B, t, E] of sequences
// whose earlier positions went through it with the same cache, and
// appends their keys and values to c, as nn.GPTBlock.Decode does.
func (q *GPTBlock) Decode(x *autograd.Var, c *nn.KVCache) *autograd.Var {
	q.check("quant.GPTBlock.Decode", x)
	if !x.Inference() {
		x = autograd.NoGrad(x.Value())
	}
	return q.b.run(q.shape(), x, c)
}

// Params returns nothing: a quantised layer is not trainable.
func (q *GPTBlock) Params() []*nn.Param { return nil }

// Buffers returns the layer norms' tensors and each int8 layer's weight,
// scales and bias, under nn.GPTBlock's names.
func (q *GPTBlock) Buffers() []*nn.Param {
	b := q.b
	ps := b.ln1.Params()
	ps = append(ps, b.cattn.Buffers()...)
	ps = append(ps, b.cproj.Buffers()...)
	ps = append(ps, b.ln2.Params()...)
	ps = append(ps, b.cfc.Buffers()...)
	return append(ps, b.mlpCProj.Buffers()...)
}

// StateLoaded packs the int8 weights again after a load.
func (q *GPTBlock) StateLoaded() {
	for _, d := range []*Dense{q.b.cattn, q.b.cproj, q.b.cfc, q.b.mlpCProj} {
		d.StateLoaded()
	}
}

// String describes the block, like "quant.GPTBlock(64, 4 heads, int8)".
func (q *GPTBlock) String() string {
	s := fmt.Sprintf("quant.GPTBlock(%d, %d heads", q.cfg.DModel, q.cfg.Heads)
	if q.cfg.Rotary {
		s += ", rotary"
	}
	return s + ", int8)"
}

// LayerConfig returns "quant.GPTBlock" and the float block's
// nn.GPTBlockConfig.
func (q *GPTBlock) LayerConfig() (string, any) { return KindGPTBlock, q.cfg }

// gptBlockConfig decodes and checks a quant.GPTBlock configuration and
// returns the values it holds: the float block's and one scale per output
// row of its four int8 layers (9E).
func gptBlockConfig(raw json.RawMessage) (nn.GPTBlockConfig, int64, error) {
	var c nn.GPTBlockConfig
	if err := decodeStrict(raw, &c); err != nil {
		return c, 0, err
	}
	switch {
	case c.DModel < 1 || 4*c.DModel > maxIn:
		return c, 0, fmt.Errorf("config: d_model must be between 1 and %d (the int32 sums of longer rows could overflow), got %d", maxIn/4, c.DModel)
	case c.Heads < 1 || c.DModel%c.Heads != 0:
		return c, 0, fmt.Errorf("config: d_model %d must be a positive multiple of heads %d", c.DModel, c.Heads)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return c, 0, fmt.Errorf("config: dropout must be in [0, 1), got %v", c.Dropout)
	case c.Rotary && (c.DModel/c.Heads)%2 != 0:
		return c, 0, fmt.Errorf("config: rotary embeddings need an even head size, got %d", c.DModel/c.Heads)
	case math.IsNaN(c.RotaryBase) || math.IsInf(c.RotaryBase, 0) || c.RotaryBase < 0:
		return c, 0, fmt.Errorf("config: rotary_base must be finite and not negative, got %v", c.RotaryBase)
	}
	e := int64(c.DModel)
	n := 12*e*e + 2*e + 9*e // weights, layer-norm weights, scales
	if !c.NoBias {
		n += 9*e + 2*e // the linear layers' and layer norms' biases
	}
	return c, n, nil
}

var (
	_ nn.StateLoader = (*GPTBlock)(nil)
	_ nn.Configurer  = (*GPTBlock)(nil)
)
