package serve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// requestError is a request the Handler refuses: an HTTP status and a
// message for the client, bounded in length.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// maxErrorLen bounds the length of an error message sent to a client.
const maxErrorLen = 512

// badRequest returns a 400 error with a formatted message.
func badRequest(format string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// snippet quotes at most 16 bytes of b from off, for error messages.
func snippet(b []byte, off int) string {
	if off >= len(b) {
		return "end of body"
	}
	end := min(len(b), off+16)
	return strconv.Quote(string(b[off:end]))
}

// decodeBinary reads body as raw little-endian float32 values, a whole
// number of examples of features values each, at most maxExamples, and
// appends them to dst. It returns the values and the number of examples.
func decodeBinary(body []byte, features, maxExamples int, dst []float32) ([]float32, int, *requestError) {
	if len(body) == 0 {
		return dst, 0, badRequest("empty body: want N×%d little-endian float32 values", features)
	}
	rowBytes := 4 * features
	if len(body)%rowBytes != 0 {
		return dst, 0, badRequest("binary body has %d bytes, not a multiple of %d (%d float32 values of 4 bytes per example)", len(body), rowBytes, features)
	}
	n := len(body) / rowBytes
	if n > maxExamples {
		return dst, 0, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("%d examples in one request; at most %d", n, maxExamples)}
	}
	start := len(dst)
	dst = grow(dst, n*features)
	vals := dst[start:]
	body = body[:4*len(vals)]
	for i := range vals {
		bits := binary.LittleEndian.Uint32(body[4*i:])
		// All exponent bits set: an infinity or a NaN.
		if bits&0x7f800000 == 0x7f800000 {
			v := math.Float32frombits(bits)
			return dst[:start], 0, badRequest("non-finite value %v at example %d, index %d", v, i/features, i%features)
		}
		vals[i] = math.Float32frombits(bits)
	}
	return dst, n, nil
}

// grow returns dst extended by n elements, reallocating if needed.
func grow(dst []float32, n int) []float32 {
	if cap(dst)-len(dst) < n {
		nd := make([]float32, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst[:len(dst)+n]
}

// jsonDecoder parses the body of a JSON request: an object with one field,
// "input" (one example) or "inputs" (a batch), whose value is nested
// arrays of numbers. It records the shape of the arrays as it goes and
// stops at maxValues numbers or maxDepth levels, so neither memory nor
// stack grow beyond what the limits allow.
type jsonDecoder struct {
	b         []byte
	off       int
	vals      []float32
	maxValues int
	maxDepth  int
	// dims[d] is the length of the arrays at depth d, -1 until the first
	// one closes; leaf is the depth of the arrays that hold numbers.
	dims [maxRank + 2]int
	leaf int
}

func (d *jsonDecoder) ws() {
	for d.off < len(d.b) {
		switch d.b[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

// expect consumes byte c after white space.
func (d *jsonDecoder) expect(c byte, what string) *requestError {
	d.ws()
	if d.off >= len(d.b) || d.b[d.off] != c {
		return badRequest("invalid JSON at offset %d: want %s, found %s", d.off, what, snippet(d.b, d.off))
	}
	d.off++
	return nil
}

// key reads an object key and returns its raw bytes (escapes left as
// they are: a key with escapes is never "input" or "inputs").
func (d *jsonDecoder) key() ([]byte, *requestError) {
	if err := d.expect('"', "a field name"); err != nil {
		return nil, err
	}
	start := d.off
	for d.off < len(d.b) {
		switch c := d.b[d.off]; {
		case c == '"':
			d.off++
			return d.b[start : d.off-1], nil
		case c == '\\':
			d.off += 2
		case c < 0x20:
			return nil, badRequest("invalid JSON at offset %d: control character in a string", d.off)
		default:
			d.off++
		}
	}
	return nil, badRequest("invalid JSON: unterminated string starting at offset %d", start-1)
}

// number reads one JSON number as a float32.
func (d *jsonDecoder) number() *requestError {
	start := d.off
	b := d.b
	i := d.off
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return badRequest("invalid JSON at offset %d: want a number or an array, found %s", start, snippet(b, start))
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return badRequest("invalid JSON at offset %d: malformed number %s", start, snippet(b, start))
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return badRequest("invalid JSON at offset %d: malformed number %s", start, snippet(b, start))
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if len(d.vals) >= d.maxValues {
		return &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("more than %d values in one request", d.maxValues)}
	}
	v, ok := fastFloat32(b[start:i])
	if !ok {
		f, err := strconv.ParseFloat(string(b[start:i]), 32)
		if err != nil && (!errors.Is(err, strconv.ErrRange) || math.IsInf(f, 0)) {
			return badRequest("number %s at offset %d is out of float32 range", snippet(b[:i], start), start)
		}
		v = float32(f)
	}
	d.vals = append(d.vals, v)
	d.off = i
	return nil
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat32 converts the syntactically valid JSON number s to the
// nearest float32, as strconv.ParseFloat(s, 32) does, for the common case
// of at most 15 significant digits and a decimal exponent within ±22, and
// reports false otherwise. The digits form an integer m < 2^53 and 10^|e|
// is exact in float64, so m·10^e (or m/10^−e) is one correctly rounded
// float64 operation (Clinger's fast path). Rounding that float64 to
// float32 is then correct too, except when it lands exactly on a halfway
// point between two float32 values (the true value may lie on either side
// of it): those, and everything else, are left to strconv.
func fastFloat32(s []byte) (float32, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	var m uint64
	digits, exp := 0, 0
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if m != 0 || s[i] != '0' {
			digits++
		}
		m = m*10 + uint64(s[i]-'0')
		if digits > 15 {
			return 0, false
		}
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if m != 0 || s[i] != '0' {
				digits++
			}
			m = m*10 + uint64(s[i]-'0')
			exp--
			if digits > 15 {
				return 0, false
			}
		}
	}
	if i < len(s) { // an exponent: e or E, a sign, digits
		i++
		eneg := false
		if s[i] == '+' || s[i] == '-' {
			eneg = s[i] == '-'
			i++
		}
		e := 0
		for ; i < len(s); i++ {
			e = e*10 + int(s[i]-'0')
			if e > 1000 {
				return 0, false
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	var r float64
	switch {
	case m == 0:
	case exp >= 0 && exp < len(pow10):
		r = float64(m) * pow10[exp]
	case exp < 0 && -exp < len(pow10):
		r = float64(m) / pow10[-exp]
	default:
		return 0, false
	}
	// A float32 keeps 24 of float64's 53 significant bits; the 29 dropped
	// bits equal to 1 followed by zeros mean a halfway point. (Values
	// here are at least 1e-22, far from float32's subnormals, and below
	// 1e15·1e22 < float32's largest.)
	if math.Float64bits(r)&(1<<29-1) == 1<<28 {
		return 0, false
	}
	if neg {
		r = -r
	}
	return float32(r), true
}

// array reads an array at depth depth (its opening bracket is next).
func (d *jsonDecoder) array(depth int) *requestError {
	if depth >= d.maxDepth {
		return badRequest("arrays nested deeper than %d levels at offset %d", d.maxDepth, d.off)
	}
	d.off++ // '['
	count := 0
	d.ws()
	if d.off < len(d.b) && d.b[d.off] == ']' {
		return badRequest("empty array at offset %d", d.off-1)
	}
	for {
		d.ws()
		if d.off >= len(d.b) {
			return badRequest("invalid JSON: unexpected end of body inside an array")
		}
		if d.b[d.off] == '[' {
			if d.leaf >= 0 && d.leaf <= depth {
				return badRequest("invalid input at offset %d: an array where a number was expected (arrays must be regular)", d.off)
			}
			if err := d.array(depth + 1); err != nil {
				return err
			}
		} else {
			if d.leaf < 0 {
				d.leaf = depth
			} else if d.leaf != depth {
				return badRequest("invalid input at offset %d: a number where an array was expected (arrays must be regular)", d.off)
			}
			if err := d.number(); err != nil {
				return err
			}
		}
		count++
		d.ws()
		if d.off >= len(d.b) {
			return badRequest("invalid JSON: unexpected end of body inside an array")
		}
		c := d.b[d.off]
		d.off++
		if c == ']' {
			break
		}
		if c != ',' {
			return badRequest("invalid JSON at offset %d: want , or ], found %s", d.off-1, snippet(d.b, d.off-1))
		}
	}
	switch {
	case d.dims[depth] < 0:
		d.dims[depth] = count
	case d.dims[depth] != count:
		return badRequest("ragged input: an array at depth %d has %d elements, an earlier one %d (offset %d)", depth, count, d.dims[depth], d.off-1)
	}
	return nil
}

// decodeJSON parses a JSON request body, checks the shape of its input
// against shape (of one example, features values), appends the values to
// dst and returns them with the number of examples.
func decodeJSON(body []byte, shape []int, features, maxExamples int, dst []float32) ([]float32, int, *requestError) {
	d := jsonDecoder{b: body, vals: dst, maxDepth: len(shape) + 1, leaf: -1}
	for i := range d.dims {
		d.dims[i] = -1
	}
	d.maxValues = len(dst) + maxExamples*features
	d.ws()
	if d.off == len(d.b) {
		return dst, 0, badRequest(`empty body: want {"input": [...]} or {"inputs": [[...], ...]}`)
	}
	if err := d.expect('{', "{"); err != nil {
		return dst, 0, err
	}
	d.ws()
	if d.off < len(d.b) && d.b[d.off] == '}' {
		return dst, 0, badRequest(`no input: want {"input": [...]} or {"inputs": [[...], ...]}`)
	}
	batch, seen := false, false
	for {
		k, err := d.key()
		if err != nil {
			return dst, 0, err
		}
		switch string(k) {
		case "input", "inputs":
			if seen {
				return dst, 0, badRequest(`give one of "input" and "inputs", once`)
			}
			seen, batch = true, len(k) == 6
		default:
			return dst, 0, badRequest(`unknown field %s: want "input" (one example) or "inputs" (a batch)`, snippet(k, 0))
		}
		if err := d.expect(':', ":"); err != nil {
			return dst, 0, err
		}
		d.ws()
		if d.off >= len(d.b) || d.b[d.off] != '[' {
			return dst, 0, badRequest("invalid JSON at offset %d: want an array, found %s", d.off, snippet(d.b, d.off))
		}
		maxDepth := len(shape)
		if batch {
			maxDepth++
		}
		d.maxDepth = maxDepth
		if err := d.array(0); err != nil {
			return dst, 0, err
		}
		d.ws()
		if d.off < len(d.b) && d.b[d.off] == ',' {
			d.off++
			continue
		}
		if err := d.expect('}', ", or }"); err != nil {
			return dst, 0, err
		}
		break
	}
	d.ws()
	if d.off != len(d.b) {
		return dst, 0, badRequest("invalid JSON at offset %d: data after the object: %s", d.off, snippet(d.b, d.off))
	}
	got := d.dims[:d.leaf+1]
	n, ok := 1, false
	if batch {
		n = got[0]
		got = got[1:]
	}
	if len(got) == 1 && got[0] == features {
		ok = true
	} else if len(got) == len(shape) {
		ok = true
		for i := range got {
			ok = ok && got[i] == shape[i]
		}
	}
	if !ok {
		want := fmt.Sprintf("%v or [%d]", shape, features)
		if batch {
			want = fmt.Sprintf("[N %s] or [N %d]", dimsString(shape), features)
		}
		if len(shape) == 1 {
			want = want[:strings.Index(want, " or ")]
		}
		if batch {
			return dst, 0, badRequest(`"inputs" has shape %v; want %s`, d.dims[:d.leaf+1], want)
		}
		return dst, 0, badRequest(`"input" has shape %v; want %s`, got, want)
	}
	if n > maxExamples {
		return dst, 0, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("%d examples in one request; at most %d", n, maxExamples)}
	}
	return d.vals, n, nil
}

// dimsString formats a shape without its brackets: "1 28 28".
func dimsString(s []int) string {
	f := fmt.Sprint(s)
	return f[1 : len(f)-1]
}
