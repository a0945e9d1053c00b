package onnx

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// pb builds protobuf messages for tests, field by field.
type pb []byte

func (b pb) str(num protowire.Number, s string) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func (b pb) msg(num protowire.Number, m pb) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func (b pb) varint(num protowire.Number, v int64) pb {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func (b pb) f32(num protowire.Number, v float32) pb {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

// tensorPB returns a FLOAT TensorProto named name with float_data.
func tensorPB(name string, dims []int64, data []float32) pb {
	var t pb
	for _, d := range dims {
		t = t.varint(1, d)
	}
	t = t.varint(2, dtFloat).str(8, name)
	for _, v := range data {
		t = t.f32(4, v)
	}
	return t
}

// int64TensorPB returns an INT64 TensorProto named name.
func int64TensorPB(name string, dims []int64, data []int64) pb {
	var t pb
	for _, d := range dims {
		t = t.varint(1, d)
	}
	t = t.varint(2, dtInt64).str(8, name)
	for _, v := range data {
		t = t.varint(7, v)
	}
	return t
}

// valueInfoPB declares a graph input or output of element type elem; a
// negative dim is the dynamic "batch".
func valueInfoPB(name string, elem int64, dims ...int64) pb {
	var shape pb
	for _, d := range dims {
		if d < 0 {
			shape = shape.msg(1, pb{}.str(2, "batch"))
		} else {
			shape = shape.msg(1, pb{}.varint(1, d))
		}
	}
	tt := pb{}.varint(1, elem).msg(2, shape)
	return pb{}.str(1, name).msg(2, pb{}.msg(1, tt))
}

func intAttr(name string, v int64) pb { return pb{}.str(1, name).varint(20, atInt).varint(3, v) }

func floatAttr(name string, v float32) pb { return pb{}.str(1, name).varint(20, atFloat).f32(2, v) }

func intsAttr(name string, vs ...int64) pb {
	a := pb{}.str(1, name).varint(20, atInts)
	for _, v := range vs {
		a = a.varint(8, v)
	}
	return a
}

func nodePB(op, name string, ins, outs []string, attrs ...pb) pb {
	n := pb{}.str(4, op).str(3, name)
	for _, s := range ins {
		n = n.str(1, s)
	}
	for _, s := range outs {
		n = n.str(2, s)
	}
	for _, a := range attrs {
		n = n.msg(5, a)
	}
	return n
}

// graphPB assembles a graph; parts are (field, message) pairs made with
// the helpers below.
type part struct {
	num protowire.Number
	m   pb
}

func node(n pb) part        { return part{1, n} }
func initializer(t pb) part { return part{5, t} }
func input(v pb) part       { return part{11, v} }
func output(v pb) part      { return part{12, v} }

func modelPB(opset int64, parts ...part) []byte {
	g := pb{}.str(2, "g")
	for _, p := range parts {
		g = g.msg(p.num, p.m)
	}
	return pb{}.varint(1, 8).str(2, "test").msg(8, pb{}.str(1, "").varint(2, opset)).msg(7, g)
}
