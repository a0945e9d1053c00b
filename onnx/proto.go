package onnx

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file decodes the subset of onnx.proto (ONNX IR version 3 to 10) that
// the importer uses, straight from the wire format with protowire. Field
// numbers are those of onnx/onnx.proto; fields not listed are skipped.
//
// Memory stays proportional to the input: byte fields are sub-slices of
// the input, every length is checked against the bytes that remain before
// anything is allocated, packed arrays allocate at most one element per
// input byte, and nesting (graphs inside attributes) is capped at
// maxDepth.

// maxDepth caps how deeply graphs may nest inside node attributes.
const maxDepth = 16

// Element types of TensorProto.DataType that the importer reads.
const (
	dtFloat  = 1
	dtUint8  = 2
	dtInt8   = 3
	dtInt32  = 6
	dtInt64  = 7
	dtString = 8
	dtBool   = 9
	dtDouble = 11
)

// dtypeName names an ONNX element type for error messages.
func dtypeName(t int32) string {
	names := map[int32]string{0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16",
		6: "INT32", 7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32",
		13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16"}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

// Attribute types (AttributeProto.AttributeType).
const (
	atFloat   = 1
	atInt     = 2
	atString  = 3
	atTensor  = 4
	atGraph   = 5
	atFloats  = 6
	atInts    = 7
	atStrings = 8
)

// attrTypeName names an attribute type for error messages.
func attrTypeName(t int32) string {
	names := map[int32]string{0: "UNDEFINED", 1: "FLOAT", 2: "INT", 3: "STRING", 4: "TENSOR", 5: "GRAPH",
		6: "FLOATS", 7: "INTS", 8: "STRINGS", 9: "TENSORS", 10: "GRAPHS", 11: "SPARSE_TENSOR",
		12: "SPARSE_TENSORS", 13: "TYPE_PROTO", 14: "TYPE_PROTOS"}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

type modelProto struct {
	irVersion    int64
	producer     string
	opsets       []opsetID
	graph        *graphProto
	hasGraph     bool
	producerVers string
}

type opsetID struct {
	domain  string
	version int64
}

type graphProto struct {
	name         string
	nodes        []*nodeProto
	initializers []*tensorProto
	inputs       []*valueInfo
	outputs      []*valueInfo
	sparseInits  int
}

type nodeProto struct {
	inputs  []string
	outputs []string
	name    string
	opType  string
	domain  string
	attrs   []*attrProto
}

type attrProto struct {
	name    string
	typ     int32
	f       float32
	i       int64
	s       []byte
	t       *tensorProto
	g       *graphProto
	floats  []float32
	ints    []int64
	strings [][]byte
	other   int // count of fields of kinds the importer does not read (tensors, graphs, ...)
}

type tensorProto struct {
	name         string
	dims         []int64
	dataType     int32
	floatData    []float32
	int32Data    []int32
	int64Data    []int64
	doubleData   []float64
	rawData      []byte
	hasRaw       bool
	stringData   int
	external     []keyValue
	dataLocation int32
	segment      bool
}

type keyValue struct{ key, value string }

type valueInfo struct {
	name     string
	elemType int32
	hasShape bool
	dims     []dimProto
}

type dimProto struct {
	value int64
	param string
}

// decoder walks one message's bytes; off is the offset of b[0] in the
// whole input, for error messages.
type decoder struct {
	b    []byte
	off  int
	what string
}

// wireError reports malformed input at an offset.
type wireError struct {
	off  int
	what string
	msg  string
}

func (e *wireError) Error() string {
	return fmt.Sprintf("onnx: malformed protobuf at byte %d (in %s): %s", e.off, e.what, e.msg)
}

func (d *decoder) fail(msg string, args ...any) error {
	return &wireError{off: d.off, what: d.what, msg: fmt.Sprintf(msg, args...)}
}

// next reads one field's tag and value. For bytes fields it returns the
// payload in val and its offset; for varint and fixed fields the number.
func (d *decoder) next() (num protowire.Number, typ protowire.Type, v uint64, val []byte, valOff int, err error) {
	num, typ, n := protowire.ConsumeTag(d.b)
	if n < 0 {
		return 0, 0, 0, nil, 0, d.fail("bad field tag: %v", protowire.ParseError(n))
	}
	d.advance(n)
	switch typ {
	case protowire.VarintType:
		v, n = protowire.ConsumeVarint(d.b)
	case protowire.Fixed32Type:
		var x uint32
		x, n = protowire.ConsumeFixed32(d.b)
		v = uint64(x)
	case protowire.Fixed64Type:
		v, n = protowire.ConsumeFixed64(d.b)
	case protowire.BytesType:
		valOff = d.off
		val, n = protowire.ConsumeBytes(d.b)
		if n >= 0 {
			valOff += n - len(val)
		}
	default:
		return 0, 0, 0, nil, 0, d.fail("field %d has wire type %d, which ONNX does not use", num, typ)
	}
	if n < 0 {
		return 0, 0, 0, nil, 0, d.fail("field %d: %v (%d bytes left)", num, protowire.ParseError(n), len(d.b))
	}
	d.advance(n)
	return num, typ, v, val, valOff, nil
}

func (d *decoder) advance(n int) {
	d.b = d.b[n:]
	d.off += n
}

func sub(what string, b []byte, off int) *decoder { return &decoder{b: b, off: off, what: what} }

// want checks a field's wire type.
func (d *decoder) want(num protowire.Number, got, want protowire.Type) error {
	if got != want {
		return d.fail("field %d has wire type %d, want %d", num, got, want)
	}
	return nil
}

// decodeModel decodes a ModelProto.
func decodeModel(b []byte) (*modelProto, error) {
	d := sub("ModelProto", b, 0)
	m := &modelProto{}
	for len(d.b) > 0 {
		num, typ, v, val, voff, err := d.next()
		if err != nil {
			return nil, err
		}
		switch num {
		case 1:
			if err := d.want(num, typ, protowire.VarintType); err != nil {
				return nil, err
			}
			m.irVersion = int64(v)
		case 2, 3:
			if err := d.want(num, typ, protowire.BytesType); err != nil {
				return nil, err
			}
			if num == 2 {
				m.producer = string(val)
			} else {
				m.producerVers = string(val)
			}
		case 7:
			if err := d.want(num, typ, protowire.BytesType); err != nil {
				return nil, err
			}
			g, err := decodeGraph(val, voff, 0)
			if err != nil {
				return nil, err
			}
			m.graph, m.hasGraph = g, true
		case 8:
			if err := d.want(num, typ, protowire.BytesType); err != nil {
				return nil, err
			}
			o, err := decodeOpset(val, voff)
			if err != nil {
				return nil, err
			}
			m.opsets = append(m.opsets, o)
		}
	}
	return m, nil
}

func decodeOpset(b []byte, off int) (opsetID, error) {
	d := sub("OperatorSetIdProto", b, off)
	var o opsetID
	for len(d.b) > 0 {
		num, typ, v, val, _, err := d.next()
		if err != nil {
			return o, err
		}
		switch {
		case num == 1 && typ == protowire.BytesType:
			o.domain = string(val)
		case num == 2 && typ == protowire.VarintType:
			o.version = int64(v)
		}
	}
	return o, nil
}

func decodeGraph(b []byte, off, depth int) (*graphProto, error) {
	d := sub("GraphProto", b, off)
	if depth > maxDepth {
		return nil, d.fail("graphs nested more than %d deep", maxDepth)
	}
	g := &graphProto{}
	for len(d.b) > 0 {
		num, typ, _, val, voff, err := d.next()
		if err != nil {
			return nil, err
		}
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			n, err := decodeNode(val, voff, depth)
			if err != nil {
				return nil, err
			}
			g.nodes = append(g.nodes, n)
		case 2:
			g.name = string(val)
		case 5:
			t, err := decodeTensor(val, voff)
			if err != nil {
				return nil, err
			}
			g.initializers = append(g.initializers, t)
		case 11, 12:
			vi, err := decodeValueInfo(val, voff)
			if err != nil {
				return nil, err
			}
			if num == 11 {
				g.inputs = append(g.inputs, vi)
			} else {
				g.outputs = append(g.outputs, vi)
			}
		case 15:
			g.sparseInits++
		}
	}
	return g, nil
}

func decodeNode(b []byte, off, depth int) (*nodeProto, error) {
	d := sub("NodeProto", b, off)
	n := &nodeProto{}
	for len(d.b) > 0 {
		num, typ, _, val, voff, err := d.next()
		if err != nil {
			return nil, err
		}
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			n.inputs = append(n.inputs, string(val))
		case 2:
			n.outputs = append(n.outputs, string(val))
		case 3:
			n.name = string(val)
		case 4:
			n.opType = string(val)
		case 7:
			n.domain = string(val)
		case 5:
			a, err := decodeAttr(val, voff, depth)
			if err != nil {
				return nil, err
			}
			n.attrs = append(n.attrs, a)
		}
	}
	return n, nil
}

func decodeAttr(b []byte, off, depth int) (*attrProto, error) {
	d := sub("AttributeProto", b, off)
	a := &attrProto{}
	for len(d.b) > 0 {
		num, typ, v, val, voff, err := d.next()
		if err != nil {
			return nil, err
		}
		switch num {
		case 1:
			a.name = string(val)
		case 20:
			a.typ = int32(v)
		case 2:
			if err := d.want(num, typ, protowire.Fixed32Type); err != nil {
				return nil, err
			}
			a.f = math.Float32frombits(uint32(v))
		case 3:
			a.i = int64(v)
		case 4:
			a.s = val
		case 5:
			if err := d.want(num, typ, protowire.BytesType); err != nil {
				return nil, err
			}
			if a.t, err = decodeTensor(val, voff); err != nil {
				return nil, err
			}
		case 6:
			if err := d.want(num, typ, protowire.BytesType); err != nil {
				return nil, err
			}
			if a.g, err = decodeGraph(val, voff, depth+1); err != nil {
				return nil, err
			}
		case 7:
			if a.floats, err = appendFloats(d, a.floats, num, typ, v, val); err != nil {
				return nil, err
			}
		case 8:
			if a.ints, err = appendVarints(d, a.ints, num, typ, v, val); err != nil {
				return nil, err
			}
		case 9:
			a.strings = append(a.strings, val)
		case 10, 11, 22, 23, 14, 15:
			a.other++
		}
	}
	return a, nil
}

func decodeTensor(b []byte, off int) (*tensorProto, error) {
	d := sub("TensorProto", b, off)
	t := &tensorProto{}
	for len(d.b) > 0 {
		num, typ, v, val, voff, err := d.next()
		if err != nil {
			return nil, err
		}
		switch num {
		case 1:
			if t.dims, err = appendVarints(d, t.dims, num, typ, v, val); err != nil {
				return nil, err
			}
		case 2:
			t.dataType = int32(v)
		case 3:
			t.segment = true
		case 4:
			if t.floatData, err = appendFloats(d, t.floatData, num, typ, v, val); err != nil {
				return nil, err
			}
		case 5:
			var xs []int64
			if xs, err = appendVarints(d, nil, num, typ, v, val); err != nil {
				return nil, err
			}
			for _, x := range xs {
				t.int32Data = append(t.int32Data, int32(x))
			}
		case 6:
			t.stringData++
		case 7:
			if t.int64Data, err = appendVarints(d, t.int64Data, num, typ, v, val); err != nil {
				return nil, err
			}
		case 8:
			t.name = string(val)
		case 9:
			t.rawData, t.hasRaw = val, true
		case 10:
			if t.doubleData, err = appendDoubles(d, t.doubleData, num, typ, v, val); err != nil {
				return nil, err
			}
		case 13:
			if err := d.want(num, typ, protowire.BytesType); err != nil {
				return nil, err
			}
			kv, err := decodeKeyValue(val, voff)
			if err != nil {
				return nil, err
			}
			t.external = append(t.external, kv)
		case 14:
			t.dataLocation = int32(v)
		}
	}
	return t, nil
}

func decodeKeyValue(b []byte, off int) (keyValue, error) {
	d := sub("StringStringEntryProto", b, off)
	var kv keyValue
	for len(d.b) > 0 {
		num, _, _, val, _, err := d.next()
		if err != nil {
			return kv, err
		}
		switch num {
		case 1:
			kv.key = string(val)
		case 2:
			kv.value = string(val)
		}
	}
	return kv, nil
}

func decodeValueInfo(b []byte, off int) (*valueInfo, error) {
	d := sub("ValueInfoProto", b, off)
	vi := &valueInfo{}
	for len(d.b) > 0 {
		num, typ, _, val, voff, err := d.next()
		if err != nil {
			return nil, err
		}
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			vi.name = string(val)
		case 2: // TypeProto
			td := sub("TypeProto", val, voff)
			for len(td.b) > 0 {
				num, typ, _, val, voff, err := td.next()
				if err != nil {
					return nil, err
				}
				if num == 1 && typ == protowire.BytesType { // tensor_type
					if err := decodeTensorType(vi, val, voff); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return vi, nil
}

func decodeTensorType(vi *valueInfo, b []byte, off int) error {
	d := sub("TypeProto.Tensor", b, off)
	for len(d.b) > 0 {
		num, typ, v, val, voff, err := d.next()
		if err != nil {
			return err
		}
		switch {
		case num == 1 && typ == protowire.VarintType:
			vi.elemType = int32(v)
		case num == 2 && typ == protowire.BytesType:
			vi.hasShape = true
			sd := sub("TensorShapeProto", val, voff)
			for len(sd.b) > 0 {
				num, typ, _, val, voff, err := sd.next()
				if err != nil {
					return err
				}
				if num != 1 || typ != protowire.BytesType {
					continue
				}
				dd := sub("TensorShapeProto.Dimension", val, voff)
				var dim dimProto
				for len(dd.b) > 0 {
					num, typ, v, val, _, err := dd.next()
					if err != nil {
						return err
					}
					switch {
					case num == 1 && typ == protowire.VarintType:
						dim.value = int64(v)
					case num == 2 && typ == protowire.BytesType:
						dim.param = string(val)
					}
				}
				vi.dims = append(vi.dims, dim)
			}
		}
	}
	return nil
}

// appendVarints appends one varint field, packed or not, to xs.
func appendVarints(d *decoder, xs []int64, num protowire.Number, typ protowire.Type, v uint64, val []byte) ([]int64, error) {
	switch typ {
	case protowire.VarintType:
		return append(xs, int64(v)), nil
	case protowire.BytesType:
		if xs == nil {
			xs = make([]int64, 0, countVarints(val))
		}
		for len(val) > 0 {
			x, n := protowire.ConsumeVarint(val)
			if n < 0 {
				return nil, d.fail("packed field %d: %v", num, protowire.ParseError(n))
			}
			xs = append(xs, int64(x))
			val = val[n:]
		}
		return xs, nil
	}
	return nil, d.fail("field %d has wire type %d, want varint or packed", num, typ)
}

// countVarints counts the varints in a packed field (bytes with the top
// bit clear end one), so that the slice is allocated once.
func countVarints(b []byte) int {
	n := 0
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	return n
}

func appendFloats(d *decoder, xs []float32, num protowire.Number, typ protowire.Type, v uint64, val []byte) ([]float32, error) {
	switch typ {
	case protowire.Fixed32Type:
		return append(xs, math.Float32frombits(uint32(v))), nil
	case protowire.BytesType:
		if len(val)%4 != 0 {
			return nil, d.fail("packed float field %d has %d bytes, not a multiple of 4", num, len(val))
		}
		if xs == nil {
			xs = make([]float32, 0, len(val)/4)
		}
		for i := 0; i < len(val); i += 4 {
			xs = append(xs, math.Float32frombits(uint32(val[i])|uint32(val[i+1])<<8|uint32(val[i+2])<<16|uint32(val[i+3])<<24))
		}
		return xs, nil
	}
	return nil, d.fail("field %d has wire type %d, want fixed32 or packed", num, typ)
}

func appendDoubles(d *decoder, xs []float64, num protowire.Number, typ protowire.Type, v uint64, val []byte) ([]float64, error) {
	switch typ {
	case protowire.Fixed64Type:
		return append(xs, math.Float64frombits(v)), nil
	case protowire.BytesType:
		if len(val)%8 != 0 {
			return nil, d.fail("packed double field %d has %d bytes, not a multiple of 8", num, len(val))
		}
		for i := 0; i < len(val); i += 8 {
			x, _ := protowire.ConsumeFixed64(val[i:])
			xs = append(xs, math.Float64frombits(x))
		}
		return xs, nil
	}
	return nil, d.fail("field %d has wire type %d, want fixed64 or packed", num, typ)
}
