package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// goldenBytes is a complete file, computed by hand: the header is 138 bytes
// of JSON padded with 6 spaces to 144 (0x90); the data is 1.0, -2.0 (tensor
// "a") and 0.5 (scalar "b") as little-endian float32.
var goldenBytes = concat(
	[]byte{0x90, 0, 0, 0, 0, 0, 0, 0},
	[]byte(`{"__metadata__":{"format":"pt"},`+
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`+
		`"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}`+
		`      `),
	[]byte{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0}, // 1, -2
	[]byte{0x00, 0x00, 0x00, 0x3f},                         // 0.5
)

var goldenTensors = []Tensor{
	{Name: "a", Shape: []int{2}, Data: []float32{1, -2}, Dtype: F32},
	{Name: "b", Shape: []int{}, Data: []float32{0.5}, Dtype: F32},
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestGolden(t *testing.T) {
	require.Len(t, goldenBytes, 8+144+12)
	// Written in reverse order: the writer sorts by name.
	in := []Tensor{goldenTensors[1], goldenTensors[0]}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, in, map[string]string{"format": "pt"}))
	require.Equal(t, goldenBytes, buf.Bytes())
	require.Equal(t, "b", in[0].Name, "Write must not reorder its argument")

	ts, md, err := Decode(goldenBytes)
	require.NoError(t, err)
	require.Equal(t, goldenTensors, ts)
	require.Equal(t, map[string]string{"format": "pt"}, md)
}

func TestEmpty(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, nil, nil))
	require.Equal(t, concat([]byte{8, 0, 0, 0, 0, 0, 0, 0}, []byte("{}      ")), buf.Bytes())
	ts, md, err := Decode(buf.Bytes())
	require.NoError(t, err)
	require.Empty(t, ts)
	require.Nil(t, md)
}

func TestRoundTrip(t *testing.T) {
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00001), math.SmallestNonzeroFloat32, math.MaxFloat32, -1.5}
	in := []Tensor{
		{Name: "z.empty", Shape: []int{0, 5}, Data: []float32{}},
		{Name: "layer.0.weight", Shape: []int{2, 4}, Data: specials},
		{Name: "layer.0.bias", Shape: []int{2}, Data: []float32{3, 4}},
		{Name: "scalar", Shape: nil, Data: []float32{7}},
		{Name: `quote"and\slash<&>` + "é", Shape: []int{1, 1, 1}, Data: []float32{9}},
	}
	md := map[string]string{"format": "pt", "note": "line1\nline2 \"quoted\" <html>", "": "empty key"}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, in, md))
	require.Zero(t, binary.LittleEndian.Uint64(buf.Bytes())%8, "header is padded to 8 bytes")

	check := func(ts []Tensor, gotMD map[string]string) {
		require.Equal(t, md, gotMD)
		require.Len(t, ts, len(in))
		byName := map[string]Tensor{}
		for i, x := range ts {
			if i > 0 {
				require.Less(t, ts[i-1].Name, x.Name, "sorted by name")
			}
			byName[x.Name] = x
		}
		for _, want := range in {
			got, ok := byName[want.Name]
			require.True(t, ok, want.Name)
			wantShape := want.Shape
			if wantShape == nil {
				wantShape = []int{}
			}
			require.Equal(t, wantShape, got.Shape, want.Name)
			require.Len(t, got.Data, len(want.Data))
			for i := range want.Data {
				require.Equal(t, math.Float32bits(want.Data[i]), math.Float32bits(got.Data[i]), "%s[%d]", want.Name, i)
			}
		}
	}
	ts, gotMD, err := Decode(buf.Bytes())
	require.NoError(t, err)
	check(ts, gotMD)
	ts, gotMD, err = Read(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	check(ts, gotMD)

	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, WriteFile(path, in, md))
	ts, gotMD, err = ReadFile(path)
	require.NoError(t, err)
	check(ts, gotMD)
	onDisk, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, buf.Bytes(), onDisk)
}

func TestOtherDtypes(t *testing.T) {
	le16 := func(v ...uint16) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint16(b, x)
		}
		return b
	}
	var f64 []byte
	for _, x := range []float64{1.5, -1e-3, math.Inf(-1)} {
		f64 = binary.LittleEndian.AppendUint64(f64, math.Float64bits(x))
	}
	halves := le16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555)
	bf := le16(0x3f80, 0xc040, 0x0000)
	data := concat(bf, halves, f64)
	header := fmt.Sprintf(`{"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},`+
		`"h":{"dtype":"F16","shape":[7],"data_offsets":[6,20]},`+
		`"d":{"dtype":"F64","shape":[3],"data_offsets":[20,%d]}}`, len(data))
	ts, _, err := Decode(file(header, data))
	require.NoError(t, err)
	require.Equal(t, []string{"b", "d", "h"}, []string{ts[0].Name, ts[1].Name, ts[2].Name})
	require.Equal(t, []float32{1, -3, 0}, ts[0].Data)
	require.Equal(t, []float32{1.5, float32(-1e-3), float32(math.Inf(-1))}, ts[1].Data)
	require.Equal(t, []float32{1, -2, 65504, 5.960464477539063e-08, float32(math.Copysign(0, -1)),
		float32(math.Inf(1)), 0.333251953125}, ts[2].Data)
}

func TestHalfExhaustive(t *testing.T) {
	// Every finite half value converts exactly: check against a reference
	// computed with float64 arithmetic.
	for h := range 1 << 16 {
		exp := (h >> 10) & 0x1f
		frac := float64(h & 0x3ff)
		var want float64
		switch {
		case exp == 0x1f:
			continue
		case exp == 0:
			want = frac * math.Pow(2, -24)
		default:
			want = (1 + frac/1024) * math.Pow(2, float64(exp-15))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		got := halfToFloat32(uint16(h))
		require.Equal(t, math.Float64bits(want), math.Float64bits(float64(got)), "half %#04x", h)
	}
	require.True(t, math.IsNaN(float64(halfToFloat32(0x7e00))))
}

// file assembles a safetensors file from a header string and data bytes.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return concat(b, []byte(header), data)
}

func f32s(n int) []byte { return make([]byte, 4*n) }

func TestRejects(t *testing.T) {
	withLen := func(n uint64, rest []byte) []byte {
		return concat(binary.LittleEndian.AppendUint64(nil, n), rest)
	}
	one := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	cases := []struct {
		name  string
		input []byte
		want  string // substring of the error
	}{
		{"empty input", nil, "0 bytes, too short"},
		{"short length", []byte{1, 2, 3}, "3 bytes, too short"},
		{"zero header", withLen(0, nil), "header length is 0"},
		{"header too large", withLen(MaxHeaderSize+1, nil), "exceeds the 100000000-byte limit"},
		{"header past end", withLen(1000, []byte("{}")), "header length 1000 exceeds the 2 bytes"},
		{"huge header length", withLen(math.MaxUint64, []byte("{}")), "limit"},
		{"truncated data", goldenBytes[:len(goldenBytes)-1], `tensor "b": data_offsets [8, 12] run past the 11-byte data section`},
		{"truncated header", goldenBytes[:100], "header length 144 exceeds the 92 bytes"},
		{"not json", file("hello world!", nil), `header starts with 'h'`},
		{"broken json", file(`{"a":{"dtype":"F32",`, nil), `tensor "a"`},
		{"array header", file(`[1,2]`, nil), "want '{'"},
		{"trailing json", file(`{} {}`, nil), "after the closing brace"},
		{"trailing junk", file(`{} xx`, nil), "after the closing brace"},
		{"invalid utf8", file("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"entry not object", file(`{"a":[1]}`, nil), `tensor "a": got '[' at byte 5, want '{'`},
		{"entry is number", file(`{"a":3}`, nil), `tensor "a": got number 3`},
		{"metadata not object", file(`{"__metadata__":"x"}`, nil), `__metadata__: got string "x"`},
		{"metadata non-string value", file(`{"__metadata__":{"k":1}}`, nil), `__metadata__["k"]: got number 1 at byte 21, want a string`},
		{"metadata nested", file(`{"__metadata__":{"k":{"x":"y"}}}`, nil), `want a string`},
		{"metadata duplicate key", file(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `key "k" appears twice`},
		{"metadata twice", file(`{"__metadata__":{},"__metadata__":{}}`, nil), `key "__metadata__" appears twice`},
		{"duplicate name", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32s(2)), `key "a" appears twice`},
		{"unknown dtype", file(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, f32s(1)), `tensor "a": dtype: unknown dtype "F33"`},
		{"unsupported dtype", file(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), `F8_E4M3 is not supported`},
		{"dtype not string", file(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, f32s(1)), `dtype: got number 4 at byte 14, want a string`},
		{"unknown field", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}`, f32s(1)), `unknown field "extra"`},
		{"duplicate field", file(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(1)), `dtype: field appears twice`},
		{"missing dtype", file(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, f32s(1)), `tensor "a": missing dtype`},
		{"missing shape", file(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f32s(1)), `tensor "a": missing shape`},
		{"missing offsets", file(`{"a":{"dtype":"F32","shape":[1]}}`, f32s(1)), `tensor "a": missing data_offsets`},
		{"negative dim", file(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32s(2)), `tensor "a": shape[0]: -2 is negative`},
		{"fractional dim", file(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}`, f32s(2)), `shape[0]: 1.5 is not an integer`},
		{"exponent dim", file(`{"a":{"dtype":"F32","shape":[1e1],"data_offsets":[0,40]}}`, f32s(10)), `shape[0]: 1e1 is not an integer`},
		{"dim too large", file(`{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, f32s(1)), `is not an integer in`},
		{"shape not array", file(`{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}`, f32s(2)), `shape: got number 2 at byte`},
		{"dim is string", file(`{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}`, f32s(2)), `shape[0]: got string "2"`},
		{"one offset", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, f32s(1)), `data_offsets[1]: got ']' at byte 49, want ','`},
		{"three offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, f32s(2)), `want exactly 2 offsets`},
		{"negative offset", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, f32s(1)), `data_offsets[0]: -4 is negative`},
		{"offsets reversed", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, f32s(1)), `tensor "a": data_offsets [4, 0] end before they begin`},
		{"offset past end", file(one, f32s(1)), `tensor "a": data_offsets [0, 8] run past the 4-byte data section (file bytes 62 to 66)`},
		{"huge offset", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}}`, f32s(1)), `run past`},
		{"shape disagrees", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32s(2)), `tensor "a": data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12`},
		{"shape overflow", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil), `element count overflows`},
		{"byte overflow", file(`{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}`, nil), `byte count overflows`},
		{"wrap-around product", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), `overflows`},
		{"gap at start", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32s(2)), `data bytes [0, 4) belong to no tensor (gap before tensor "a"`},
		{"gap between", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32s(3)), `data bytes [4, 8) belong to no tensor (gap before tensor "b"`},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32s(2)), `tensor "b": data_offsets [4, 8] overlap tensor "a", which ends at 8`},
		{"same range twice", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(1)), `tensor "b": data_offsets [0, 4] overlap tensor "a"`},
		{"trailing bytes", file(one, f32s(3)), `4 trailing bytes after the last tensor: tensors cover data bytes [0, 8) of 12`},
		{"empty name", file(`{"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(1)), `tensor with an empty name`},
		{"data but no tensors", file(`{}`, f32s(1)), `4 trailing bytes`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			if strconv.IntSize == 32 && strings.Contains(want, "overflows") {
				// A dimension of 2^32 or more does not fit an int here: it is
				// rejected as a dimension before any product is formed.
				want = "is not an integer in [0, 2147483647]"
			}
			_, _, err := Decode(c.input)
			require.Error(t, err)
			require.Contains(t, err.Error(), want)
			require.True(t, strings.HasPrefix(err.Error(), "safetensors: "), err.Error())

			_, _, rerr := Read(bytes.NewReader(c.input))
			require.Error(t, rerr)
			require.Contains(t, rerr.Error(), want)

			path := filepath.Join(t.TempDir(), "bad.safetensors")
			require.NoError(t, os.WriteFile(path, c.input, 0o644))
			_, _, ferr := ReadFile(path)
			require.Error(t, ferr)
			require.Contains(t, ferr.Error(), path)
			require.Contains(t, ferr.Error(), want)
		})
	}
}

func TestZeroSizedTensorsShareOffsets(t *testing.T) {
	h := `{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"F32","shape":[2,0],"data_offsets":[4,4]}}`
	ts, _, err := Decode(file(h, f32s(1)))
	require.NoError(t, err)
	require.Len(t, ts, 3)
	require.Equal(t, []int{2, 0}, ts[2].Shape)
}

func TestAcceptsWhitespaceAndUnpaddedHeader(t *testing.T) {
	h := " \n"
	ts, _, err := Decode(file(`{ "a" : { "shape" : [ 1 ], "data_offsets" : [ 0 , 4 ], "dtype" : "F32" } }`+h, f32s(1)))
	require.NoError(t, err)
	require.Equal(t, []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{0}, Dtype: F32}}, ts)
}

func TestWriteRejects(t *testing.T) {
	cases := []struct {
		name string
		ts   []Tensor
		md   map[string]string
		want string
	}{
		{"empty name", []Tensor{{Name: "", Shape: []int{1}, Data: []float32{1}}}, nil, "empty name"},
		{"reserved name", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, nil, "reserved"},
		{"duplicate", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{2}}}, nil, `two tensors named "a"`},
		{"negative dim", []Tensor{{Name: "a", Shape: []int{-1}, Data: nil}}, nil, "negative dimension"},
		{"size mismatch", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: []float32{1}}}, nil, `tensor "a": shape [2 2] needs 4 values, got 1`},
		{"overflow", []Tensor{{Name: "a", Shape: []int{math.MaxInt, 3}, Data: nil}}, nil, "overflows"},
		{"bad utf8 name", []Tensor{{Name: "\xff", Shape: []int{}, Data: []float32{1}}}, nil, "not valid UTF-8"},
		{"bad utf8 metadata", nil, map[string]string{"k": "\xfe"}, "not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, c.ts, c.md)
			require.ErrorContains(t, err, c.want)
			require.Zero(t, buf.Len(), "nothing written on validation error")

			dir := t.TempDir()
			path := filepath.Join(dir, "x.safetensors")
			err = WriteFile(path, c.ts, c.md)
			require.ErrorContains(t, err, c.want)
			require.ErrorContains(t, err, path)
			requireDirEmpty(t, dir)
		})
	}
}

func requireDirEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	require.Empty(t, names, "files left in %s", dir)
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.after {
		n := f.after
		f.after = 0
		return n, errors.New("disk full")
	}
	f.after -= len(p)
	return len(p), nil
}

func TestWriteErrorPropagates(t *testing.T) {
	big := []Tensor{{Name: "w", Shape: []int{100000}, Data: make([]float32, 100000)}}
	for _, after := range []int{0, 4, 8, 20, 100, 50000} {
		err := Write(&failWriter{after: after}, big, nil)
		require.ErrorContains(t, err, "disk full", "after %d", after)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	require.NoError(t, WriteFile(path, goldenTensors, map[string]string{"format": "pt"}))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, goldenBytes, b)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "no temporary file left behind")
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o644), st.Mode().Perm())
	}

	// Overwrite replaces the old contents completely.
	require.NoError(t, WriteFile(path, nil, nil))
	ts, md, err := ReadFile(path)
	require.NoError(t, err)
	require.Empty(t, ts)
	require.Nil(t, md)

	// A missing directory fails without leaving anything.
	err = WriteFile(filepath.Join(dir, "nope", "m.safetensors"), goldenTensors, nil)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, filepath.Join(dir, "nope", "m.safetensors"))

	// Renaming over a directory fails after the data was written: the
	// temporary file must be removed.
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.MkdirAll(filepath.Join(sub, "taken", "child"), 0o755))
	err = WriteFile(filepath.Join(sub, "taken"), goldenTensors, nil)
	require.Error(t, err)
	ents, err = os.ReadDir(sub)
	require.NoError(t, err)
	require.Len(t, ents, 1, "temporary file removed after a failed rename")
}

func TestWriteFileReadOnlyDir(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("permissions are not enforced for this user")
	}
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o555))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	err := WriteFile(filepath.Join(dir, "m.safetensors"), goldenTensors, nil)
	require.ErrorIs(t, err, fs.ErrPermission)
	requireDirEmpty(t, dir)
}

func TestReadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.safetensors")
	_, _, err := ReadFile(path)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, path)
}

// errReader fails after returning its data.
type errReader struct{ r io.Reader }

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestReadPropagatesReaderErrors(t *testing.T) {
	for _, n := range []int{0, 3, 8, 50, len(goldenBytes)} {
		_, _, err := Read(errReader{bytes.NewReader(goldenBytes[:n])})
		require.ErrorContains(t, err, "connection reset", "after %d bytes", n)
	}
}

// TestReadDoesNotTrustHeaderLength checks that a stream claiming a header
// just under the limit, but holding only a few bytes, is rejected without
// allocating anything near the claimed size.
func TestReadDoesNotTrustHeaderLength(t *testing.T) {
	input := concat(binary.LittleEndian.AppendUint64(nil, MaxHeaderSize), []byte(`{"a":1}`))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := Read(bytes.NewReader(input))
	runtime.ReadMemStats(&after)
	require.ErrorContains(t, err, "header length 100000000 exceeds the 7 bytes")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

func FuzzDecode(f *testing.F) {
	f.Add(goldenBytes)
	var buf bytes.Buffer
	_ = Write(&buf, nil, nil)
	f.Add(buf.Bytes())
	buf.Reset()
	_ = Write(&buf, []Tensor{
		{Name: "0.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "0.bias", Shape: []int{2}, Data: []float32{-1, 1}},
		{Name: "e", Shape: []int{0}, Data: nil},
	}, map[string]string{"format": "pt", "k": "v"})
	f.Add(buf.Bytes())
	f.Add(goldenBytes[:20])
	f.Add(goldenBytes[:len(goldenBytes)-2])
	f.Add(file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, []byte{0, 0x3c, 0, 0xc0}))
	f.Add(file(`{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F64","shape":[1],"data_offsets":[2,10]}}`, make([]byte, 10)))
	f.Add(file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil))
	f.Add(file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(1)))
	f.Add(file(`{"__metadata__":{"a":"b"},"x":{"dtype":"F32","shape":[-1],"data_offsets":[4,0]}}`, f32s(1)))
	f.Add(file(`[[[[[[[[[[[[[[[[[[`, nil))
	f.Add(one(I64, 2, le(int64(3), int64(1<<24+1))))
	f.Add(one(U64, 1, le(uint64(1)<<63)))
	f.Add(one(I32, 2, le(int32(-1), int32(math.MaxInt32))))
	f.Add(one(U32, 1, le(uint32(7))))
	f.Add(one(I16, 1, le(int16(-2))))
	f.Add(one(U16, 1, le(uint16(65535))))
	f.Add(one(I8, 2, []byte{0x80, 1}))
	f.Add(one(U8, 3, []byte{0, 1, 255}))
	f.Add(one(BOOL, 2, []byte{1, 2}))
	f.Add(one(F64, 2, le(1e300, math.NaN())))
	f.Add(file(`{"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, concat(le(int64(5)), f32s(1))))
	f.Add(file(`{"a\u00e9\ud83d\ude00":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}`, []byte{1}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, md, err := Decode(b)
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "safetensors: "))
			return
		}
		// Output is bounded by the input: at most one float per data byte
		// (U8, I8 and BOOL widen to F32) and one dimension per header byte.
		var values, dims int
		for _, x := range ts {
			values += len(x.Data)
			dims += len(x.Shape)
		}
		require.LessOrEqual(t, values, len(b))
		require.LessOrEqual(t, dims, len(b))
		// Anything accepted re-encodes and decodes to the same tensors.
		var out bytes.Buffer
		require.NoError(t, Write(&out, ts, md))
		ts2, md2, err := Decode(out.Bytes())
		require.NoError(t, err)
		if len(md) == 0 {
			require.Empty(t, md2)
		} else {
			require.Equal(t, md, md2)
		}
		require.Len(t, ts2, len(ts))
		for i := range ts {
			require.Equal(t, ts[i].Name, ts2[i].Name)
			require.Equal(t, ts[i].Dtype, ts2[i].Dtype, "every dtype read is written back as itself")
			require.Equal(t, ts[i].Shape, ts2[i].Shape)
			for j := range ts[i].Data {
				require.Equal(t, math.Float32bits(ts[i].Data[j]), math.Float32bits(ts2[i].Data[j]))
			}
		}
	})
}
