package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// value is one tensor flowing through a graph: float data as an autograd
// Var (so gradients flow), or integer and boolean data (shapes, indices,
// masks) as an ints, which never carries a gradient.
type value struct {
	f *autograd.Var
	i *ints
}

// ints is an integer tensor (ONNX INT64, INT32, BOOL, ...), row-major.
type ints struct {
	shape []int
	data  []int64
	bool  bool // the ONNX type is BOOL
}

func (v value) shape() []int {
	if v.f != nil {
		return v.f.Shape()
	}
	if v.i != nil {
		return v.i.shape
	}
	return nil
}

// size returns the product of shape, or -1 when it overflows limit.
func size(shape []int64, limit int64) int64 {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		if d != 0 && n > limit/d {
			return -1
		}
		n *= d
	}
	return n
}

func prod(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// maxElements caps the elements of one tensor read from a file (4 GiB of
// float32).
const maxElements = 1 << 30

// tensorValue converts a TensorProto to a value. raw, when not nil,
// replaces the tensor's own raw_data (external data).
func tensorValue(t *tensorProto, raw []byte, hasRaw bool) (value, error) {
	if t.segment {
		return value{}, fmt.Errorf("segmented tensors are not supported")
	}
	n := size(t.dims, maxElements)
	if n < 0 {
		return value{}, fmt.Errorf("dims %v are negative or hold more than %d elements", t.dims, maxElements)
	}
	shape := make([]int, len(t.dims))
	for i, d := range t.dims {
		shape[i] = int(d)
	}
	if !hasRaw {
		raw, hasRaw = t.rawData, t.hasRaw
	}
	count := func(got int) error {
		if int64(got) != n {
			return fmt.Errorf("%s tensor with dims %v needs %d elements, has %d", dtypeName(t.dataType), t.dims, n, got)
		}
		return nil
	}
	rawCount := func(width int) error {
		if int64(len(raw)) != n*int64(width) {
			return fmt.Errorf("%s tensor with dims %v needs %d bytes of raw data, has %d", dtypeName(t.dataType), t.dims, n*int64(width), len(raw))
		}
		return nil
	}
	switch t.dataType {
	case dtFloat, dtDouble:
		var data []float32
		switch {
		case hasRaw && t.dataType == dtFloat:
			if err := rawCount(4); err != nil {
				return value{}, err
			}
			data = make([]float32, n)
			for i := range data {
				data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case hasRaw:
			if err := rawCount(8); err != nil {
				return value{}, err
			}
			data = make([]float32, n)
			for i := range data {
				data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			}
		case t.dataType == dtFloat:
			if err := count(len(t.floatData)); err != nil {
				return value{}, err
			}
			data = append([]float32(nil), t.floatData...)
		default:
			if err := count(len(t.doubleData)); err != nil {
				return value{}, err
			}
			data = make([]float32, n)
			for i, x := range t.doubleData {
				data[i] = float32(x)
			}
		}
		if data == nil {
			data = []float32{}
		}
		return value{f: autograd.Constant(tensor.New(data, shape...))}, nil
	case dtInt64, dtInt32, dtBool, dtUint8, dtInt8:
		width := map[int32]int{dtInt64: 8, dtInt32: 4, dtBool: 1, dtUint8: 1, dtInt8: 1}[t.dataType]
		data := make([]int64, 0)
		switch {
		case hasRaw:
			if err := rawCount(width); err != nil {
				return value{}, err
			}
			data = make([]int64, n)
			for i := range data {
				switch t.dataType {
				case dtInt64:
					data[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
				case dtInt32:
					data[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
				case dtInt8:
					data[i] = int64(int8(raw[i]))
				default:
					data[i] = int64(raw[i])
				}
			}
		case t.dataType == dtInt64:
			if err := count(len(t.int64Data)); err != nil {
				return value{}, err
			}
			data = append(data, t.int64Data...)
		default:
			if err := count(len(t.int32Data)); err != nil {
				return value{}, err
			}
			for _, x := range t.int32Data {
				data = append(data, int64(x))
			}
		}
		return value{i: &ints{shape: shape, data: data, bool: t.dataType == dtBool}}, nil
	}
	return value{}, fmt.Errorf("element type %s is not supported", dtypeName(t.dataType))
}

// floatOf returns the float data of v, converting integers to a constant.
func floatOf(v value) *autograd.Var {
	if v.f != nil {
		return v.f
	}
	data := make([]float32, len(v.i.data))
	for i, x := range v.i.data {
		data[i] = float32(x)
	}
	return autograd.Constant(tensor.New(data, v.i.shape...))
}

// intsOf returns the integer data of v, truncating floats toward zero.
func intsOf(v value) *ints {
	if v.i != nil {
		return v.i
	}
	src := v.f.Value().Data()
	data := make([]int64, len(src))
	for i, x := range src {
		data[i] = int64(x)
	}
	return &ints{shape: append([]int(nil), v.f.Shape()...), data: data}
}
