package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/shoshin-ml/shoshin/tensor"
)

// IDXType is the element type of an IDX file, as coded in its third byte.
type IDXType byte

// The IDX element types.
const (
	IDXUint8   IDXType = 0x08
	IDXInt8    IDXType = 0x09
	IDXInt16   IDXType = 0x0B
	IDXInt32   IDXType = 0x0C
	IDXFloat32 IDXType = 0x0D
	IDXFloat64 IDXType = 0x0E
)

// MaxIDXBytes caps the size of the array data of an IDX file this package
// reads (2 GiB), so a corrupt header or a gzip bomb cannot make it
// allocate without bound.
const MaxIDXBytes = 2 << 30

// String returns the type's name, e.g. "uint8".
func (t IDXType) String() string {
	switch t {
	case IDXUint8:
		return "uint8"
	case IDXInt8:
		return "int8"
	case IDXInt16:
		return "int16"
	case IDXInt32:
		return "int32"
	case IDXFloat32:
		return "float32"
	case IDXFloat64:
		return "float64"
	}
	return fmt.Sprintf("IDXType(0x%02x)", byte(t))
}

// Size returns the size of one element in bytes, or 0 for an unknown type.
func (t IDXType) Size() int {
	switch t {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

// idxArray is a parsed IDX file before conversion to float32.
type idxArray struct {
	typ  IDXType
	dims []int
	raw  []byte // big-endian elements
	off  int64  // offset of raw in the (decompressed) stream
}

// ReadIDX reads an IDX file from r and returns its array as a float32
// tensor of the file's dimensions, with the file's element type. The data
// may be raw or gzip-compressed (recognised by its magic bytes). name is
// used in error messages. Values of int32 and float64 files are rounded to
// the nearest float32.
//
// Malformed input (bad magic, unknown type, zero rank, dimensions too
// large, truncated or trailing data, corrupt gzip) gives a *FormatError
// naming the offset; nothing is allocated beyond what the input holds, up
// to MaxIDXBytes.
func ReadIDX(r io.Reader, name string) (*tensor.Tensor, IDXType, error) {
	a, err := readIDX(r, name, -1)
	if err != nil {
		return nil, 0, err
	}
	return a.tensor(), a.typ, nil
}

// ReadIDXFile reads the IDX file at path (raw or gzip-compressed); see
// ReadIDX.
func ReadIDXFile(path string) (*tensor.Tensor, IDXType, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	a, err := readIDX(f, path, size)
	if err != nil {
		return nil, 0, err
	}
	return a.tensor(), a.typ, nil
}

// readIDX parses an IDX stream. size is the stream's length when known
// (raw files), or -1; it lets a header that promises more than the file
// holds fail before any allocation.
func readIDX(r io.Reader, name string, size int64) (*idxArray, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, offsetErr(name, 0, "bad gzip header: %v", err)
		}
		defer zr.Close()
		src, size = zr, -1
	}
	var hdr [4]byte
	if n, err := io.ReadFull(src, hdr[:]); err != nil {
		return nil, readErr(name, int64(n), err, "the 4-byte IDX header")
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, offsetErr(name, 0, "bad magic %02x %02x %02x %02x: an IDX file starts with two zero bytes", hdr[0], hdr[1], hdr[2], hdr[3])
	}
	typ := IDXType(hdr[2])
	es := typ.Size()
	if es == 0 {
		return nil, offsetErr(name, 2, "unknown element type 0x%02x (want 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64)", hdr[2])
	}
	rank := int(hdr[3])
	if rank == 0 {
		return nil, offsetErr(name, 3, "rank 0: an IDX array needs at least one dimension")
	}
	dbuf := make([]byte, 4*rank)
	if n, err := io.ReadFull(src, dbuf); err != nil {
		return nil, readErr(name, 4+int64(n), err, fmt.Sprintf("%d dimension sizes after the header", rank))
	}
	off := int64(4 + 4*rank)
	dims := make([]int, rank)
	need := int64(es)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(dbuf[4*i:]))
		dims[i] = int(d)
		if d > 0 && need > MaxIDXBytes/d {
			return nil, offsetErr(name, int64(4+4*i), "dimensions %v need more than %d bytes of %s data (the limit)", dimsPrefix(dbuf, rank), MaxIDXBytes, typ)
		}
		need *= d
	}
	if size >= 0 && need > size-off {
		return nil, offsetErr(name, off, "dimensions %v of %s need %d bytes of data but the file has %d after the header", dims, typ, need, size-off)
	}
	raw, err := readBounded(src, int(need))
	if err != nil {
		return nil, readErr(name, off+int64(len(raw)), err, "array data")
	}
	if int64(len(raw)) < need {
		return nil, offsetErr(name, off+int64(len(raw)), "data truncated: dimensions %v of %s need %d bytes up to offset %d", dims, typ, need, off+need)
	}
	var one [1]byte
	switch n, err := io.ReadFull(src, one[:]); {
	case n > 0:
		return nil, offsetErr(name, off+need, "unexpected data after the end of the %v array", dims)
	case err != io.EOF:
		return nil, readErr(name, off+need, err, "end of file")
	}
	return &idxArray{typ: typ, dims: dims, raw: raw, off: off}, nil
}

// dimsPrefix decodes the dimension sizes present in b, for error messages.
func dimsPrefix(b []byte, rank int) []uint32 {
	out := make([]uint32, rank)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return out
}

// readBounded reads up to need bytes from r, growing its buffer only as
// data arrives (in chunks of at most 1 MiB at first, then doubling), so a
// short stream never causes a large allocation. It stops early at EOF.
func readBounded(r io.Reader, need int) ([]byte, error) {
	buf := make([]byte, 0, min(need, 1<<20))
	for len(buf) < need {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(need, 2*cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// readErr turns a read failure at off into a FormatError.
func readErr(name string, off int64, err error, want string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return offsetErr(name, off, "file ends early: want %s", want)
	}
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		return offsetErr(name, off, "corrupt gzip data: %v", err)
	}
	return &FormatError{File: name, Offset: off, Msg: fmt.Sprintf("reading %s: %v", want, err)}
}

// tensor converts the array to float32.
func (a *idxArray) tensor() *tensor.Tensor {
	n := len(a.raw) / a.typ.Size()
	out := make([]float32, n)
	decodeIDX(out, a.raw, a.typ)
	return tensor.New(out, a.dims...)
}

func decodeIDX(dst []float32, raw []byte, typ IDXType) {
	switch typ {
	case IDXUint8:
		raw = raw[:len(dst)]
		for i, b := range raw {
			dst[i] = float32(b)
		}
	case IDXInt8:
		raw = raw[:len(dst)]
		for i, b := range raw {
			dst[i] = float32(int8(b))
		}
	case IDXInt16:
		for i := range dst {
			dst[i] = float32(int16(binary.BigEndian.Uint16(raw[2*i:])))
		}
	case IDXInt32:
		for i := range dst {
			dst[i] = float32(int32(binary.BigEndian.Uint32(raw[4*i:])))
		}
	case IDXFloat32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.BigEndian.Uint32(raw[4*i:]))
		}
	case IDXFloat64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.BigEndian.Uint64(raw[8*i:])))
		}
	}
}

// WriteIDX writes t as an uncompressed IDX file of element type typ (wrap
// w in a gzip.Writer for a .gz file). It returns an error if typ is
// unknown, t has rank 0 or more than 255 dimensions, or a value cannot be
// stored exactly in typ (a fraction or an out-of-range value for an
// integer type); nothing is written in that case.
func WriteIDX(w io.Writer, t *tensor.Tensor, typ IDXType) error {
	es := typ.Size()
	if es == 0 {
		return fmt.Errorf("data.WriteIDX: unknown element type 0x%02x", byte(typ))
	}
	shape := t.Shape()
	if len(shape) == 0 || len(shape) > 255 {
		return fmt.Errorf("data.WriteIDX: rank %d, want 1 to 255", len(shape))
	}
	for _, d := range shape {
		if d > math.MaxUint32 {
			return fmt.Errorf("data.WriteIDX: dimension %d does not fit in 32 bits", d)
		}
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	switch typ {
	case IDXUint8:
		lo, hi = 0, math.MaxUint8
	case IDXInt8:
		lo, hi = math.MinInt8, math.MaxInt8
	case IDXInt16:
		lo, hi = math.MinInt16, math.MaxInt16
	case IDXInt32:
		lo, hi = math.MinInt32, math.MaxInt32
	}
	isInt := typ != IDXFloat32 && typ != IDXFloat64
	if isInt {
		for i, v := range t.Data() {
			f := float64(v)
			if f != math.Trunc(f) || f < lo || f > hi {
				return fmt.Errorf("data.WriteIDX: value %v at flat index %d does not fit %s", v, i, typ)
			}
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write([]byte{0, 0, byte(typ), byte(len(shape))})
	var b [8]byte
	for _, d := range shape {
		binary.BigEndian.PutUint32(b[:], uint32(d))
		bw.Write(b[:4])
	}
	for _, v := range t.Data() {
		switch typ {
		case IDXUint8, IDXInt8:
			bw.WriteByte(byte(int32(v)))
		case IDXInt16:
			binary.BigEndian.PutUint16(b[:], uint16(int16(v)))
			bw.Write(b[:2])
		case IDXInt32:
			binary.BigEndian.PutUint32(b[:], uint32(int32(v)))
			bw.Write(b[:4])
		case IDXFloat32:
			binary.BigEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:4])
		case IDXFloat64:
			binary.BigEndian.PutUint64(b[:], math.Float64bits(float64(v)))
			bw.Write(b[:8])
		}
	}
	return bw.Flush()
}
