package text

// Bytes is the byte-level tokenizer: each byte of the text is one token,
// id = byte value, so the vocabulary has 256 ids and any byte string,
// valid UTF-8 or not, round-trips exactly. The zero value is ready to use.
type Bytes struct{}

// Encode returns the bytes of s as ids in [0, 256).
func (Bytes) Encode(s string) []int {
	ids := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = int(s[i])
	}
	return ids
}

// Decode returns the bytes ids stand for; an id outside [0, 256) gives
// U+FFFD.
func (Bytes) Decode(ids []int) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id > 255 {
			b = append(b, replacement...)
			continue
		}
		b = append(b, byte(id))
	}
	return string(b)
}

// VocabSize returns 256.
func (Bytes) VocabSize() int { return 256 }

// MarshalText returns the one-line text form "shoshin-tokenizer 1 byte".
func (Bytes) MarshalText() ([]byte, error) { return []byte(headerLine("byte")), nil }

// UnmarshalText checks that text is a saved byte-level tokenizer.
func (t *Bytes) UnmarshalText(text []byte) error {
	p := &parser{src: text, name: "tokenizer"}
	if _, err := p.header("byte"); err != nil {
		return err
	}
	return t.parseBody(p)
}

func (Bytes) parseBody(p *parser) error { return p.end() }

// replacement is U+FFFD in UTF-8, written for ids a tokenizer lacks.
const replacement = "\uFFFD"
