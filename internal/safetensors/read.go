package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header the reader accepts, in bytes
// (the reference implementation's limit).
const MaxHeaderSize = 100_000_000

// dtypeSize maps every dtype the reader converts to float32 to its width in
// bytes.
var dtypeSize = map[string]uint64{"F32": 4, "F16": 2, "BF16": 2, "F64": 8}

// knownDtypes are valid safetensors dtypes this package cannot convert; they
// get a clearer error than a misspelt dtype.
var knownDtypes = map[string]bool{
	"BOOL": true, "U8": true, "I8": true, "U16": true, "I16": true, "U32": true,
	"I32": true, "U64": true, "I64": true, "F8_E4M3": true, "F8_E5M2": true,
	"F8_E8M0": true, "F4": true, "F6_E2M3": true, "F6_E3M2": true, "C64": true,
}

// entry is one tensor as described by the header.
type entry struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// Decode parses a complete safetensors file held in b and returns its
// tensors, sorted by name, and its metadata (nil when the file has none).
// The returned tensors do not alias b.
func Decode(b []byte) ([]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("safetensors: input is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if err := checkHeaderLen(n); err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds the %d bytes that follow the length field (truncated file?)", n, len(b)-8)
	}
	ts, md, err := decode(b[8:8+n], b[8+n:])
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return ts, md, nil
}

// Read reads a complete safetensors stream from r and returns its tensors,
// sorted by name, and its metadata. The header length in the stream is not
// trusted for allocation: memory use follows the bytes actually read.
func Read(r io.Reader) ([]Tensor, map[string]string, error) {
	ts, md, err := read(r)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return ts, md, nil
}

func read(r io.Reader) ([]Tensor, map[string]string, error) {
	var lenBuf [8]byte
	if k, err := io.ReadFull(r, lenBuf[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("input is %d bytes, too short for the 8-byte header length", k)
		}
		return nil, nil, fmt.Errorf("read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if err := checkHeaderLen(n); err != nil {
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
	return decode(header, data)
}

// ReadFile reads the safetensors file at path. Errors name the path.
func ReadFile(path string) ([]Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("safetensors: %s: file is %d bytes, too short for the 8-byte header length", path, len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if err := checkHeaderLen(n); err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("safetensors: %s: header length %d exceeds the %d bytes that follow the length field (truncated file?)", path, n, len(b)-8)
	}
	ts, md, err := decode(b[8:8+n], b[8+n:])
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return ts, md, nil
}

func checkHeaderLen(n uint64) error {
	switch {
	case n == 0:
		return errors.New("header length is 0, want a JSON object")
	case n > MaxHeaderSize:
		return fmt.Errorf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	return nil
}

// decode parses header (the N JSON bytes) and data (everything after it).
// Byte offsets in errors are relative to the data section, which starts at
// file offset 8+len(header).
func decode(header, data []byte) ([]Tensor, map[string]string, error) {
	entries, md, err := parseHeader(header)
	if err != nil {
		return nil, nil, err
	}
	if err := checkLayout(entries, uint64(len(data)), 8+uint64(len(header))); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	out := make([]Tensor, len(entries))
	for i, e := range entries {
		out[i] = Tensor{Name: e.name, Shape: e.shape, Data: convert(e.dtype, data[e.begin:e.end])}
	}
	return out, md, nil
}

// checkLayout verifies each entry's byte range against its dtype and shape
// and that the ranges tile [0, size) exactly.
func checkLayout(entries []entry, size, base uint64) error {
	for _, e := range entries {
		if e.end < e.begin {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] end before they begin", e.name, e.begin, e.end)
		}
		if e.end > size {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the %d-byte data section (file bytes %d to %d)", e.name, e.begin, e.end, size, base, base+size)
		}
		elems := uint64(1)
		for _, d := range e.shape {
			hi, lo := bits.Mul64(elems, uint64(d))
			if hi != 0 {
				return fmt.Errorf("tensor %q: shape %v: element count overflows", e.name, e.shape)
			}
			elems = lo
		}
		width := dtypeSize[e.dtype]
		hi, want := bits.Mul64(elems, width)
		if hi != 0 {
			return fmt.Errorf("tensor %q: shape %v of %s: byte count overflows", e.name, e.shape, e.dtype)
		}
		if got := e.end - e.begin; got != want {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] hold %d bytes, but shape %v of %s needs %d", e.name, e.begin, e.end, got, e.shape, e.dtype, want)
		}
	}
	byOffset := slices.Clone(entries)
	slices.SortFunc(byOffset, func(a, b entry) int {
		if c := cmpU64(a.begin, b.begin); c != 0 {
			return c
		}
		if c := cmpU64(a.end, b.end); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var covered uint64
	prev := ""
	for _, e := range byOffset {
		switch {
		case e.begin > covered:
			return fmt.Errorf("data bytes [%d, %d) belong to no tensor (gap before tensor %q at data_offsets [%d, %d])", covered, e.begin, e.name, e.begin, e.end)
		case e.begin < covered:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", e.name, e.begin, e.end, prev, covered)
		}
		covered = e.end
		prev = e.name
	}
	if covered != size {
		return fmt.Errorf("%d trailing bytes after the last tensor: tensors cover data bytes [0, %d) of %d (file bytes %d to %d)", size-covered, covered, size, base+covered, base+size)
	}
	return nil
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

// convert decodes little-endian values of dtype into float32.
func convert(dtype string, b []byte) []float32 {
	switch dtype {
	case "F32":
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out
	case "F64":
		out := make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return out
	case "BF16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return out
	case "F16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out
	}
	panic("safetensors: convert: unchecked dtype " + dtype) // parseHeader admits only the dtypes above
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

// parseHeader parses the JSON header strictly with a token stream, so that
// duplicate keys, unknown fields, non-integer numbers and trailing data are
// all caught, and no value is decoded without first checking its type.
func parseHeader(h []byte) ([]entry, map[string]string, error) {
	if !utf8.Valid(h) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	if h[0] != '{' {
		return nil, nil, fmt.Errorf("header starts with %q, want '{' (not a safetensors file?)", h[0])
	}
	p := &headerParser{dec: json.NewDecoder(bytes.NewReader(h))}
	p.dec.UseNumber()
	if err := p.delim('{', "header"); err != nil {
		return nil, nil, err
	}
	var (
		entries []entry
		md      map[string]string
		seen    = map[string]bool{}
	)
	for p.dec.More() {
		name, err := p.key("header")
		if err != nil {
			return nil, nil, err
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("header: key %q appears twice (at byte %d)", name, p.dec.InputOffset())
		}
		seen[name] = true
		if name == "" {
			return nil, nil, fmt.Errorf("header: tensor with an empty name (at byte %d)", p.dec.InputOffset())
		}
		if name == metadataKey {
			if md, err = p.metadata(); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := p.entry(name)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if err := p.delim('}', "header"); err != nil {
		return nil, nil, err
	}
	if tok, err := p.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("header: after the closing brace: %v", err)
		}
		return nil, nil, fmt.Errorf("header: unexpected %v after the closing brace at byte %d", tok, p.dec.InputOffset())
	}
	return entries, md, nil
}

type headerParser struct {
	dec *json.Decoder
}

// token reads the next JSON token, describing where a syntax error lies.
func (p *headerParser) token(where string) (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: unexpected end of header", where)
		}
		return nil, fmt.Errorf("%s: invalid JSON near byte %d: %v", where, p.dec.InputOffset(), err)
	}
	return tok, nil
}

func (p *headerParser) delim(want json.Delim, where string) error {
	tok, err := p.token(where)
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%s: got %s at byte %d, want %q", where, describe(tok), p.dec.InputOffset(), string(want))
	}
	return nil
}

func (p *headerParser) key(where string) (string, error) {
	tok, err := p.token(where)
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%s: got %s at byte %d, want a key", where, describe(tok), p.dec.InputOffset())
	}
	return s, nil
}

func (p *headerParser) str(where string) (string, error) {
	tok, err := p.token(where)
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%s: got %s, want a string", where, describe(tok))
	}
	return s, nil
}

// uint reads a non-negative JSON integer no larger than max.
func (p *headerParser) uint(where string, max uint64) (uint64, error) {
	tok, err := p.token(where)
	if err != nil {
		return 0, err
	}
	num, ok := tok.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s: got %s, want a non-negative integer", where, describe(tok))
	}
	s := string(num)
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%s: %s is negative", where, s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > max {
		return 0, fmt.Errorf("%s: %s is not an integer in [0, %d]", where, s, max)
	}
	return v, nil
}

func (p *headerParser) metadata() (map[string]string, error) {
	const where = "__metadata__"
	if err := p.delim('{', where); err != nil {
		return nil, err
	}
	md := map[string]string{}
	for p.dec.More() {
		k, err := p.key(where)
		if err != nil {
			return nil, err
		}
		if _, dup := md[k]; dup {
			return nil, fmt.Errorf("%s: key %q appears twice", where, k)
		}
		v, err := p.str(fmt.Sprintf("%s[%q]", where, k))
		if err != nil {
			return nil, err
		}
		md[k] = v
	}
	return md, p.delim('}', where)
}

func (p *headerParser) entry(name string) (entry, error) {
	e := entry{name: name, shape: []int{}}
	where := fmt.Sprintf("tensor %q", name)
	if err := p.delim('{', where); err != nil {
		return e, err
	}
	var haveDtype, haveShape, haveOffsets bool
	for p.dec.More() {
		field, err := p.key(where)
		if err != nil {
			return e, err
		}
		fwhere := where + ": " + field
		switch field {
		case "dtype":
			if haveDtype {
				return e, fmt.Errorf("%s: field appears twice", fwhere)
			}
			haveDtype = true
			if e.dtype, err = p.str(fwhere); err != nil {
				return e, err
			}
			if _, ok := dtypeSize[e.dtype]; !ok {
				if knownDtypes[e.dtype] {
					return e, fmt.Errorf("%s: %s is not supported (want F32, F16, BF16 or F64)", fwhere, e.dtype)
				}
				return e, fmt.Errorf("%s: unknown dtype %q", fwhere, e.dtype)
			}
		case "shape":
			if haveShape {
				return e, fmt.Errorf("%s: field appears twice", fwhere)
			}
			haveShape = true
			if err := p.delim('[', fwhere); err != nil {
				return e, err
			}
			for p.dec.More() {
				d, err := p.uint(fmt.Sprintf("%s[%d]", fwhere, len(e.shape)), math.MaxInt)
				if err != nil {
					return e, err
				}
				e.shape = append(e.shape, int(d))
			}
			if err := p.delim(']', fwhere); err != nil {
				return e, err
			}
		case "data_offsets":
			if haveOffsets {
				return e, fmt.Errorf("%s: field appears twice", fwhere)
			}
			haveOffsets = true
			if err := p.delim('[', fwhere); err != nil {
				return e, err
			}
			if e.begin, err = p.uint(fwhere+"[0]", math.MaxUint64); err != nil {
				return e, err
			}
			if e.end, err = p.uint(fwhere+"[1]", math.MaxUint64); err != nil {
				return e, err
			}
			if err := p.delim(']', fwhere+" (want exactly 2 offsets)"); err != nil {
				return e, err
			}
		default:
			return e, fmt.Errorf("%s: unknown field %q (want dtype, shape, data_offsets)", where, field)
		}
	}
	if err := p.delim('}', where); err != nil {
		return e, err
	}
	switch {
	case !haveDtype:
		return e, fmt.Errorf("%s: missing dtype", where)
	case !haveShape:
		return e, fmt.Errorf("%s: missing shape", where)
	case !haveOffsets:
		return e, fmt.Errorf("%s: missing data_offsets", where)
	}
	return e, nil
}

// describe names a JSON token for an error message.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(t))
	case string:
		return fmt.Sprintf("string %q", t)
	case json.Number:
		return "number " + string(t)
	case bool:
		return fmt.Sprintf("%v", t)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}
