package text

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Chars is a character-level tokenizer. Its vocabulary is the set of
// characters (runes) of a corpus in increasing code point order, ids 0 to
// n-1, followed by one more id, Unk, for characters it has not seen. So a
// vocabulary built from the same corpus, or any text with the same set of
// characters, is always the same.
//
// Encode maps an unknown character to Unk, and Decode writes Unk as
// U+FFFD; EncodeStrict returns an error instead. Text made only of
// known characters round-trips exactly. Chars works on runes: a byte that
// is not valid UTF-8 reads as U+FFFD (use Bytes or BPE for exact byte
// round trips).
type Chars struct {
	runes []rune       // id -> rune, sorted
	ids   map[rune]int // rune -> id
	ascii [128]int32   // id+1 of each ASCII rune, 0 if absent
}

// NewChars returns the character tokenizer of corpus. It returns an error
// for an empty corpus.
func NewChars(corpus string) (*Chars, error) {
	if corpus == "" {
		return nil, errors.New("text.NewChars: empty corpus")
	}
	seen := map[rune]bool{}
	for _, r := range corpus {
		seen[r] = true
	}
	rs := make([]rune, 0, len(seen))
	for r := range seen {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return newChars(rs), nil
}

// NewCharsFromRunes returns the character tokenizer of the given
// characters (in any order; duplicates are removed). It returns an error
// if there are none or one is not a valid Unicode scalar value.
func NewCharsFromRunes(rs []rune) (*Chars, error) {
	if len(rs) == 0 {
		return nil, errors.New("text.NewCharsFromRunes: no characters")
	}
	rs = slices.Clone(rs)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	for _, r := range rs {
		if !utf8.ValidRune(r) {
			return nil, fmt.Errorf("text.NewCharsFromRunes: %U is not a valid character", r)
		}
	}
	return newChars(rs), nil
}

func newChars(rs []rune) *Chars {
	t := &Chars{runes: rs, ids: make(map[rune]int, len(rs))}
	for i, r := range rs {
		t.ids[r] = i
		if r < 128 {
			t.ascii[r] = int32(i + 1)
		}
	}
	return t
}

// Unk returns the id of unknown characters, VocabSize()-1.
func (t *Chars) Unk() int { return len(t.runes) }

// VocabSize returns the number of characters plus one (Unk).
func (t *Chars) VocabSize() int { return len(t.runes) + 1 }

// Runes returns the characters of the vocabulary in id order.
func (t *Chars) Runes() []rune { return slices.Clone(t.runes) }

func (t *Chars) id(r rune) (int, bool) {
	if r >= 0 && r < 128 {
		v := t.ascii[r]
		return int(v) - 1, v != 0
	}
	id, ok := t.ids[r]
	return id, ok
}

// Encode returns the id of each character of s, Unk for unknown ones.
func (t *Chars) Encode(s string) []int {
	ids := make([]int, 0, len(s))
	for _, r := range s {
		id, ok := t.id(r)
		if !ok {
			id = t.Unk()
		}
		ids = append(ids, id)
	}
	return ids
}

// EncodeStrict is like Encode but returns an error naming the byte offset
// of the first character that is not in the vocabulary.
func (t *Chars) EncodeStrict(s string) ([]int, error) {
	ids := make([]int, 0, len(s))
	for i, r := range s {
		id, ok := t.id(r)
		if !ok {
			return nil, fmt.Errorf("text.Chars.EncodeStrict: character %q (%U) at byte offset %d is not in the vocabulary", r, r, i)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Decode returns the characters of ids; Unk and ids outside the
// vocabulary give U+FFFD.
func (t *Chars) Decode(ids []int) string {
	var b strings.Builder
	b.Grow(len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(t.runes) {
			b.WriteString(replacement)
			continue
		}
		b.WriteRune(t.runes[id])
	}
	return b.String()
}

// MarshalText returns the text form: the header line, "chars <n>", then
// one line per character in id order, its code point written as U+XXXX
// (four to six upper-case hex digits), e.g.
//
//	shoshin-tokenizer 1 char
//	chars 3
//	U+000A
//	U+0020
//	U+0061
func (t *Chars) MarshalText() ([]byte, error) {
	var b strings.Builder
	b.WriteString(headerLine("char"))
	fmt.Fprintf(&b, "chars %d\n", len(t.runes))
	for _, r := range t.runes {
		fmt.Fprintf(&b, "%U\n", r)
	}
	return []byte(b.String()), nil
}

// UnmarshalText reads a character tokenizer written by MarshalText,
// replacing t. Errors are *data.FormatError values naming the line.
func (t *Chars) UnmarshalText(text []byte) error {
	p := &parser{src: text, name: "tokenizer"}
	if _, err := p.header("char"); err != nil {
		return err
	}
	return t.parseBody(p)
}

func (t *Chars) parseBody(p *parser) error {
	n, err := p.count("chars", utf8.MaxRune+1)
	if err != nil {
		return err
	}
	if n == 0 {
		return p.errf(p.line, "chars 0, want at least one character")
	}
	var rs []rune
	for range n {
		l, err := p.need(fmt.Sprintf("character %d of %d", len(rs)+1, n))
		if err != nil {
			return err
		}
		r, ok := parseCodePoint(l)
		if !ok {
			return p.errf(p.line, "character %s, want a code point U+XXXX", quoteShort(l))
		}
		if len(rs) > 0 && r <= rs[len(rs)-1] {
			return p.errf(p.line, "character %U after %U, want increasing code points", r, rs[len(rs)-1])
		}
		rs = append(rs, r)
	}
	if err := p.end(); err != nil {
		return err
	}
	*t = *newChars(rs)
	return nil
}

// parseCodePoint parses "U+XXXX" exactly as %U writes it: 4 to 6
// upper-case hex digits, no needless leading zero, a valid scalar value.
func parseCodePoint(s string) (rune, bool) {
	h, ok := strings.CutPrefix(s, "U+")
	if !ok || len(h) < 4 || len(h) > 6 || (len(h) > 4 && h[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return 0, false
	}
	return rune(v), true
}
