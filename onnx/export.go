package onnx

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// ExportOpset is the opset Export writes for models without a layer norm
// (those get LayerNormOpset).
const ExportOpset = 13

// Export writes m as an ONNX model (opset 13, or 17 when m has a layer
// norm) whose input, named "input",
// has the shape [batch, inputShape...] with a dynamic batch axis and
// whose output is named "output". Parameters keep their names (PyTorch's
// state_dict keys), so the file loads in onnxruntime or PyTorch tools.
//
// m is a layer or an nn.Sequential (nested ones included) of Dense (on
// [N, features]), Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten,
// BatchNorm (exported with its running statistics, as in evaluation),
// Dropout (left out: inference), the ReLU, LeakyReLU, Sigmoid, Tanh,
// Softmax and LogSoftmax layers and activations, Embedding, LSTM and GRU,
// and the transformer layers LayerNorm, GELU, Dense on [..., features],
// TransformerEncoderLayer (no mask), GPTBlock and GPT (learned positions;
// rotary attention is not exported). Anything else is an error naming
// the layer. Export runs m once on zeros to find the output's shape.
//
// An Embedding becomes a Gather of its table. When it reads the model's
// input, that input is declared INT64, as torch.onnx.export declares token
// ids; the imported Model still takes the ids as a float Var of whole
// numbers (nn.IDs), like Embedding.Forward. Ids computed inside the graph
// are Cast to INT64. Out-of-range ids are an error in the importer and in
// onnxruntime rather than a panic.
//
// An LSTM or GRU becomes one ONNX LSTM or GRU node per layer (both
// directions in one node when bidirectional), with the gates repacked
// into ONNX's order (LSTM i, o, f, c; GRU z, r, h with
// linear_before_reset=1, PyTorch's GRU), W, R and B initializers named
// like "1.W_l0" after the layer, and a Transpose and Reshape turning each
// node's Y [T, directions, B, H] into PyTorch's [T, B, directions·H];
// BatchFirst layers are wrapped in Transposes. Only the output sequence
// from a zero state is exported (Forward), not final states, initial
// states or sequence lengths. The first axis of the input is the dynamic
// one: the batch, or the time axis of a time-major sequence model; the
// others are fixed at inputShape.
func Export(w io.Writer, m nn.Module, inputShape ...int) error {
	e := &exporter{names: map[string]bool{"input": true}, full: map[*autograd.Var]string{},
		inType: dtFloat, inRank: len(inputShape) + 1, opset: ExportOpset}
	// A Sequential reports its layers' Params under their full names
	// (views of the same Vars).
	all := m.Params()
	if b, ok := m.(nn.BufferOwner); ok {
		all = append(all, b.Buffers()...)
	}
	for _, p := range all {
		if p != nil {
			e.full[p.Var] = p.Name
		}
	}
	for _, d := range inputShape {
		if d < 1 {
			return fmt.Errorf("onnx.Export: input shape %v has a dimension < 1", inputShape)
		}
	}
	// Each layer runs once on the previous one's output, from zeros, for
	// the shapes of the values between layers and of the output.
	x := "input"
	var err error
	rank := len(inputShape) + 1
	cur := autograd.NoGrad(tensor.Zeros(append([]int{1}, inputShape...)...))
	for i, l := range flattenLayers(m) {
		e.shape = cur.Shape()
		if x, rank, err = e.layer(l, x, rank); err != nil {
			return fmt.Errorf("onnx.Export: layer %d (%T): %w", i, l, err)
		}
		if err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("onnx.Export: layer %d (%T) rejected an input of shape %v: %v", i, l, e.shape, r)
				}
			}()
			cur = l.Forward(cur)
			return nil
		}(); err != nil {
			return err
		}
		if cur.Value().Rank() != rank {
			return fmt.Errorf("onnx.Export: layer %d (%T): output rank %d, expected %d", i, l, cur.Value().Rank(), rank)
		}
	}
	y := cur.Value()
	e.node("Identity", []string{x}, []string{"output"})

	var g []byte
	for _, n := range e.nodes {
		g = appendMsg(g, 1, n)
	}
	g = appendStr(g, 2, "shoshin")
	for _, t := range e.inits {
		g = appendMsg(g, 5, t)
	}
	g = appendMsg(g, 11, valueInfoBytes("input", e.inType, inputShape))
	g = appendMsg(g, 12, valueInfoBytes("output", dtFloat, y.Shape()[1:]))

	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 7) // IR version 7 (ONNX 1.8+)
	b = appendStr(b, 2, "shoshin")
	b = appendMsg(b, 7, g)
	var opset []byte
	opset = appendStr(opset, 1, "")
	opset = protowire.AppendTag(opset, 2, protowire.VarintType)
	opset = protowire.AppendVarint(opset, uint64(e.opset))
	b = appendMsg(b, 8, opset)
	_, err = w.Write(b)
	return err
}

// flattenLayers lists the layers of nested Sequentials in order.
func flattenLayers(m nn.Module) []nn.Module {
	s, ok := m.(*nn.Sequential)
	if !ok {
		return []nn.Module{m}
	}
	var out []nn.Module
	for i := range s.Len() {
		out = append(out, flattenLayers(s.Layer(i))...)
	}
	return out
}

type exporter struct {
	nodes [][]byte
	inits [][]byte
	names map[string]bool
	full  map[*autograd.Var]string // full names of the model's Params
	n     int
	// inType is the graph input's element type: FLOAT, or INT64 when an
	// Embedding reads it; inRank is its rank.
	inType uint64
	inRank int
	shape  []int // the current layer's input shape, batch 1
	opset  int   // ExportOpset, or LayerNormOpset with a layer norm
}

// fresh returns an unused value name.
func (e *exporter) fresh(base string) string {
	for {
		e.n++
		name := base + "_" + strconv.Itoa(e.n)
		if !e.names[name] {
			e.names[name] = true
			return name
		}
	}
}

// node appends a node; attrs are encoded AttributeProtos.
func (e *exporter) node(op string, ins, outs []string, attrs ...[]byte) {
	var n []byte
	for _, s := range ins {
		n = appendStr(n, 1, s)
	}
	for _, s := range outs {
		n = appendStr(n, 2, s)
	}
	n = appendStr(n, 3, op+"_"+strconv.Itoa(len(e.nodes)))
	n = appendStr(n, 4, op)
	for _, a := range attrs {
		n = appendMsg(n, 5, a)
	}
	e.nodes = append(e.nodes, n)
}

// unary appends a one-input node and returns its output.
func (e *exporter) unary(op, x string, attrs ...[]byte) string {
	y := e.fresh(op)
	e.node(op, []string{x}, []string{y}, attrs...)
	return y
}

// param adds t as an initializer named like p (or base when p is nil).
func (e *exporter) param(p *nn.Param, t *tensor.Tensor, base string) string {
	name := base
	if p != nil && e.full[p.Var] != "" {
		name = e.full[p.Var]
	} else if p != nil && p.Name != "" {
		name = p.Name
	}
	if e.names[name] {
		name = e.fresh(name)
	}
	e.names[name] = true
	e.inits = append(e.inits, tensorBytes(name, t))
	return name
}

// tensorBytes encodes t as a FLOAT TensorProto named name.
func tensorBytes(name string, t *tensor.Tensor) []byte {
	var b []byte
	for _, d := range t.Shape() {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, dtFloat)
	if name != "" {
		b = appendStr(b, 8, name)
	}
	raw := make([]byte, 4*t.Size())
	for i, v := range t.Data() {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

// activation appends act to x.
func (e *exporter) activation(act nn.Activation, x string) (string, error) {
	switch act {
	case nn.ActNone:
		return x, nil
	case nn.ActReLU:
		return e.unary("Relu", x), nil
	case nn.ActLeakyReLU:
		return e.unary("LeakyRelu", x, floatAttrBytes("alpha", 0.01)), nil
	case nn.ActGELU:
		return e.gelu(x), nil
	case nn.ActSigmoid:
		return e.unary("Sigmoid", x), nil
	case nn.ActTanh:
		return e.unary("Tanh", x), nil
	case nn.ActSoftmax:
		return e.unary("Softmax", x, intAttrBytes("axis", -1)), nil
	case nn.ActLogSoftmax:
		return e.unary("LogSoftmax", x, intAttrBytes("axis", -1)), nil
	}
	return "", fmt.Errorf("activation %v has no ONNX export", act)
}

// layer appends one layer applied to x of the given rank and returns its
// output and rank.
func (e *exporter) layer(l nn.Module, x string, rank int) (string, int, error) {
	switch l := l.(type) {
	case *nn.Dense:
		if rank > 2 {
			y, err := e.dense(l, x)
			return y, rank, err
		}
		if rank != 2 {
			return "", 0, fmt.Errorf("Dense needs an input of rank 2 or more, got rank %d", rank)
		}
		ins := []string{x, e.param(l.Weight, l.Weight.Value(), "weight")}
		if l.Bias != nil {
			ins = append(ins, e.param(l.Bias, l.Bias.Value(), "bias"))
		}
		y := e.fresh("Gemm")
		e.node("Gemm", ins, []string{y}, intAttrBytes("transB", 1))
		y, err := e.activation(l.Activation, y)
		return y, 2, err
	case *nn.Conv2D:
		if rank != 4 {
			return "", 0, fmt.Errorf("Conv2D needs [N, C, H, W] input, got rank %d", rank)
		}
		ins := []string{x, e.param(l.Weight, l.Weight.Value(), "weight")}
		if l.Bias != nil {
			ins = append(ins, e.param(l.Bias, l.Bias.Value(), "bias"))
		}
		ws := l.Weight.Value().Shape()
		o := l.Opts
		y := e.fresh("Conv")
		e.node("Conv", ins, []string{y},
			intsAttrBytes("kernel_shape", ws[2], ws[3]),
			intsAttrBytes("strides", or1(o.Stride[0]), or1(o.Stride[1])),
			intsAttrBytes("pads", o.Padding[0], o.Padding[1], o.Padding[0], o.Padding[1]),
			intsAttrBytes("dilations", or1(o.Dilation[0]), or1(o.Dilation[1])),
			intAttrBytes("group", int64(or1(o.Groups))))
		y, err := e.activation(l.Activation, y)
		return y, 4, err
	case *nn.MaxPool2D, *nn.AvgPool2D:
		if rank != 4 {
			return "", 0, fmt.Errorf("pooling needs [N, C, H, W] input, got rank %d", rank)
		}
		op, o := "MaxPool", autograd.Pool2DOptions{}
		var extra [][]byte
		if p, ok := l.(*nn.MaxPool2D); ok {
			o = p.Opts
			extra = append(extra, intsAttrBytes("dilations", or1(o.Dilation[0]), or1(o.Dilation[1])))
		} else {
			op, o = "AveragePool", l.(*nn.AvgPool2D).Opts
			extra = append(extra, intAttrBytes("count_include_pad", 1))
		}
		stride := o.Stride
		if stride == [2]int{} {
			stride = o.Kernel
		}
		attrs := append([][]byte{
			intsAttrBytes("kernel_shape", o.Kernel[0], o.Kernel[1]),
			intsAttrBytes("strides", stride[0], stride[1]),
			intsAttrBytes("pads", o.Padding[0], o.Padding[1], o.Padding[0], o.Padding[1]),
		}, extra...)
		return e.unary(op, x, attrs...), 4, nil
	case nn.GlobalAvgPool2D, *nn.GlobalAvgPool2D:
		if rank != 4 {
			return "", 0, fmt.Errorf("GlobalAvgPool2D needs [N, C, H, W] input, got rank %d", rank)
		}
		return e.unary("Flatten", e.unary("GlobalAveragePool", x), intAttrBytes("axis", 1)), 2, nil
	case nn.Flatten, *nn.Flatten:
		return e.unary("Flatten", x, intAttrBytes("axis", 1)), 2, nil
	case *nn.Dropout:
		return x, rank, nil
	case *nn.LayerNorm:
		return e.layerNorm(l, x), rank, nil
	case nn.GELU, *nn.GELU:
		return e.gelu(x), rank, nil
	case *nn.GPTBlock:
		if rank != 3 {
			return "", 0, fmt.Errorf("GPTBlock needs [B, T, E] input, got rank %d", rank)
		}
		y, err := e.gptBlock(l, x, e.shape[1])
		return y, 3, err
	case *nn.TransformerEncoderLayer:
		return e.encoderLayer(l, x, rank)
	case *nn.GPT:
		return e.gpt(l, x, rank)
	case *nn.Embedding:
		y, r := e.embedding(l, x, rank)
		return y, r, nil
	case *nn.LSTM:
		return e.recurrent("LSTM", l.Weights, l.Config(), x, rank)
	case *nn.GRU:
		return e.recurrent("GRU", l.Weights, l.Config(), x, rank)
	case *nn.BatchNorm:
		c := l.RunningMean.Value().Size()
		scale, bias := tensor.Ones(c), tensor.Zeros(c)
		var sp, bp *nn.Param
		if l.Weight != nil {
			scale, bias, sp, bp = l.Weight.Value(), l.Bias.Value(), l.Weight, l.Bias
		}
		ins := []string{x, e.param(sp, scale, "bn_scale"), e.param(bp, bias, "bn_bias"),
			e.param(l.RunningMean, l.RunningMean.Value(), "running_mean"), e.param(l.RunningVar, l.RunningVar.Value(), "running_var")}
		y := e.fresh("BatchNormalization")
		e.node("BatchNormalization", ins, []string{y}, floatAttrBytes("epsilon", l.Eps))
		return y, rank, nil
	case nn.ReLU, *nn.ReLU:
		return e.unary("Relu", x), rank, nil
	case nn.Sigmoid, *nn.Sigmoid:
		return e.unary("Sigmoid", x), rank, nil
	case nn.Tanh, *nn.Tanh:
		return e.unary("Tanh", x), rank, nil
	case nn.LeakyReLU:
		return e.unary("LeakyRelu", x, floatAttrBytes("alpha", l.Slope)), rank, nil
	case *nn.LeakyReLU:
		return e.unary("LeakyRelu", x, floatAttrBytes("alpha", l.Slope)), rank, nil
	case nn.Softmax:
		return e.unary("Softmax", x, intAttrBytes("axis", softmaxAxis(l.Axis))), rank, nil
	case *nn.Softmax:
		return e.unary("Softmax", x, intAttrBytes("axis", softmaxAxis(l.Axis))), rank, nil
	case nn.LogSoftmax:
		return e.unary("LogSoftmax", x, intAttrBytes("axis", softmaxAxis(l.Axis))), rank, nil
	case *nn.LogSoftmax:
		return e.unary("LogSoftmax", x, intAttrBytes("axis", softmaxAxis(l.Axis))), rank, nil
	}
	return "", 0, fmt.Errorf("no ONNX export for %T", l)
}

// softmaxAxis maps nn's axis (0 meaning the last) to ONNX's.
func softmaxAxis(a int) int64 {
	if a == 0 {
		return -1
	}
	return int64(a)
}

func or1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

func appendStr(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMsg(b []byte, num protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func intAttrBytes(name string, v int64) []byte {
	b := appendStr(nil, 1, name)
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	b = protowire.AppendVarint(b, atInt)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func floatAttrBytes(name string, v float32) []byte {
	b := appendStr(nil, 1, name)
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	b = protowire.AppendVarint(b, atFloat)
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

func intsAttrBytes(name string, vs ...int) []byte {
	b := appendStr(nil, 1, name)
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	b = protowire.AppendVarint(b, atInts)
	for _, v := range vs {
		b = protowire.AppendTag(b, 8, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(v)))
	}
	return b
}

// valueInfoBytes declares a tensor [batch, dims...] of element type dt.
func valueInfoBytes(name string, dt uint64, dims []int) []byte {
	shape := appendMsg(nil, 1, appendStr(nil, 2, "batch"))
	for _, d := range dims {
		var dim []byte
		dim = protowire.AppendTag(dim, 1, protowire.VarintType)
		dim = protowire.AppendVarint(dim, uint64(d))
		shape = appendMsg(shape, 1, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, dt)
	tt = appendMsg(tt, 2, shape)
	b := appendStr(nil, 1, name)
	return appendMsg(b, 2, appendMsg(nil, 1, tt))
}
