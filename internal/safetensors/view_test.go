package safetensors

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// aligned returns a copy of b starting at an address that is a multiple of
// 8 plus shift.
func aligned(b []byte, shift int) []byte {
	buf := make([]byte, len(b)+16)
	off := int((8 - uintptr(unsafe.Pointer(&buf[0]))%8) % 8)
	out := buf[off+shift : off+shift+len(b)]
	copy(out, b)
	return out
}

func TestDecodeInPlace(t *testing.T) {
	ts := []Tensor{
		{Name: "a", Shape: []int{2}, Data: []float32{1, -2}},
		{Name: "b", Shape: []int{3}, Data: []float32{4, 5, 6}, Dtype: I64},
		{Name: "c", Shape: []int{2, 2}, Data: []float32{0.5, 1.5, 2.5, 3.5}},
		{Name: "e", Shape: []int{0}, Data: []float32{}},
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, ts, map[string]string{"k": "v"}))
	want, wantMD, err := Decode(buf.Bytes())
	require.NoError(t, err)

	b := aligned(buf.Bytes(), 0)
	got, md, views, err := DecodeInPlace(b)
	require.NoError(t, err)
	require.Equal(t, wantMD, md)
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i].Name, got[i].Name)
		require.Equal(t, want[i].Shape, got[i].Shape)
		require.Equal(t, want[i].Dtype, got[i].Dtype)
		require.Equal(t, want[i].Data, got[i].Data, want[i].Name)
	}
	if littleEndian {
		require.Equal(t, 2, views, "a and c are views; the I64 and the empty tensor are not")
		// A view aliases b: writing b shows in the tensor.
		hdr := binary.LittleEndian.Uint64(b)
		binary.LittleEndian.PutUint32(b[8+hdr:], 0x40400000) // 3.0, a[0]
		require.Equal(t, float32(3), got[0].Data[0])
		require.Equal(t, float32(5), got[1].Data[1], "the I64 tensor is a copy")
	}

	// Misaligned by 1 byte: every tensor is copied, and the values agree.
	got, _, views, err = DecodeInPlace(aligned(buf.Bytes(), 1))
	require.NoError(t, err)
	require.Equal(t, 0, views)
	for i := range want {
		require.Equal(t, want[i].Data, got[i].Data, want[i].Name)
	}
}

func TestDecodeInPlaceRejects(t *testing.T) {
	_, _, _, err := DecodeInPlace([]byte{1, 2})
	require.ErrorContains(t, err, "too short")
	_, _, _, err = DecodeInPlace([]byte{200, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	require.ErrorContains(t, err, "header length 200 exceeds the 2 bytes")
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, 2}}}, nil))
	b := buf.Bytes()
	_, _, _, err = DecodeInPlace(b[:len(b)-1])
	require.ErrorContains(t, err, "run past")
	_, _, _, err = DecodeInPlace(append(b, 0))
	require.ErrorContains(t, err, "1 trailing bytes")
}
