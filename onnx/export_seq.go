package onnx

import (
	"encoding/binary"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// The gate orders of ONNX, per kind: onnxGates[k][i] is the index, in
// PyTorch's (and nn's) packing, of ONNX's gate i. LSTM: ONNX i, o, f, c
// from PyTorch i, f, g, o. GRU: ONNX z, r, h from PyTorch r, z, n.
var (
	lstmGates = []int{0, 3, 1, 2}
	gruGates  = []int{1, 0, 2}
)

// embedding appends a Gather of l's table at the ids x. The graph input
// itself is declared INT64 when the embedding reads it; ids computed
// inside the graph are Cast to INT64 first.
func (e *exporter) embedding(l *nn.Embedding, x string, rank int) (string, int) {
	if x == "input" && rank == e.inRank {
		e.inType = dtInt64
	} else {
		x = e.unary("Cast", x, intAttrBytes("to", dtInt64))
	}
	w := e.param(l.Weight, l.Weight.Value(), "weight")
	y := e.fresh("Gather")
	e.node("Gather", []string{w, x}, []string{y}, intAttrBytes("axis", 0))
	return y, rank + 1
}

// recurrent appends an LSTM or GRU stack on x ([T, B, F], or [B, T, F]
// when batch-first): one ONNX node per layer, each followed by the
// Transpose and Reshape that turn ONNX's Y [T, dirs, B, H] into the next
// layer's [T, B, dirs·H].
func (e *exporter) recurrent(op string, ws []nn.RecurrentParams, cfg nn.RNNConfig, x string, rank int) (string, int, error) {
	if rank != 3 {
		return "", 0, fmt.Errorf("%s needs a rank-3 input, got rank %d", op, rank)
	}
	perm, direction := lstmGates, "forward"
	if op == "GRU" {
		perm = gruGates
	}
	dirs := 1
	if cfg.Bidirectional {
		dirs, direction = 2, "bidirectional"
	}
	if len(ws) != cfg.Layers*dirs {
		return "", 0, fmt.Errorf("%s has %d weight sets for %d layers × %d directions", op, len(ws), cfg.Layers, dirs)
	}
	hidden := ws[0].WeightHH.Value().Dim(1)
	if cfg.BatchFirst {
		x = e.unary("Transpose", x, intsAttrBytes("perm", 1, 0, 2))
	}
	flat := e.int64Const("rnn_out_shape", 0, 0, -1)
	for l := range cfg.Layers {
		set := ws[l*dirs : (l+1)*dirs]
		prefix := strings.TrimSuffix(e.nameOf(set[0].WeightIH), "weight_ih_l"+fmt.Sprint(l))
		stack := func(pick func(p nn.RecurrentParams) *tensor.Tensor) *tensor.Tensor {
			var parts []*tensor.Tensor
			for _, p := range set {
				parts = append(parts, regate(pick(p), hidden, perm))
			}
			return concat0(parts...)
		}
		suffix := fmt.Sprintf("_l%d", l)
		ins := []string{x,
			e.param(nil, stack(func(p nn.RecurrentParams) *tensor.Tensor { return p.WeightIH.Value() }), prefix+"W"+suffix),
			e.param(nil, stack(func(p nn.RecurrentParams) *tensor.Tensor { return p.WeightHH.Value() }), prefix+"R"+suffix)}
		if set[0].BiasIH != nil {
			var parts []*tensor.Tensor
			for _, p := range set {
				bi, bh := regate(p.BiasIH.Value(), hidden, perm), regate(p.BiasHH.Value(), hidden, perm)
				parts = append(parts, tensor.New(append(bi.Data(), bh.Data()...), 1, bi.Size()+bh.Size()))
			}
			ins = append(ins, e.param(nil, concat0(parts...), prefix+"B"+suffix))
		}
		// W [dirs, G·H, F], R [dirs, G·H, H], B [dirs, 2·G·H].
		y := e.fresh(op + "_Y")
		attrs := [][]byte{intAttrBytes("hidden_size", int64(hidden)), strAttrBytes("direction", direction)}
		if op == "GRU" {
			attrs = append(attrs, intAttrBytes("linear_before_reset", 1))
		}
		e.node(op, ins, []string{y}, attrs...)
		y = e.unary("Transpose", y, intsAttrBytes("perm", 0, 2, 1, 3)) // [T, B, dirs, H]
		x = e.fresh("Reshape")
		e.node("Reshape", []string{y, flat}, []string{x})
	}
	if cfg.BatchFirst {
		x = e.unary("Transpose", x, intsAttrBytes("perm", 1, 0, 2))
	}
	return x, 3, nil
}

// nameOf returns p's full name in the model.
func (e *exporter) nameOf(p *nn.Param) string {
	if n := e.full[p.Var]; n != "" {
		return n
	}
	return p.Name
}

// regate reorders the gate blocks (hidden rows each, along axis 0) of a
// PyTorch-packed weight or bias into ONNX's order and returns them with a
// leading axis of 1 (one direction).
func regate(t *tensor.Tensor, hidden int, perm []int) *tensor.Tensor {
	s := t.Shape()
	row := t.Size() / s[0] // elements per row
	src := t.Data()
	out := make([]float32, 0, t.Size())
	for _, g := range perm {
		out = append(out, src[g*hidden*row:(g+1)*hidden*row]...)
	}
	return tensor.New(out, append([]int{1}, s...)...)
}

// concat0 joins tensors along axis 0.
func concat0(ts ...*tensor.Tensor) *tensor.Tensor {
	var d []float32
	n := 0
	for _, t := range ts {
		d = append(d, t.Data()...)
		n += t.Dim(0)
	}
	return tensor.New(d, append([]int{n}, ts[0].Shape()[1:]...)...)
}

// int64Const adds an INT64 initializer of the given values (1-D).
func (e *exporter) int64Const(base string, vs ...int64) string {
	name := e.fresh(base)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(len(vs)))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, dtInt64)
	b = appendStr(b, 8, name)
	raw := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	e.inits = append(e.inits, b)
	return name
}

func strAttrBytes(name, v string) []byte {
	b := appendStr(nil, 1, name)
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	b = protowire.AppendVarint(b, atString)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendString(b, v)
}
