package safetensors

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

var mul64 = bits.Mul64

// parseHeader parses the JSON header in one pass over its bytes. It
// accepts exactly the safetensors schema, so duplicate fields, unknown
// fields, non-integer numbers and trailing data are all caught, and it
// allocates only the entries, one string per name and one slice holding
// every dimension: time and memory are linear in len(h). Duplicate tensor
// names are found by the caller after sorting.
func parseHeader(h []byte, lim Limits) ([]entry, []int, map[string]string, error) {
	if !utf8.Valid(h) {
		return nil, nil, nil, errors.New("header is not valid UTF-8")
	}
	if h[0] != '{' {
		return nil, nil, nil, fmt.Errorf("header starts with %q, want '{' (not a safetensors file?)", h[0])
	}
	p := &parser{h: h, i: 1}
	var md map[string]string
	// Every entry has a "data_offsets" field: counting them sizes the
	// entries in one allocation (an escaped spelling only costs a regrowth).
	entries := make([]entry, 0, min(bytes.Count(h, []byte(`"data_offsets"`)), lim.MaxTensors))
	p.ws()
	if p.peek() == '}' {
		p.i++
	} else {
		for {
			at := p.i
			key, err := p.str(loc{}, "a key")
			if err != nil {
				return nil, nil, nil, err
			}
			if err := p.colon(loc{}); err != nil {
				return nil, nil, nil, err
			}
			switch {
			case string(key) == metadataKey:
				if md != nil {
					return nil, nil, nil, fmt.Errorf("header: key %q appears twice (at byte %d)", metadataKey, at)
				}
				if md, err = p.metadata(lim.MaxMetadata); err != nil {
					return nil, nil, nil, err
				}
			case len(key) == 0:
				return nil, nil, nil, fmt.Errorf("header: tensor with an empty name (at byte %d)", at)
			case len(entries) >= lim.MaxTensors:
				return nil, nil, nil, fmt.Errorf("header: more than %d tensors (the limit; see Limits.MaxTensors)", lim.MaxTensors)
			default:
				e := entry{name: string(key), at: at}
				if err := p.entry(&e); err != nil {
					return nil, nil, nil, err
				}
				entries = append(entries, e)
			}
			if done, err := p.next(loc{}, '}'); err != nil || done {
				if err != nil {
					return nil, nil, nil, err
				}
				break
			}
		}
	}
	p.ws()
	if p.i != len(h) {
		return nil, nil, nil, fmt.Errorf("header: unexpected %s after the closing brace at byte %d", p.found(), p.i)
	}
	// Dimensions were appended to one slice, which may have moved as it
	// grew: point each shape at its final place.
	return entries, p.dims, md, nil
}

// loc names a place in the header for error messages. It is a plain value,
// formatted only when an error is reported, so that parsing a valid header
// spends nothing on describing it.
type loc struct {
	kind  locKind
	name  string // tensor name or metadata key
	field string // tensor field
	index int    // position in a shape or data_offsets
}

type locKind uint8

const (
	locHeader  locKind = iota // the top-level object
	locMeta                   // __metadata__
	locMetaKey                // __metadata__["k"]
	locTensor                 // tensor "t"
	locField                  // tensor "t": shape
	locIndex                  // tensor "t": shape[2]
)

func (l loc) String() string {
	switch l.kind {
	case locMeta:
		return metadataKey
	case locMetaKey:
		return metadataKey + "[" + quote(l.name) + "]"
	case locTensor:
		return "tensor " + quote(l.name)
	case locField:
		return "tensor " + quote(l.name) + ": " + l.field
	case locIndex:
		return fmt.Sprintf("tensor %s: %s[%d]", quote(l.name), l.field, l.index)
	}
	return "header"
}

func (l loc) in(field string) loc { return loc{kind: locField, name: l.name, field: field} }
func (l loc) at(i int) loc        { return loc{kind: locIndex, name: l.name, field: l.field, index: i} }

// parser walks a header.
type parser struct {
	h    []byte
	i    int
	dims []int  // every entry's dimensions, one after the other
	tmp  []byte // scratch for strings with escapes
}

func (p *parser) ws() {
	for p.i < len(p.h) {
		switch p.h[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end.
func (p *parser) peek() byte {
	if p.i < len(p.h) {
		return p.h[p.i]
	}
	return 0
}

// found describes what lies at p.i, for error messages.
func (p *parser) found() string {
	if p.i >= len(p.h) {
		return "end of header"
	}
	switch c := p.h[p.i]; {
	case c == '"':
		save, tmp := p.i, p.tmp
		s, err := p.rawString()
		p.i, p.tmp = save, tmp
		if err != nil {
			return "a malformed string"
		}
		return "string " + quote(string(s))
	case c == '-' || c >= '0' && c <= '9':
		end := p.i
		for end < len(p.h) && end-p.i < maxShown && isNumberByte(p.h[end]) {
			end++
		}
		return "number " + string(p.h[p.i:end])
	case c == 't' || c == 'f' || c == 'n':
		end := p.i
		for end < len(p.h) && end-p.i < 5 && p.h[end] >= 'a' && p.h[end] <= 'z' {
			end++
		}
		return string(p.h[p.i:end])
	default:
		r, _ := utf8.DecodeRune(p.h[p.i:])
		return strconv.QuoteRune(r)
	}
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (p *parser) unexpected(where loc, want string) error {
	if p.i >= len(p.h) {
		return fmt.Errorf("%s: unexpected end of header, want %s", where, want)
	}
	return fmt.Errorf("%s: got %s at byte %d, want %s", where, p.found(), p.i, want)
}

// open consumes the delimiter c after optional white space.
func (p *parser) open(c byte, where loc) error {
	p.ws()
	if p.peek() != c {
		return p.unexpected(where, strconv.QuoteRune(rune(c)))
	}
	p.i++
	p.ws()
	return nil
}

func (p *parser) colon(where loc) error {
	p.ws()
	if p.peek() != ':' {
		return p.unexpected(where, "':'")
	}
	p.i++
	return nil
}

// next consumes the ',' between members or the closing delimiter, and
// reports whether it was the closing one.
func (p *parser) next(where loc, closing byte) (bool, error) {
	p.ws()
	switch p.peek() {
	case ',':
		p.i++
		p.ws()
		return false, nil
	case closing:
		p.i++
		return true, nil
	}
	return false, p.unexpected(where, fmt.Sprintf("',' or '%c'", closing))
}

// str reads a JSON string after optional white space. The result aliases
// the header or the parser's scratch buffer and is valid until the next
// call.
func (p *parser) str(where loc, want string) ([]byte, error) {
	p.ws()
	if p.peek() != '"' {
		return nil, p.unexpected(where, want)
	}
	s, err := p.rawString()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return s, nil
}

// rawString reads the string starting at p.i, which holds '"'.
func (p *parser) rawString() ([]byte, error) {
	start := p.i
	p.i++
	// Fast path: no escapes.
	for j := p.i; j < len(p.h); j++ {
		switch c := p.h[j]; {
		case c == '"':
			p.i = j + 1
			return p.h[start+1 : j], nil
		case c == '\\':
			return p.escapedString(start)
		case c < 0x20:
			return nil, fmt.Errorf("control character %#02x in a string at byte %d", c, j)
		}
	}
	return nil, fmt.Errorf("string at byte %d is not terminated", start)
}

func (p *parser) escapedString(start int) ([]byte, error) {
	p.tmp = p.tmp[:0]
	for j := start + 1; j < len(p.h); {
		c := p.h[j]
		switch {
		case c == '"':
			p.i = j + 1
			return p.tmp, nil
		case c < 0x20:
			return nil, fmt.Errorf("control character %#02x in a string at byte %d", c, j)
		case c != '\\':
			p.tmp = append(p.tmp, c)
			j++
			continue
		}
		if j+1 >= len(p.h) {
			break
		}
		switch e := p.h[j+1]; e {
		case '"', '\\', '/':
			p.tmp = append(p.tmp, e)
		case 'b':
			p.tmp = append(p.tmp, '\b')
		case 'f':
			p.tmp = append(p.tmp, '\f')
		case 'n':
			p.tmp = append(p.tmp, '\n')
		case 'r':
			p.tmp = append(p.tmp, '\r')
		case 't':
			p.tmp = append(p.tmp, '\t')
		case 'u':
			r, ok := hex4(p.h, j+2)
			if !ok {
				return nil, fmt.Errorf("invalid \\u escape at byte %d", j)
			}
			j += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if j+1 < len(p.h) && p.h[j] == '\\' && p.h[j+1] == 'u' {
					r2, ok = hex4(p.h, j+2)
				}
				if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
					r = d
					j += 6
				} else {
					r = utf8.RuneError // as encoding/json does
				}
			}
			p.tmp = utf8.AppendRune(p.tmp, r)
			continue
		default:
			return nil, fmt.Errorf("invalid escape %q at byte %d", p.h[j:j+2], j)
		}
		j += 2
	}
	return nil, fmt.Errorf("string at byte %d is not terminated", start)
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// uint reads a non-negative JSON integer no larger than max.
func (p *parser) uint(where loc, max uint64) (uint64, error) {
	p.ws()
	start := p.i
	j := p.i
	if j < len(p.h) && p.h[j] == '-' {
		j++
	}
	digits := j
	for j < len(p.h) && p.h[j] >= '0' && p.h[j] <= '9' {
		j++
	}
	if j == digits {
		return 0, p.unexpected(where, "a non-negative integer")
	}
	intEnd := j
	if j < len(p.h) && p.h[j] == '.' {
		j++
		for j < len(p.h) && p.h[j] >= '0' && p.h[j] <= '9' {
			j++
		}
	}
	if j < len(p.h) && (p.h[j] == 'e' || p.h[j] == 'E') {
		j++
		if j < len(p.h) && (p.h[j] == '+' || p.h[j] == '-') {
			j++
		}
		for j < len(p.h) && p.h[j] >= '0' && p.h[j] <= '9' {
			j++
		}
	}
	num := p.h[start:j]
	shown := string(num[:min(len(num), maxShown)])
	if len(num) > maxShown {
		shown += "..."
	}
	if p.h[start] == '-' {
		return 0, fmt.Errorf("%s: %s is negative", where, shown)
	}
	if intEnd-digits > 1 && p.h[digits] == '0' {
		return 0, fmt.Errorf("%s: %s has a leading zero (invalid JSON) at byte %d", where, shown, start)
	}
	p.i = j
	var v uint64
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%s: %s is not an integer in [0, %d]", where, shown, max)
		}
		hi, lo := bits.Mul64(v, 10)
		lo, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 || lo > max {
			return 0, fmt.Errorf("%s: %s is not an integer in [0, %d]", where, shown, max)
		}
		v = lo
	}
	return v, nil
}

func (p *parser) metadata(limit int) (map[string]string, error) {
	where := loc{kind: locMeta}
	if err := p.open('{', where); err != nil {
		return nil, err
	}
	md := map[string]string{}
	if p.peek() == '}' {
		p.i++
		return md, nil
	}
	for {
		kb, err := p.str(where, "a key")
		if err != nil {
			return nil, err
		}
		k := string(kb)
		if _, dup := md[k]; dup {
			return nil, fmt.Errorf("%s: key %s appears twice", where, quote(k))
		}
		if len(md) >= limit {
			return nil, fmt.Errorf("%s: more than %d entries (the limit; see Limits.MaxMetadata)", where, limit)
		}
		if err := p.colon(where); err != nil {
			return nil, err
		}
		v, err := p.str(loc{kind: locMetaKey, name: k}, "a string")
		if err != nil {
			return nil, err
		}
		md[k] = string(v)
		if done, err := p.next(where, '}'); err != nil || done {
			return md, err
		}
	}
}

// entry parses {"dtype":..., "shape":[...], "data_offsets":[b, e]} into e,
// whose name is set. The shape's dimensions are appended to p.dims and
// located by e.dimStart and e.dimEnd: p.dims may still move as it grows.
func (p *parser) entry(e *entry) error {
	where := loc{kind: locTensor, name: e.name}
	if err := p.open('{', where); err != nil {
		return err
	}
	var haveDtype, haveShape, haveOffsets bool
	rank, start := 0, len(p.dims)
	if p.peek() == '}' {
		p.i++
		return fmt.Errorf("%s: missing dtype", where)
	}
	for {
		fieldAt := p.i
		field, err := p.str(where, "a field name")
		if err != nil {
			return err
		}
		if err := p.colon(where); err != nil {
			return err
		}
		switch string(field) {
		case "dtype":
			w := where.in("dtype")
			if haveDtype {
				return fmt.Errorf("%s: field appears twice", w)
			}
			haveDtype = true
			d, err := p.str(w, "a string")
			if err != nil {
				return err
			}
			c, ok := lookupDtype(d)
			switch {
			case ok:
				e.dtype = c
			case knownDtypes[string(d)]:
				return fmt.Errorf("%s: %s is not supported (want F32, F64, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8 or BOOL)", w, d)
			default:
				return fmt.Errorf("%s: unknown dtype %s", w, quote(string(d)))
			}
		case "shape":
			w := where.in("shape")
			if haveShape {
				return fmt.Errorf("%s: field appears twice", w)
			}
			haveShape = true
			if err := p.open('[', w); err != nil {
				return err
			}
			if p.peek() == ']' {
				p.i++
				break
			}
			for {
				d, err := p.uint(w.at(rank), math.MaxInt)
				if err != nil {
					return err
				}
				if len(p.dims) == cap(p.dims) {
					// Double, rather than append's gentler growth for
					// large slices: the copies then sum to at most the
					// final size.
					p.dims = slices.Grow(p.dims, max(len(p.dims), 16))
				}
				p.dims = append(p.dims, int(d))
				rank++
				done, err := p.next(w, ']')
				if err != nil {
					return err
				}
				if done {
					break
				}
			}
		case "data_offsets":
			w := where.in("data_offsets")
			if haveOffsets {
				return fmt.Errorf("%s: field appears twice", w)
			}
			haveOffsets = true
			if err := p.open('[', w); err != nil {
				return err
			}
			if e.begin, err = p.uint(w.at(0), math.MaxUint64); err != nil {
				return err
			}
			p.ws()
			if p.peek() != ',' {
				return p.unexpected(w.at(1), "','")
			}
			p.i++
			if e.end, err = p.uint(w.at(1), math.MaxUint64); err != nil {
				return err
			}
			p.ws()
			if p.peek() != ']' {
				return p.unexpected(w, "']' (want exactly 2 offsets)")
			}
			p.i++
		default:
			return fmt.Errorf("%s: unknown field %s at byte %d (want dtype, shape, data_offsets)", where, quote(string(field)), fieldAt)
		}
		done, err := p.next(where, '}')
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	switch {
	case !haveDtype:
		return fmt.Errorf("%s: missing dtype", where)
	case !haveShape:
		return fmt.Errorf("%s: missing shape", where)
	case !haveOffsets:
		return fmt.Errorf("%s: missing data_offsets", where)
	}
	e.dimStart, e.dimEnd = start, start+rank
	return nil
}
