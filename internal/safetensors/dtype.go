package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Dtype is the element type of a tensor in a file, as the header spells it
// ("F32", "I64", ...). Values are always float32 in memory: the reader
// converts every supported dtype to float32, refusing values that float32
// cannot hold exactly (integers) or at all (F64 beyond float32's range), and
// the writer converts float32 to the dtype a Tensor asks for, refusing
// values that dtype cannot hold.
type Dtype string

// The dtypes this package reads and writes. The writer never rounds: a
// value that F16 or BF16 cannot hold exactly is an error, as is a
// non-integer for an integer dtype.
const (
	F32  Dtype = "F32"
	F64  Dtype = "F64"
	F16  Dtype = "F16"
	BF16 Dtype = "BF16"
	I64  Dtype = "I64"
	I32  Dtype = "I32"
	I16  Dtype = "I16"
	I8   Dtype = "I8"
	U64  Dtype = "U64"
	U32  Dtype = "U32"
	U16  Dtype = "U16"
	U8   Dtype = "U8"
	BOOL Dtype = "BOOL"
)

// dtypeCode is a Dtype as one byte, so that a parsed header entry stays
// small.
type dtypeCode uint8

const (
	codeF32 dtypeCode = iota
	codeF64
	codeF16
	codeBF16
	codeI64
	codeI32
	codeI16
	codeI8
	codeU64
	codeU32
	codeU16
	codeU8
	codeBool
	numCodes
)

var codeInfo = [numCodes]struct {
	name     Dtype
	size     uint64
	writable bool
}{
	codeF32:  {F32, 4, true},
	codeF64:  {F64, 8, true},
	codeF16:  {F16, 2, true},
	codeBF16: {BF16, 2, true},
	codeI64:  {I64, 8, true},
	codeI32:  {I32, 4, true},
	codeI16:  {I16, 2, true},
	codeI8:   {I8, 1, true},
	codeU64:  {U64, 8, true},
	codeU32:  {U32, 4, true},
	codeU16:  {U16, 2, true},
	codeU8:   {U8, 1, true},
	codeBool: {BOOL, 1, true},
}

// knownDtypes are valid safetensors dtypes this package cannot convert; they
// get a clearer error than a misspelt dtype.
var knownDtypes = map[string]bool{
	"F8_E4M3": true, "F8_E5M2": true, "F8_E8M0": true, "F4": true,
	"F6_E2M3": true, "F6_E3M2": true, "C64": true,
}

// lookupDtype returns the code of a dtype name.
func lookupDtype(name []byte) (dtypeCode, bool) {
	for c := range numCodes {
		if string(codeInfo[c].name) == string(name) {
			return c, true
		}
	}
	return 0, false
}

// codeOf maps a Tensor's Dtype to its code; "" means F32.
func codeOf(d Dtype) (dtypeCode, bool) {
	if d == "" {
		return codeF32, true
	}
	return lookupDtype([]byte(d))
}

// maxExactInt is the largest integer magnitude below which every integer is
// a float32: 2^24.
const maxExactInt = 1 << 24

// convert decodes the little-endian values b of dtype c into out, which has
// len(b)/size elements. It returns an error naming the first value float32
// cannot represent: an integer that float32 would round, a BOOL byte other
// than 0 or 1, or a finite F64 beyond float32's range. NaN and infinities
// carry over from the float dtypes.
func convert(c dtypeCode, b []byte, out []float32) error {
	switch c {
	case codeF32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case codeF64:
		for i := range out {
			v := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			f := float32(v)
			if math.IsInf(float64(f), 0) && !math.IsInf(v, 0) {
				return fmt.Errorf("F64 value %g at index %d overflows float32", v, i)
			}
			out[i] = f
		}
	case codeBF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case codeF16:
		for i := range out {
			out[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case codeI64:
		for i := range out {
			v := int64(binary.LittleEndian.Uint64(b[8*i:]))
			if !exactInt(v) {
				return inexact(I64, fmt.Sprint(v), i)
			}
			out[i] = float32(v)
		}
	case codeU64:
		for i := range out {
			v := binary.LittleEndian.Uint64(b[8*i:])
			if f := float64(float32(v)); v > maxExactInt && (f >= 1<<64 || uint64(f) != v) {
				return inexact(U64, fmt.Sprint(v), i)
			}
			out[i] = float32(v)
		}
	case codeI32:
		for i := range out {
			v := int32(binary.LittleEndian.Uint32(b[4*i:]))
			if !exactInt(int64(v)) {
				return inexact(I32, fmt.Sprint(v), i)
			}
			out[i] = float32(v)
		}
	case codeU32:
		for i := range out {
			v := binary.LittleEndian.Uint32(b[4*i:])
			if !exactInt(int64(v)) {
				return inexact(U32, fmt.Sprint(v), i)
			}
			out[i] = float32(v)
		}
	case codeI16:
		for i := range out {
			out[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case codeU16:
		for i := range out {
			out[i] = float32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case codeI8:
		for i := range out {
			out[i] = float32(int8(b[i]))
		}
	case codeU8:
		for i := range out {
			out[i] = float32(b[i])
		}
	case codeBool:
		for i := range out {
			if b[i] > 1 {
				return fmt.Errorf("BOOL byte %#02x at index %d is neither 0 nor 1", b[i], i)
			}
			out[i] = float32(b[i])
		}
	default:
		panic(fmt.Sprintf("safetensors: convert: unchecked dtype code %d", c))
	}
	return nil
}

// exactInt reports whether float32 holds v exactly.
func exactInt(v int64) bool {
	if v >= -maxExactInt && v <= maxExactInt {
		return true
	}
	f := float64(float32(v)) // rounds to nearest
	return f >= -(1<<63) && f < 1<<63 && int64(f) == v
}

func inexact(d Dtype, v string, i int) error {
	return fmt.Errorf("%s value %s at index %d is not exactly representable as float32", d, v, i)
}

// encodable reports whether float32 v can be stored as dtype c without
// change: integral and in range for the integer dtypes, 0 or 1 for BOOL.
func encodable(c dtypeCode, v float32) bool {
	switch c {
	case codeF32, codeF64:
		return true
	case codeF16:
		_, ok := toHalf(v)
		return ok
	case codeBF16:
		return math.Float32bits(v)&0xffff == 0
	}
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return false
	}
	var lo, hi float64
	switch c {
	case codeI64:
		lo, hi = -(1 << 63), 1<<63-1
	case codeI32:
		lo, hi = math.MinInt32, math.MaxInt32
	case codeI16:
		lo, hi = math.MinInt16, math.MaxInt16
	case codeI8:
		lo, hi = math.MinInt8, math.MaxInt8
	case codeU64:
		lo, hi = 0, 1<<64-1
	case codeU32:
		lo, hi = 0, math.MaxUint32
	case codeU16:
		lo, hi = 0, math.MaxUint16
	case codeU8:
		lo, hi = 0, math.MaxUint8
	case codeBool:
		lo, hi = 0, 1
	default:
		return false
	}
	// hi may round up in float64 (I64, U64): compare with < for those.
	if c == codeI64 || c == codeU64 {
		return f >= lo && f < hi+1
	}
	return f >= lo && f <= hi
}

// appendValue appends v as dtype c, little-endian. v must be encodable.
func appendValue(buf []byte, c dtypeCode, v float32) []byte {
	switch c {
	case codeF32:
		return binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	case codeF64:
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(float64(v)))
	case codeF16:
		h, _ := toHalf(v)
		return binary.LittleEndian.AppendUint16(buf, h)
	case codeBF16:
		return binary.LittleEndian.AppendUint16(buf, uint16(math.Float32bits(v)>>16))
	case codeI64:
		return binary.LittleEndian.AppendUint64(buf, uint64(int64(v)))
	case codeU64:
		return binary.LittleEndian.AppendUint64(buf, uint64(v))
	case codeI32:
		return binary.LittleEndian.AppendUint32(buf, uint32(int32(v)))
	case codeU32:
		return binary.LittleEndian.AppendUint32(buf, uint32(v))
	case codeI16:
		return binary.LittleEndian.AppendUint16(buf, uint16(int16(v)))
	case codeU16:
		return binary.LittleEndian.AppendUint16(buf, uint16(v))
	case codeI8:
		return append(buf, byte(int8(v)))
	case codeU8, codeBool:
		return append(buf, byte(v))
	}
	panic(fmt.Sprintf("safetensors: appendValue: unwritable dtype code %d", c))
}

// toHalf returns the binary16 value equal to v (NaN payloads included),
// and false when there is none.
func toHalf(v float32) (uint16, bool) {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	frac := b & 0x7fffff
	var h uint16
	switch {
	case exp == 0xff: // Inf or NaN
		h = sign | 0x7c00 | uint16(frac>>13)
	case exp == 0 && frac == 0:
		h = sign
	case exp-127 >= -14 && exp-127 <= 15: // normal half
		h = sign | uint16(exp-127+15)<<10 | uint16(frac>>13)
	default: // maybe a subnormal half: |v| = m·2^-24 with m < 1024
		m := math.Abs(float64(v)) * (1 << 24)
		if m >= 1024 || m != math.Trunc(m) {
			return 0, false
		}
		h = sign | uint16(m)
	}
	return h, math.Float32bits(halfToFloat32(h)) == b
}

// halfToFloat32 converts an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	case frac == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal half: renormalise.
	e := uint32(127 - 15 + 1)
	for frac&0x400 == 0 {
		frac <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
}
