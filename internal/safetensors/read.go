package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// MaxHeaderSize is the default limit on the JSON header, in bytes (the
// reference implementation's limit).
const MaxHeaderSize = 100_000_000

// Default limits on the header's entries; see Limits.
const (
	DefaultMaxTensors  = 1 << 20
	DefaultMaxMetadata = 1 << 16
)

// Limits bounds what the reader accepts, so that a hostile header costs
// time and memory in proportion to its size, never more, and never more
// than the caller allows. A zero field takes its default.
//
// Nesting needs no limit: the reader parses only the fixed safetensors
// schema (an object of objects whose values are strings or arrays of
// integers) and rejects any other value, so a header is never more than
// three levels deep and nothing is parsed recursively.
type Limits struct {
	MaxHeaderSize uint64 // bytes of JSON header; default MaxHeaderSize
	MaxTensors    int    // tensor entries; default DefaultMaxTensors
	MaxMetadata   int    // __metadata__ entries; default DefaultMaxMetadata
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderSize == 0 {
		l.MaxHeaderSize = MaxHeaderSize
	}
	if l.MaxTensors <= 0 {
		l.MaxTensors = DefaultMaxTensors
	}
	if l.MaxMetadata <= 0 {
		l.MaxMetadata = DefaultMaxMetadata
	}
	return l
}

// entry is one tensor as described by the header.
type entry struct {
	name       string
	begin, end uint64
	dimStart   int // the shape is dims[dimStart:dimEnd] of the parser
	dimEnd     int
	at         int // byte offset of the entry's name in the header
	dtype      dtypeCode
}

// Decode parses a complete safetensors file held in b, with the default
// Limits, and returns its tensors, sorted by name, and its metadata (nil
// when the file has none). The returned tensors do not alias b.
func Decode(b []byte) ([]Tensor, map[string]string, error) { return Limits{}.Decode(b) }

// Read reads a complete safetensors stream from r, with the default Limits;
// see Limits.Read.
func Read(r io.Reader) ([]Tensor, map[string]string, error) { return Limits{}.Read(r) }

// ReadFile reads the safetensors file at path, with the default Limits.
// Errors name the path.
func ReadFile(path string) ([]Tensor, map[string]string, error) { return Limits{}.ReadFile(path) }

// Decode is the package-level Decode under the limits l.
func (l Limits) Decode(b []byte) ([]Tensor, map[string]string, error) {
	ts, md, err := l.withDefaults().decodeFile(b)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return ts, md, nil
}

// Read reads a complete safetensors stream from r under the limits l and
// returns its tensors, sorted by name, and its metadata. The header length
// in the stream is not trusted for allocation: memory use follows the bytes
// actually read.
func (l Limits) Read(r io.Reader) ([]Tensor, map[string]string, error) {
	ts, md, err := l.withDefaults().read(r)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return ts, md, nil
}

// ReadFile reads the safetensors file at path under the limits l. Errors
// name the path.
func (l Limits) ReadFile(path string) ([]Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	ts, md, err := l.withDefaults().decodeFile(b)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return ts, md, nil
}

func (l Limits) decodeFile(b []byte) ([]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("input is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if err := l.checkHeaderLen(n); err != nil {
		return nil, nil, err
	}
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("header length %d exceeds the %d bytes that follow the length field (truncated file?)", n, len(b)-8)
	}
	return l.decode(b[8:8+n], b[8+n:])
}

func (l Limits) read(r io.Reader) ([]Tensor, map[string]string, error) {
	var lenBuf [8]byte
	if k, err := io.ReadFull(r, lenBuf[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("input is %d bytes, too short for the 8-byte header length", k)
		}
		return nil, nil, fmt.Errorf("read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if err := l.checkHeaderLen(n); err != nil {
		return nil, nil, err
	}
	header, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, nil, fmt.Errorf("read header: %w", err)
	}
	if uint64(len(header)) < n {
		return nil, nil, fmt.Errorf("header length %d exceeds the %d bytes that follow the length field (truncated file?)", n, len(header))
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read tensor data: %w", err)
	}
	return l.decode(header, data)
}

func (l Limits) checkHeaderLen(n uint64) error {
	switch {
	case n == 0:
		return errors.New("header length is 0, want a JSON object")
	case n > l.MaxHeaderSize:
		return fmt.Errorf("header length %d exceeds the %d-byte limit", n, l.MaxHeaderSize)
	}
	return nil
}

// decode parses header (the N JSON bytes) and data (everything after it).
// Byte offsets in errors are relative to the data section, which starts at
// file offset 8+len(header).
func (l Limits) decode(header, data []byte) ([]Tensor, map[string]string, error) {
	entries, dims, md, err := parseHeader(header, l)
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(entries); i++ {
		if entries[i].name == entries[i-1].name {
			a, b := entries[i-1].at, entries[i].at
			return nil, nil, fmt.Errorf("header: key %s appears twice (at bytes %d and %d)", quote(entries[i].name), min(a, b), max(a, b))
		}
	}
	total, err := checkLayout(entries, dims, uint64(len(data)), 8+uint64(len(header)))
	if err != nil {
		return nil, nil, err
	}
	// One allocation holds every tensor's values; each Tensor gets a
	// capacity-limited window on it.
	values := make([]float32, total)
	out := make([]Tensor, len(entries))
	var off uint64
	for i, e := range entries {
		n := (e.end - e.begin) / codeInfo[e.dtype].size
		v := values[off : off+n : off+n]
		off += n
		if err := convert(e.dtype, data[e.begin:e.end], v); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %w", quote(e.name), err)
		}
		out[i] = Tensor{Name: e.name, Shape: dims[e.dimStart:e.dimEnd:e.dimEnd], Data: v, Dtype: codeInfo[e.dtype].name}
	}
	return out, md, nil
}

// checkLayout verifies each entry's byte range against its dtype and shape
// and that the ranges tile [0, size) exactly. It returns the total number
// of values.
func checkLayout(entries []entry, dims []int, size, base uint64) (uint64, error) {
	var total uint64
	for _, e := range entries {
		shape := dims[e.dimStart:e.dimEnd]
		if e.end < e.begin {
			return 0, fmt.Errorf("tensor %s: data_offsets [%d, %d] end before they begin", quote(e.name), e.begin, e.end)
		}
		if e.end > size {
			return 0, fmt.Errorf("tensor %s: data_offsets [%d, %d] run past the %d-byte data section (file bytes %d to %d)", quote(e.name), e.begin, e.end, size, base, base+size)
		}
		elems := uint64(1)
		for _, d := range shape {
			hi, lo := mul64(elems, uint64(d))
			if hi != 0 {
				return 0, fmt.Errorf("tensor %s: shape %s: element count overflows", quote(e.name), shapeString(shape))
			}
			elems = lo
		}
		width := codeInfo[e.dtype].size
		hi, want := mul64(elems, width)
		if hi != 0 {
			return 0, fmt.Errorf("tensor %s: shape %s of %s: byte count overflows", quote(e.name), shapeString(shape), codeInfo[e.dtype].name)
		}
		if got := e.end - e.begin; got != want {
			return 0, fmt.Errorf("tensor %s: data_offsets [%d, %d] hold %d bytes, but shape %s of %s needs %d", quote(e.name), e.begin, e.end, got, shapeString(shape), codeInfo[e.dtype].name, want)
		}
		total += elems // at most size: the ranges are checked to tile [0, size)
	}
	// Visit the entries by offset through a permutation, leaving them in
	// name order.
	order := make([]int32, len(entries))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &entries[i], &entries[j]
		if c := cmpU64(a.begin, b.begin); c != 0 {
			return c
		}
		if c := cmpU64(a.end, b.end); c != 0 {
			return c
		}
		return int(i) - int(j)
	})
	var covered uint64
	prev := -1
	for _, k := range order {
		e := &entries[k]
		switch {
		case e.begin > covered:
			return 0, fmt.Errorf("data bytes [%d, %d) belong to no tensor (gap before tensor %s at data_offsets [%d, %d])", covered, e.begin, quote(e.name), e.begin, e.end)
		case e.begin < covered:
			return 0, fmt.Errorf("tensor %s: data_offsets [%d, %d] overlap tensor %s, which ends at %d", quote(e.name), e.begin, e.end, quote(entries[prev].name), covered)
		}
		covered = e.end
		prev = int(k)
	}
	if covered != size {
		return 0, fmt.Errorf("%d trailing bytes after the last tensor: tensors cover data bytes [0, %d) of %d (file bytes %d to %d)", size-covered, covered, size, base+covered, base+size)
	}
	return total, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxShown bounds how many bytes of a name or header excerpt an error
// message quotes.
const maxShown = 64

// quote returns s as a Go string literal, cut to maxShown bytes (at a rune
// boundary) with the full length noted, so that error messages stay short
// whatever a file holds.
func quote(s string) string {
	if len(s) <= maxShown {
		return fmt.Sprintf("%q", s)
	}
	cut := maxShown
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:cut], len(s))
}

func isRuneStart(b byte) bool { return b&0xc0 != 0x80 }

// shapeString formats a shape like fmt's %v, eliding the middle of very
// long shapes.
func shapeString(shape []int) string {
	const keep = 8
	if len(shape) <= 2*keep {
		return fmt.Sprint(shape)
	}
	return fmt.Sprintf("%v ... %v (%d dims)", strings.Trim(fmt.Sprint(shape[:keep]), "]"), strings.Trim(fmt.Sprint(shape[len(shape)-keep:]), "["), len(shape))
}
