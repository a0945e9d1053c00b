package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// le encodes values little-endian with the width of their Go type.
func le(vs ...any) []byte {
	var b []byte
	for _, v := range vs {
		var err error
		if b, err = binary.Append(b, binary.LittleEndian, v); err != nil {
			panic(err)
		}
	}
	return b
}

// one returns a file holding a single tensor "t" of dtype d with the given
// data bytes and rank-1 shape.
func one(d Dtype, n int, data []byte) []byte {
	return file(fmt.Sprintf(`{"t":{"dtype":"%s","shape":[%d],"data_offsets":[0,%d]}}`, d, n, len(data)), data)
}

func TestReadIntegerDtypes(t *testing.T) {
	cases := []struct {
		d    Dtype
		data []byte
		want []float32
	}{
		{I64, le(int64(0), int64(-3), int64(1<<24), int64(-(1 << 24)), int64(1<<25), int64(1)<<62, int64(math.MinInt64)), []float32{0, -3, 1 << 24, -(1 << 24), 1 << 25, 1 << 62, -(1 << 63)}},
		{U64, le(uint64(7), uint64(1)<<63, uint64(1<<24)), []float32{7, 1 << 63, 1 << 24}},
		{I32, le(int32(-5), int32(1<<30), int32(math.MinInt32)), []float32{-5, 1 << 30, math.MinInt32}},
		{U32, le(uint32(9), uint32(1)<<31), []float32{9, 1 << 31}},
		{I16, le(int16(-32768), int16(32767)), []float32{-32768, 32767}},
		{U16, le(uint16(65535), uint16(0)), []float32{65535, 0}},
		{I8, []byte{0x80, 0x7f, 0xff}, []float32{-128, 127, -1}},
		{U8, []byte{0, 255, 17}, []float32{0, 255, 17}},
		{BOOL, []byte{0, 1, 1}, []float32{0, 1, 1}},
		{F64, le(1.5, math.Inf(-1), 1e-50, math.MaxFloat32), []float32{1.5, float32(math.Inf(-1)), 0, math.MaxFloat32}},
	}
	for _, c := range cases {
		t.Run(string(c.d), func(t *testing.T) {
			ts, _, err := Decode(one(c.d, len(c.want), c.data))
			require.NoError(t, err)
			require.Equal(t, []Tensor{{Name: "t", Shape: []int{len(c.want)}, Data: c.want, Dtype: c.d}}, ts)
		})
	}
}

// TestReadRejectsUnrepresentable checks that values float32 cannot hold
// are errors naming the tensor, the value and its index, never silently
// rounded.
func TestReadRejectsUnrepresentable(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"I64 2^24+1", one(I64, 2, le(int64(1), int64(1<<24+1))), `tensor "t": I64 value 16777217 at index 1 is not exactly representable as float32`},
		{"I64 -(2^24+1)", one(I64, 1, le(int64(-(1<<24 + 1)))), `I64 value -16777217 at index 0`},
		{"I64 max", one(I64, 1, le(int64(math.MaxInt64))), `I64 value 9223372036854775807 at index 0`},
		{"U64 max", one(U64, 1, le(uint64(math.MaxUint64))), `U64 value 18446744073709551615 at index 0`},
		{"U64 odd", one(U64, 1, le(uint64(1<<40+1))), `U64 value 1099511627777`},
		{"I32 max", one(I32, 1, le(int32(math.MaxInt32))), `I32 value 2147483647 at index 0`},
		{"U32 odd", one(U32, 1, le(uint32(1<<24+3))), `U32 value 16777219`},
		{"BOOL 2", one(BOOL, 2, []byte{1, 2}), `tensor "t": BOOL byte 0x02 at index 1 is neither 0 nor 1`},
		{"F64 overflow", one(F64, 2, le(0.0, 1e300)), `tensor "t": F64 value 1e+300 at index 1 overflows float32`},
		{"F64 negative overflow", one(F64, 1, le(-1e39)), `F64 value -1e+39 at index 0 overflows float32`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decode(c.in)
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestWriteDtypesRoundTrip(t *testing.T) {
	nan := math.Float32frombits(0x7fc00001)
	cases := []struct {
		d    Dtype
		vals []float32
		size int
	}{
		{F32, []float32{1.1, nan}, 4},
		{F64, []float32{1.1, float32(math.Inf(1))}, 8},
		{F16, []float32{1, -2, 65504, 5.960464477539063e-08, float32(math.Copysign(0, -1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc02000)}, 2},
		{BF16, []float32{1, -3, 1 << 100, math.Float32frombits(0x7fc10000)}, 2},
		{I64, []float32{0, -7, 1 << 62, -(1 << 63)}, 8},
		{I32, []float32{math.MinInt32, 1 << 30}, 4},
		{I16, []float32{-32768, 32767}, 2},
		{I8, []float32{-128, 127}, 1},
		{U64, []float32{0, 1 << 63}, 8},
		{U32, []float32{0, 1 << 31}, 4},
		{U16, []float32{65535}, 2},
		{U8, []float32{0, 255}, 1},
		{BOOL, []float32{0, 1, 1}, 1},
	}
	for _, c := range cases {
		t.Run(string(c.d), func(t *testing.T) {
			var buf bytes.Buffer
			in := []Tensor{{Name: "t", Shape: []int{len(c.vals)}, Data: c.vals, Dtype: c.d}}
			require.NoError(t, Write(&buf, in, nil))
			hlen := binary.LittleEndian.Uint64(buf.Bytes())
			require.Contains(t, string(buf.Bytes()[8:8+hlen]), fmt.Sprintf(`"dtype":"%s"`, c.d))
			require.Equal(t, len(c.vals)*c.size, buf.Len()-8-int(hlen), "data bytes")
			ts, _, err := Decode(buf.Bytes())
			require.NoError(t, err)
			require.Equal(t, c.d, ts[0].Dtype)
			require.Equal(t, bitsOf(c.vals), bitsOf(ts[0].Data))
		})
	}
}

func bitsOf(xs []float32) []uint32 {
	out := make([]uint32, len(xs))
	for i, x := range xs {
		out[i] = math.Float32bits(x)
	}
	return out
}

func TestWriteRejectsValuesOutsideDtype(t *testing.T) {
	cases := []struct {
		d    Dtype
		v    float32
		want string
	}{
		{I64, 0.5, `value 0.5 at index 1 is not a valid I64`},
		{I64, float32(math.NaN()), `is not a valid I64`},
		{I64, 1 << 63, `is not a valid I64`},
		{I32, 1 << 31, `is not a valid I32`},
		{U8, 256, `value 256 at index 1 is not a valid U8`},
		{U8, -1, `is not a valid U8`},
		{U64, -1, `is not a valid U64`},
		{BOOL, 2, `is not a valid BOOL`},
		{F16, 1e-10, `is not a valid F16`},
		{F16, 65520, `is not a valid F16`},
		{F16, 1 + 1.0/4096, `is not a valid F16`},
		{BF16, 1.1, `is not a valid BF16`},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %v", c.d, c.v), func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, []Tensor{{Name: "t", Shape: []int{2}, Data: []float32{0, c.v}, Dtype: c.d}}, nil)
			require.ErrorContains(t, err, `tensor "t": value `)
			require.ErrorContains(t, err, c.want)
			require.Zero(t, buf.Len(), "nothing is written on error")
		})
	}
	err := Write(&bytes.Buffer{}, []Tensor{{Name: "t", Shape: []int{}, Data: []float32{0}, Dtype: "C64"}}, nil)
	require.ErrorContains(t, err, `tensor "t": cannot write dtype "C64"`)
}

// TestToHalfExhaustive checks the float32 → F16 encoder against the
// decoder for every half value, NaNs included.
func TestToHalfExhaustive(t *testing.T) {
	for h := range 1 << 16 {
		f := halfToFloat32(uint16(h))
		got, ok := toHalf(f)
		require.True(t, ok, "half %#04x", h)
		require.Equal(t, uint16(h), got, "half %#04x", h)
	}
}

// TestErrorsQuoteBoundedNames checks that a long name in the header is cut
// short in error messages.
func TestErrorsQuoteBoundedNames(t *testing.T) {
	long := strings.Repeat("n", 100_000)
	for _, in := range [][]byte{
		file(`{"`+long+`":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, f32s(2)),
		file(`{"`+long+`":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"`+long+`":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32s(2)),
		file(`{"a":{"dtype":"`+long+`","shape":[1],"data_offsets":[0,4]}}`, f32s(1)),
		file(`{"a":{"`+long+`":1}}`, f32s(1)),
		file(`{"a":{"dtype":"F32","shape":[1`+strings.Repeat("0", 100_000)+`],"data_offsets":[0,4]}}`, f32s(1)),
		file(`{"a":{"dtype":"F32","shape":"`+long+`"}}`, f32s(1)),
		file(`{"__metadata__":{"`+long+`":1}}`, nil),
	} {
		_, _, err := Decode(in)
		require.Error(t, err)
		require.Less(t, len(err.Error()), 400, err.Error())
	}
	_, _, err := Decode(file(`{"`+long+`":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, f32s(2)))
	require.ErrorContains(t, err, `tensor "nnnnnnnn`)
	require.ErrorContains(t, err, `"... (100000 bytes): data_offsets [0, 8] hold 8 bytes`)
	var buf bytes.Buffer
	err = Write(&buf, []Tensor{{Name: long, Shape: []int{2}, Data: []float32{1}}}, nil)
	require.Error(t, err)
	require.Less(t, len(err.Error()), 400)
}
