package onnx

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// LayerNormOpset is the opset Export writes for models with a layer norm
// (ONNX's LayerNormalization dates from opset 17).
const LayerNormOpset = 17

// constant appends a Constant node holding t and returns its output.
// Unlike an initializer it is no parameter of the imported model.
func (e *exporter) constant(base string, t *tensor.Tensor) string {
	y := e.fresh(base)
	a := appendStr(nil, 1, "value")
	a = protowire.AppendTag(a, 20, protowire.VarintType)
	a = protowire.AppendVarint(a, atTensor)
	a = appendMsg(a, 5, tensorBytes("", t))
	e.node("Constant", nil, []string{y}, a)
	return y
}

// scalar is a constant of shape [].
func (e *exporter) scalar(v float32) string {
	return e.constant("c", tensor.New([]float32{v}))
}

// binary appends a two-input node and returns its output.
func (e *exporter) binary(op, a, b string) string {
	y := e.fresh(op)
	e.node(op, []string{a, b}, []string{y})
	return y
}

// dense appends a Dense on x of any rank ≥ 2 as MatMul with the
// transposed weight (kept under its own name) plus the bias.
func (e *exporter) dense(l *nn.Dense, x string) (string, error) {
	w := e.unary("Transpose", e.param(l.Weight, l.Weight.Value(), "weight"), intsAttrBytes("perm", 1, 0))
	y := e.binary("MatMul", x, w)
	if l.Bias != nil {
		y = e.binary("Add", y, e.param(l.Bias, l.Bias.Value(), "bias"))
	}
	return e.activation(l.Activation, y)
}

// gelu appends the exact GELU, x·½(1 + erf(x/√2)).
func (e *exporter) gelu(x string) string {
	t := e.unary("Erf", e.binary("Div", x, e.scalar(float32(math.Sqrt2))))
	t = e.binary("Add", t, e.scalar(1))
	return e.binary("Mul", e.binary("Mul", x, t), e.scalar(0.5))
}

// layerNorm appends a LayerNormalization over l's trailing axes.
func (e *exporter) layerNorm(l *nn.LayerNorm, x string) string {
	e.opset = LayerNormOpset
	n := 1
	for _, d := range l.Shape {
		n *= d
	}
	var scale string
	if l.Weight != nil {
		scale = e.param(l.Weight, l.Weight.Value(), "weight")
	} else {
		scale = e.constant("ones", tensor.Ones(l.Shape...))
	}
	ins := []string{x, scale}
	if l.Bias != nil {
		ins = append(ins, e.param(l.Bias, l.Bias.Value(), "bias"))
	}
	y := e.fresh("LayerNormalization")
	e.node("LayerNormalization", ins, []string{y},
		intAttrBytes("axis", int64(-len(l.Shape))), floatAttrBytes("epsilon", l.Eps))
	return y
}

// attention appends multi-head attention of the packed projections qkv
// [B, T, 3E] (queries, keys, values) and returns [B, T, E]; causal adds
// a constant mask of −∞ above the diagonal to the scores.
func (e *exporter) attention(qkv string, embed, heads, steps int, causal bool) string {
	split := e.int64Const("qkv_split", int64(embed), int64(embed), int64(embed))
	q, k, v := e.fresh("q"), e.fresh("k"), e.fresh("v")
	e.node("Split", []string{qkv, split}, []string{q, k, v}, intAttrBytes("axis", 2))
	hd := embed / heads
	heads4 := e.int64Const("heads_shape", 0, 0, int64(heads), int64(hd))
	split4 := func(x string, perm ...int) string { // [B, T, E] → [B, H, ·, ·]
		r := e.binary("Reshape", x, heads4)
		return e.unary("Transpose", r, intsAttrBytes("perm", perm...))
	}
	q = split4(q, 0, 2, 1, 3) // [B, H, T, D]
	k = split4(k, 0, 2, 3, 1) // [B, H, D, T]
	v = split4(v, 0, 2, 1, 3) // [B, H, T, D]
	s := e.binary("Mul", e.binary("MatMul", q, k), e.scalar(float32(1/math.Sqrt(float64(hd)))))
	if causal {
		m := tensor.Zeros(steps, steps)
		for i := range steps {
			for j := i + 1; j < steps; j++ {
				m.Data()[i*steps+j] = float32(math.Inf(-1))
			}
		}
		s = e.binary("Add", s, e.constant("causal_mask", m))
	}
	p := e.unary("Softmax", s, intAttrBytes("axis", -1))
	y := e.unary("Transpose", e.binary("MatMul", p, v), intsAttrBytes("perm", 0, 2, 1, 3)) // [B, T, H, D]
	return e.binary("Reshape", y, e.int64Const("merge_shape", 0, 0, int64(embed)))
}

// gptBlock appends x + attn(ln_1(x)), then x + mlp(ln_2(x)).
func (e *exporter) gptBlock(b *nn.GPTBlock, x string, steps int) (string, error) {
	a := b.Attn
	if a.Rotary {
		return "", fmt.Errorf("rotary attention has no ONNX export")
	}
	embed := a.CProj.Weight.Value().Dim(0)
	qkv, err := e.dense(a.CAttn, e.layerNorm(b.LN1, x))
	if err != nil {
		return "", err
	}
	y, err := e.dense(a.CProj, e.attention(qkv, embed, a.Heads, steps, true))
	if err != nil {
		return "", err
	}
	x = e.binary("Add", x, y)
	h, err := e.dense(b.MLP.CFC, e.layerNorm(b.LN2, x))
	if err != nil {
		return "", err
	}
	y, err = e.dense(b.MLP.CProj, e.gelu(h))
	if err != nil {
		return "", err
	}
	return e.binary("Add", x, y), nil
}

// gpt appends a whole GPT on ids x [B, T].
func (e *exporter) gpt(g *nn.GPT, x string, rank int) (string, int, error) {
	if rank != 2 {
		return "", 0, fmt.Errorf("GPT needs ids [B, T], got rank %d", rank)
	}
	steps := e.shape[1]
	y, _ := e.embedding(g.WTE, x, rank)
	if g.WPE != nil {
		pos := make([]int64, steps)
		for i := range pos {
			pos[i] = int64(i)
		}
		p := e.fresh("Gather")
		e.node("Gather", []string{e.param(g.WPE.Weight, g.WPE.Weight.Value(), "wpe"), e.int64Const("positions", pos...)},
			[]string{p}, intAttrBytes("axis", 0))
		y = e.binary("Add", y, p)
	}
	var err error
	for i, b := range g.H {
		if y, err = e.gptBlock(b, y, steps); err != nil {
			return "", 0, fmt.Errorf("block %d: %w", i, err)
		}
	}
	y, err = e.dense(g.LMHead, e.layerNorm(g.LNF, y))
	return y, 3, err
}

// encoderLayer appends a TransformerEncoderLayer (no mask) on x [B, T, E].
func (e *exporter) encoderLayer(l *nn.TransformerEncoderLayer, x string, rank int) (string, int, error) {
	if rank != 3 {
		return "", 0, fmt.Errorf("TransformerEncoderLayer needs [B, T, E] input, got rank %d", rank)
	}
	sa := l.SelfAttn
	embed := sa.InProjWeight.Value().Dim(1)
	selfAttn := func(x string) (string, error) {
		w := e.unary("Transpose", e.param(sa.InProjWeight, sa.InProjWeight.Value(), "in_proj_weight"), intsAttrBytes("perm", 1, 0))
		qkv := e.binary("MatMul", x, w)
		if sa.InProjBias != nil {
			qkv = e.binary("Add", qkv, e.param(sa.InProjBias, sa.InProjBias.Value(), "in_proj_bias"))
		}
		return e.dense(sa.OutProj, e.attention(qkv, embed, sa.Heads, 0, false))
	}
	ff := func(x string) (string, error) {
		h, err := e.dense(l.Linear1, x)
		if err != nil {
			return "", err
		}
		if h, err = e.activation(l.Activation, h); err != nil {
			return "", err
		}
		return e.dense(l.Linear2, h)
	}
	if l.NormFirst {
		y, err := selfAttn(e.layerNorm(l.Norm1, x))
		if err != nil {
			return "", 0, err
		}
		x = e.binary("Add", x, y)
		if y, err = ff(e.layerNorm(l.Norm2, x)); err != nil {
			return "", 0, err
		}
		return e.binary("Add", x, y), 3, nil
	}
	y, err := selfAttn(x)
	if err != nil {
		return "", 0, err
	}
	x = e.layerNorm(l.Norm1, e.binary("Add", x, y))
	if y, err = ff(x); err != nil {
		return "", 0, err
	}
	return e.layerNorm(l.Norm2, e.binary("Add", x, y)), 3, nil
}
