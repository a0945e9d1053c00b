package text

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/shoshin-ml/shoshin/data"
)

// Tokenizer turns text into token ids and back.
//
// Encode and Decode are safe for concurrent use. Decode writes U+FFFD
// (the replacement character) for an id outside [0, VocabSize()), so a
// model whose output layer is wider than the vocabulary cannot make it
// panic. MarshalText writes the tokenizer in the format described in the
// package documentation; Load reads any kind back.
type Tokenizer interface {
	// Encode returns the token ids of s.
	Encode(s string) []int
	// Decode returns the text of ids.
	Decode(ids []int) string
	// VocabSize returns the number of token ids: every id is in
	// [0, VocabSize()).
	VocabSize() int
	// MarshalText returns the tokenizer in the versioned text format.
	MarshalText() ([]byte, error)
}

// Header is the first word of every saved tokenizer; the format version
// and the kind ("byte", "char" or "bpe") follow it on the first line.
const Header = "shoshin-tokenizer"

// Version is the format version this package writes and reads.
const Version = 1

// MaxVocab is the largest vocabulary a tokenizer may have: 2^24, the
// largest count of integers float32 holds exactly, so every id survives
// the trip through a float32 feature tensor.
const MaxVocab = 1 << 24

// MaxLoadBytes caps the size of a saved tokenizer that Load reads (64 MiB).
const MaxLoadBytes = 64 << 20

var (
	_ Tokenizer = Bytes{}
	_ Tokenizer = (*Chars)(nil)
	_ Tokenizer = (*BPE)(nil)
)

// Save writes t to w in the text format.
func Save(w io.Writer, t Tokenizer) error {
	b, err := t.MarshalText()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// SaveFile writes t to the file at path.
func SaveFile(path string, t Tokenizer) error {
	b, err := t.MarshalText()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Load reads a tokenizer of any kind saved by Save (at most MaxLoadBytes).
// name labels errors, which are *data.FormatError values giving the line.
func Load(r io.Reader, name string) (Tokenizer, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxLoadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("text.Load: %s: %w", name, err)
	}
	if len(b) > MaxLoadBytes {
		return nil, &data.FormatError{File: name, Offset: MaxLoadBytes, Msg: fmt.Sprintf("larger than %d bytes", MaxLoadBytes)}
	}
	return parse(b, name)
}

// LoadFile reads the tokenizer saved at path.
func LoadFile(path string) (Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Load(f, path)
}

// Unmarshal reads a tokenizer of any kind from its text form, e.g. one
// kept in a model file's metadata.
func Unmarshal(text []byte) (Tokenizer, error) {
	if len(text) > MaxLoadBytes {
		return nil, &data.FormatError{File: "tokenizer", Offset: MaxLoadBytes, Msg: fmt.Sprintf("larger than %d bytes", MaxLoadBytes)}
	}
	return parse(text, "tokenizer")
}

func parse(b []byte, name string) (Tokenizer, error) {
	p := &parser{src: b, name: name}
	kind, err := p.header("")
	if err != nil {
		return nil, err
	}
	switch kind {
	case "byte":
		var t Bytes
		return t, t.parseBody(p)
	case "char":
		t := new(Chars)
		return t, t.parseBody(p)
	case "bpe":
		t := new(BPE)
		return t, t.parseBody(p)
	}
	return nil, p.errf(1, "unknown tokenizer kind %s, want byte, char or bpe", quoteShort(kind))
}

// parser reads the line-oriented format, numbering lines from 1.
type parser struct {
	src  []byte
	name string
	line int
}

// next returns the next line without its "\n"; ok is false at the end.
// The last line may lack its newline.
func (p *parser) next() (line string, ok bool) {
	if len(p.src) == 0 {
		return "", false
	}
	p.line++
	i := bytes.IndexByte(p.src, '\n')
	if i < 0 {
		line, p.src = string(p.src), nil
	} else {
		line, p.src = string(p.src[:i]), p.src[i+1:]
	}
	return line, true
}

func (p *parser) errf(line int, format string, args ...any) error {
	return &data.FormatError{File: p.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// need returns the next line or an error naming what was expected.
func (p *parser) need(what string) (string, error) {
	l, ok := p.next()
	if !ok {
		return "", p.errf(p.line+1, "unexpected end of input, want %s", what)
	}
	return l, nil
}

// header reads "shoshin-tokenizer 1 <kind>" and returns the kind; when
// want is set, the kind must be want.
func (p *parser) header(want string) (string, error) {
	l, err := p.need("header line " + strconv.Quote(Header+" 1 <kind>"))
	if err != nil {
		return "", err
	}
	f := strings.Split(l, " ")
	if len(f) != 3 || f[0] != Header {
		return "", p.errf(1, "header %s, want %q", quoteShort(l), Header+" 1 <kind>")
	}
	if f[1] != strconv.Itoa(Version) {
		return "", p.errf(1, "format version %s, want %d", quoteShort(f[1]), Version)
	}
	if want != "" && f[2] != want {
		return "", p.errf(1, "tokenizer kind %s, want %s", quoteShort(f[2]), want)
	}
	return f[2], nil
}

// count reads "<key> <n>" with 0 <= n <= limit.
func (p *parser) count(key string, limit int) (int, error) {
	l, err := p.need(fmt.Sprintf("%q line", key+" <n>"))
	if err != nil {
		return 0, err
	}
	v, ok := strings.CutPrefix(l, key+" ")
	if !ok {
		return 0, p.errf(p.line, "got %s, want %q", quoteShort(l), key+" <n>")
	}
	n, err := atoi(v)
	if err != nil || n > limit {
		return 0, p.errf(p.line, "%s count %s, want an integer in [0, %d]", key, quoteShort(v), limit)
	}
	return n, nil
}

// end checks that nothing but an optional final newline is left.
func (p *parser) end() error {
	if l, ok := p.next(); ok {
		return p.errf(p.line, "unexpected %s after the end of the tokenizer", quoteShort(l))
	}
	return nil
}

// atoi parses a canonical non-negative decimal integer below 2^31 (no
// sign, no leading zeros).
func atoi(s string) (int, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, strconv.ErrSyntax
	}
	var n int64 // ten digits fit an int64 on every target
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int64(c-'0')
	}
	if n > math.MaxInt32 {
		return 0, strconv.ErrRange
	}
	return int(n), nil
}

// quoteShort quotes at most 32 bytes of s for an error message.
func quoteShort(s string) string {
	if len(s) > 32 {
		return strconv.Quote(s[:32]) + "..."
	}
	return strconv.Quote(s)
}

// headerLine returns the first line of the format for kind.
func headerLine(kind string) string {
	return fmt.Sprintf("%s %d %s\n", Header, Version, kind)
}
