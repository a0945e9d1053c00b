package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

func idxBytes(t testing.TB, x *tensor.Tensor, typ IDXType, gz bool) []byte {
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	require.NoError(t, WriteIDX(w, x, typ))
	if gz {
		require.NoError(t, zw.Close())
	}
	return buf.Bytes()
}

func TestIDXRoundTrip(t *testing.T) {
	cases := []struct {
		typ  IDXType
		vals []float32
	}{
		{IDXUint8, []float32{0, 1, 127, 128, 255, 7}},
		{IDXInt8, []float32{-128, -1, 0, 1, 127, 5}},
		{IDXInt16, []float32{-32768, -300, 0, 300, 32767, 9}},
		{IDXInt32, []float32{-2147483648, -70000, 0, 70000, 16777216, 3}},
		{IDXFloat32, []float32{-1.5, float32(math.Pi), 0, 1e-30, 3e38, float32(math.Inf(1))}},
		{IDXFloat64, []float32{-1.5, float32(math.Pi), 0, 1e-30, 3e38, -2}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		for _, gz := range []bool{false, true} {
			name := c.typ.String()
			if gz {
				name += ".gz"
			}
			t.Run(name, func(t *testing.T) {
				x := tensor.New(append([]float32(nil), c.vals...), 2, 3)
				b := idxBytes(t, x, c.typ, gz)
				if !gz {
					require.Len(t, b, 4+2*4+6*c.typ.Size())
					require.Equal(t, []byte{0, 0, byte(c.typ), 2}, b[:4])
				}
				got, typ, err := ReadIDX(bytes.NewReader(b), name)
				require.NoError(t, err)
				require.Equal(t, c.typ, typ)
				require.Equal(t, []int{2, 3}, got.Shape())
				require.Equal(t, c.vals, got.Data())

				p := filepath.Join(dir, name)
				require.NoError(t, os.WriteFile(p, b, 0o644))
				got, typ, err = ReadIDXFile(p)
				require.NoError(t, err)
				require.Equal(t, c.typ, typ)
				require.Equal(t, c.vals, got.Data())
			})
		}
	}
}

func TestIDXEmptyAndRank(t *testing.T) {
	b := idxBytes(t, tensor.Zeros(0, 5), IDXUint8, false)
	x, _, err := ReadIDX(bytes.NewReader(b), "empty")
	require.NoError(t, err)
	require.Equal(t, []int{0, 5}, x.Shape())
	x, _, err = ReadIDX(bytes.NewReader(idxBytes(t, tensor.Zeros(1, 1, 1, 1, 2), IDXInt16, true)), "r5")
	require.NoError(t, err)
	require.Equal(t, []int{1, 1, 1, 1, 2}, x.Shape())
}

func TestWriteIDXRejects(t *testing.T) {
	for _, c := range []struct {
		x   *tensor.Tensor
		typ IDXType
		msg string
	}{
		{tensor.New([]float32{256}, 1), IDXUint8, "value 256"},
		{tensor.New([]float32{-1}, 1), IDXUint8, "value -1"},
		{tensor.New([]float32{0.5}, 1), IDXInt16, "value 0.5"},
		{tensor.New([]float32{128}, 1), IDXInt8, "value 128"},
		{tensor.New([]float32{float32(math.NaN())}, 1), IDXInt32, "value NaN"},
		{tensor.Scalar(1), IDXUint8, "rank 0"},
		{tensor.New([]float32{1}, 1), IDXType(7), "unknown element type"},
	} {
		var buf bytes.Buffer
		err := WriteIDX(&buf, c.x, c.typ)
		require.ErrorContains(t, err, c.msg)
		require.Zero(t, buf.Len(), "nothing written on error")
	}
}

func header(typ byte, dims ...uint32) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return b
}

func gzBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestIDXMalformed(t *testing.T) {
	good := idxBytes(t, tensor.Zeros(4, 3), IDXUint8, false)
	goodGz := gzBytes(good)
	corruptGz := append([]byte(nil), goodGz...)
	corruptGz[len(corruptGz)-6] ^= 0xff // CRC
	cases := []struct {
		name string
		in   []byte
		msgs []string
	}{
		{"empty", nil, []string{"offset 0", "file ends early", "header"}},
		{"short header", []byte{0, 0, 8}, []string{"offset 3", "file ends early"}},
		{"bad magic", []byte{1, 2, 8, 1, 0, 0, 0, 0}, []string{"offset 0", "bad magic 01 02"}},
		{"bad type", []byte{0, 0, 0x0A, 1, 0, 0, 0, 0}, []string{"offset 2", "unknown element type 0x0a"}},
		{"rank 0", []byte{0, 0, 8, 0}, []string{"offset 3", "rank 0"}},
		{"truncated dims", []byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0}, []string{"offset 10", "3 dimension sizes"}},
		{"truncated data", good[:len(good)-2], []string{"need 12 bytes of data but the file has 10"}},
		{"truncated data gz", gzBytes(good[:len(good)-2]), []string{"offset 22", "data truncated", "up to offset 24"}},
		{"trailing data", append(append([]byte(nil), good...), 9), []string{"offset 24", "unexpected data after"}},
		{"overflow", header(0x0E, 0xffffffff, 0xffffffff, 0xffffffff), []string{"offset 4", "declare more than 268435456 elements", "1073741824 bytes of float32"}},
		{"exceeds cap", header(0x08, 1<<16, 1<<16), []string{"offset 8", "dimensions [65536 65536] of uint8 declare more than 268435456 elements"}},
		{"exceeds cap float32", header(0x08, 1<<14, 1<<14+1), []string{"offset 8", "declare more than 268435456 elements"}},
		// An empty array with a huge dimension: its shape would not fit an
		// int where int has 32 bits.
		{"huge empty", header(0x08, 0, 0xffffffff), []string{"offset 8", "[0 4294967295]", "declare more than"}},
		{"huge empty 2^31", header(0x08, 1<<31, 0), []string{"offset 4", "declare more than"}},
		{"exceeds file", header(0x0D, 1000, 1000), []string{"offset 12", "need 4000000 bytes", "has 0 after the header"}},
		{"exceeds stream gz", gzBytes(append(header(0x0D, 1000, 1000), 1, 2, 3)), []string{"offset 15", "data truncated"}},
		{"corrupt gzip", corruptGz, []string{"corrupt gzip"}},
		{"bad gzip header", []byte{0x1f, 0x8b, 1, 2, 3}, []string{"bad gzip header"}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, "case.idx")
			require.NoError(t, os.WriteFile(p, c.in, 0o644))
			_, _, err := ReadIDXFile(p)
			require.Error(t, err)
			var fe *FormatError
			require.True(t, errors.As(err, &fe), "want a *FormatError, got %T: %v", err, err)
			require.Equal(t, p, fe.File)
			require.Contains(t, err.Error(), p)
			for _, m := range c.msgs {
				require.Contains(t, err.Error(), m)
			}
			// The stream reader (size unknown) fails too.
			_, _, err = ReadIDX(bytes.NewReader(c.in), "stream")
			require.ErrorContains(t, err, "stream")
		})
	}
}

// A gzip bomb: a small file whose header promises 1 GiB (the cap) and
// whose data is short. The reader must fail without allocating the
// promised size.
func TestIDXNoHugeAllocation(t *testing.T) {
	in := gzBytes(append(header(0x08, 1<<14, 1<<14), make([]byte, 1000)...))
	var before, after runtimeMem
	before.read()
	_, _, err := ReadIDX(bytes.NewReader(in), "bomb")
	after.read()
	require.ErrorContains(t, err, "data truncated")
	require.Less(t, after.total-before.total, uint64(8<<20), "allocated %d bytes for a 1000-byte payload", after.total-before.total)
}

// zeroBomb returns a ~2 MB gzip file that honestly holds an IDX array of
// 2^31 uint8 zeros (2 GiB), as 2048 concatenated gzip members of 1 MiB
// each, which gzip readers read as one stream.
func zeroBomb(t *testing.T) []byte {
	const mib = 1 << 20
	first := gzBytes(append(header(0x08, 1<<15, 1<<16), make([]byte, mib)...))
	rest := gzBytes(make([]byte, mib))
	out := append([]byte(nil), first...)
	for range 2047 {
		out = append(out, rest...)
	}
	return out
}

// A 2 MB gzip file whose header honestly declares 2 GiB of uint8 (8 GiB
// as float32) fails from its header, before any data is decompressed.
func TestIDXHonestBombRejectedFromHeader(t *testing.T) {
	in := zeroBomb(t)
	require.Less(t, len(in), 3<<20)
	p := filepath.Join(t.TempDir(), "bomb.idx.gz")
	require.NoError(t, os.WriteFile(p, in, 0o644))
	var before, after runtimeMem
	before.read()
	_, _, err := ReadIDXFile(p)
	after.read()
	require.ErrorContains(t, err, p+": offset 8: dimensions [32768 65536] of uint8 declare more than 268435456 elements")
	require.Less(t, after.total-before.total, uint64(4<<20), "allocated %d bytes", after.total-before.total)

	// A smaller cap applies the same way; a larger one lets a big enough
	// file through (not tried here: it would need 8 GiB).
	_, _, err = ReadIDX(bytes.NewReader(in), "bomb", LimitIDXBytes(1<<20))
	require.ErrorContains(t, err, "declare more than 262144 elements, the cap (1048576 bytes")
}

// LimitIDXBytes bounds the decoded tensor: a file exactly at the cap
// reads, one element more does not, and reading an honest stream
// allocates at most about twice the tensor's size.
func TestIDXLimitBytes(t *testing.T) {
	const n = 1 << 20 // elements: a 4 MiB tensor
	x := tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = float32(i % 251)
	}
	for _, gz := range []bool{false, true} {
		in := idxBytes(t, x, IDXUint8, gz)
		var before, after runtimeMem
		before.read()
		got, _, err := ReadIDX(bytes.NewReader(in), "ok", LimitIDXBytes(4*n))
		after.read()
		require.NoError(t, err)
		require.Equal(t, x.Data(), got.Data())
		used := after.total - before.total
		require.Less(t, used, uint64(4*n*5/2), "gzip %v: allocated %d bytes for a %d-byte tensor", gz, used, 4*n)

		_, _, err = ReadIDX(bytes.NewReader(in), "small", LimitIDXBytes(4*n-1))
		require.ErrorContains(t, err, "small: offset 4: dimensions [1048576] of uint8 declare more than 1048575 elements, the cap (4194303 bytes")
		// Zero or a negative cap means the default.
		_, _, err = ReadIDX(bytes.NewReader(in), "default", LimitIDXBytes(0))
		require.NoError(t, err)
	}
	// A raw file whose size was checked gets its tensor in one allocation.
	p := filepath.Join(t.TempDir(), "raw.idx")
	require.NoError(t, os.WriteFile(p, idxBytes(t, x, IDXFloat64, false), 0o644))
	var before, after runtimeMem
	before.read()
	got, _, err := ReadIDXFile(p)
	after.read()
	require.NoError(t, err)
	require.Equal(t, x.Data(), got.Data())
	require.Less(t, after.total-before.total, uint64(4*n+1<<20))
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(f, tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3), IDXUint8, false))
	f.Add(idxBytes(f, tensor.New([]float32{1, -2, 3, 4}, 4), IDXInt16, true))
	f.Add(idxBytes(f, tensor.New([]float32{1.5, 2}, 1, 2), IDXFloat64, false))
	f.Add(header(0x0C, 2, 2))
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 1, 7})
	f.Add(header(0x08, 0, 0xffffffff))
	f.Add(gzBytes(header(0x0E, 1<<14, 1<<12)))
	f.Fuzz(func(t *testing.T, in []byte) {
		x, typ, err := ReadIDX(bytes.NewReader(in), "fuzz", LimitIDXBytes(64<<20))
		if err != nil {
			require.ErrorContains(t, err, "fuzz")
			return
		}
		n := 1
		for _, d := range x.Shape() {
			n *= d
		}
		require.Equal(t, n, x.Size())
		require.NotZero(t, typ.Size())
		// What reads back writes back to the same array (NaNs aside).
		if typ != IDXFloat32 && typ != IDXFloat64 {
			var buf bytes.Buffer
			require.NoError(t, WriteIDX(&buf, x, typ))
			y, typ2, err := ReadIDX(&buf, "again")
			require.NoError(t, err)
			require.Equal(t, typ, typ2)
			require.Equal(t, x.Data(), y.Data())
		}
	})
}
