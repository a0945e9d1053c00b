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

// MaxIDXBytes is the default cap on the size of the float32 tensor that
// ReadIDX and ReadIDXFile return: 1 GiB, that is 268,435,456 elements at
// 4 bytes each, whatever the file's element type. A header that declares
// more is rejected before any data is read; LimitIDXBytes sets another cap.
const MaxIDXBytes int64 = 1 << 30

// IDXOption configures ReadIDX and ReadIDXFile.
type IDXOption func(*idxConfig)

type idxConfig struct {
	maxBytes int64
}

// LimitIDXBytes caps the size of the float32 tensor a read may return at
// n bytes (4 bytes per element) instead of MaxIDXBytes, e.g. to read a
// larger dataset or to accept only small files from an untrusted source.
// n <= 0 means MaxIDXBytes. The cap is checked against the header's
// dimensions before any data is read.
func LimitIDXBytes(n int64) IDXOption {
	return func(c *idxConfig) { c.maxBytes = n }
}

func newIDXConfig(opts []IDXOption) idxConfig {
	c := idxConfig{maxBytes: MaxIDXBytes}
	for _, o := range opts {
		o(&c)
	}
	if c.maxBytes <= 0 {
		c.maxBytes = MaxIDXBytes
	}
	return c
}

// maxElems returns the most elements a read may return: the byte cap over
// 4, and never more than a []float32 can hold on this platform.
func (c idxConfig) maxElems() int64 {
	return min(c.maxBytes/4, int64(math.MaxInt/4))
}

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

// idxStream is an IDX stream whose header has been read.
type idxStream struct {
	name string
	src  io.Reader
	zr   *gzip.Reader // non-nil for a gzip-compressed stream
	size int64        // length of the raw stream when known, or -1
	typ  IDXType
	dims []int
	n    int   // number of elements, within the configured cap
	off  int64 // offset of the array data in the (decompressed) stream
}

// ReadIDX reads an IDX file from r and returns its array as a float32
// tensor of the file's dimensions, with the file's element type. The data
// may be raw or gzip-compressed (recognised by its magic bytes). name is
// used in error messages. Values of int32 and float64 files are rounded to
// the nearest float32.
//
// Malformed input (bad magic, unknown type, zero rank, dimensions over
// the cap, truncated or trailing data, corrupt gzip) gives a *FormatError
// naming the offset. The tensor may take at most MaxIDXBytes (see
// LimitIDXBytes), checked from the header before any data is read, and
// the result grows only as data arrives, so a stream that ends early
// costs no more than the data it held: a read allocates less than three
// times the size of the tensor it returns, plus about 200 KiB of buffers.
func ReadIDX(r io.Reader, name string, opts ...IDXOption) (*tensor.Tensor, IDXType, error) {
	return readIDXTensor(r, name, -1, opts)
}

// ReadIDXFile reads the IDX file at path (raw or gzip-compressed); see
// ReadIDX. The size of a raw file is checked against its header before
// the tensor is allocated.
func ReadIDXFile(path string, opts ...IDXOption) (*tensor.Tensor, IDXType, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return readIDXTensor(f, path, fileSize(f), opts)
}

func readIDXTensor(r io.Reader, name string, size int64, opts []IDXOption) (*tensor.Tensor, IDXType, error) {
	s, err := openIDX(r, name, size, nil, newIDXConfig(opts))
	if err != nil {
		return nil, 0, err
	}
	defer s.close()
	x, err := s.readData()
	if err != nil {
		return nil, 0, err
	}
	return tensor.New(x, s.dims...), s.typ, nil
}

// fileSize returns the size of f if it is a regular file, or -1.
func fileSize(f *os.File) int64 {
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		return st.Size()
	}
	return -1
}

// openIDX reads the header of an IDX stream and checks its dimensions
// against the cap in cfg. size is the stream's length when known (raw
// files), or -1; it lets a header that promises more than the file holds
// fail before any allocation. If tee is not nil, it receives every byte
// of the decompressed stream that is read.
func openIDX(r io.Reader, name string, size int64, tee io.Writer, cfg idxConfig) (_ *idxStream, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	s := &idxStream{name: name, src: br, size: size}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, offsetErr(name, 0, "bad gzip header: %v", err)
		}
		s.zr, s.src, s.size = zr, zr, -1
	}
	if tee != nil {
		s.src = io.TeeReader(s.src, tee)
	}
	var hdr [4]byte
	if n, err := io.ReadFull(s.src, hdr[:]); err != nil {
		return nil, readErr(name, int64(n), err, "the 4-byte IDX header")
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, offsetErr(name, 0, "bad magic %02x %02x %02x %02x: an IDX file starts with two zero bytes", hdr[0], hdr[1], hdr[2], hdr[3])
	}
	s.typ = IDXType(hdr[2])
	es := int64(s.typ.Size())
	if es == 0 {
		return nil, offsetErr(name, 2, "unknown element type 0x%02x (want 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64)", hdr[2])
	}
	rank := int(hdr[3])
	if rank == 0 {
		return nil, offsetErr(name, 3, "rank 0: an IDX array needs at least one dimension")
	}
	dbuf := make([]byte, 4*rank)
	if n, err := io.ReadFull(s.src, dbuf); err != nil {
		return nil, readErr(name, 4+int64(n), err, fmt.Sprintf("%d dimension sizes after the header", rank))
	}
	s.off = int64(4 + 4*rank)
	// Element counts stay in int64 and within maxElems, so nothing below
	// overflows an int, even where int has 32 bits.
	maxElems := cfg.maxElems()
	s.dims = make([]int, rank)
	n := int64(1)
	for i := range s.dims {
		d := int64(binary.BigEndian.Uint32(dbuf[4*i:]))
		if d > maxElems || (d > 0 && n > maxElems/d) {
			return nil, offsetErr(name, int64(4+4*i), "dimensions %v of %s declare more than %d elements, the cap (%d bytes of float32; see LimitIDXBytes)", dimsPrefix(dbuf, rank), s.typ, maxElems, cfg.maxBytes)
		}
		s.dims[i] = int(d)
		n *= d
	}
	s.n = int(n)
	if need := n * es; s.size >= 0 && need > s.size-s.off {
		return nil, offsetErr(name, s.off, "dimensions %v of %s need %d bytes of data but the file has %d after the header", s.dims, s.typ, need, s.size-s.off)
	}
	return s, nil
}

func (s *idxStream) close() {
	if s.zr != nil {
		s.zr.Close()
	}
}

// dimsPrefix decodes the dimension sizes present in b, for error messages.
func dimsPrefix(b []byte, rank int) []uint32 {
	out := make([]uint32, rank)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return out
}

// readData reads and decodes the array and checks that the stream ends
// right after it. A raw file whose size was checked gets its tensor at its
// final size at once, and its bytes pass through one 64 KiB buffer. For a
// stream of unknown length, memory grows only as data arrives: one-byte
// elements (a quarter of the tensor's size) are gathered first and decoded
// once into a tensor of the final size; wider ones are decoded as they
// arrive into a tensor that doubles from 1 MiB. Either way a read
// allocates less than three times the size of the tensor it returns,
// besides the fixed buffers.
func (s *idxStream) readData() ([]float32, error) {
	es := s.typ.Size()
	need := int64(s.n) * int64(es)
	var out []float32
	switch {
	case s.size < 0 && es == 1:
		raw, err := readBounded(s.src, s.n)
		if err != nil {
			return nil, readErr(s.name, s.off+int64(len(raw)), err, "array data")
		}
		if len(raw) < s.n {
			return nil, s.truncated(int64(len(raw)))
		}
		out = make([]float32, s.n)
		decodeIDX(out, raw, s.typ)
	default:
		c := s.n
		if s.size < 0 {
			c = min(c, 1<<18)
		}
		out = make([]float32, 0, c)
		buf := make([]byte, 64<<10) // a multiple of every element size
		for read := int64(0); read < need; {
			k, err := io.ReadFull(s.src, buf[:min(int64(len(buf)), need-read)])
			m := k / es
			if len(out)+m > cap(out) {
				grown := make([]float32, len(out), min(s.n, max(2*cap(out), len(out)+m)))
				copy(grown, out)
				out = grown
			}
			decodeIDX(out[len(out):len(out)+m], buf[:m*es], s.typ)
			out = out[:len(out)+m]
			read += int64(k)
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, s.truncated(read)
			}
			if err != nil {
				return nil, readErr(s.name, s.off+read, err, "array data")
			}
		}
	}
	var one [1]byte
	switch n, err := io.ReadFull(s.src, one[:]); {
	case n > 0:
		return nil, offsetErr(s.name, s.off+need, "unexpected data after the end of the %v array", s.dims)
	case err != io.EOF:
		return nil, readErr(s.name, s.off+need, err, "end of file")
	}
	return out, nil
}

// truncated reports a stream that ended after read bytes of array data.
func (s *idxStream) truncated(read int64) error {
	need := int64(s.n) * int64(s.typ.Size())
	return offsetErr(s.name, s.off+read, "data truncated: dimensions %v of %s need %d bytes up to offset %d", s.dims, s.typ, need, s.off+need)
}

// readBounded reads up to need bytes from r, growing its buffer only as
// data arrives (1 MiB at first, then doubling), so a short stream never
// causes a large allocation. It stops early at EOF.
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

// decodeIDX converts the big-endian elements in raw to float32 in dst;
// raw holds len(dst) elements of typ.
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
		if uint64(d) > math.MaxUint32 {
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
