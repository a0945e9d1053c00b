package text

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/stretchr/testify/require"
)

func TestBytesRoundTrip(t *testing.T) {
	var tok Bytes
	for _, s := range append(slices.Clone(roundTripCases), invalidUTF8...) {
		ids := tok.Encode(s)
		require.Len(t, ids, len(s))
		require.Equal(t, s, tok.Decode(ids), "%q", s)
	}
	require.Equal(t, []int{0xf0, 0x9f, 0x98, 0x80}, tok.Encode("😀"))
	text := opticks(t)
	require.Equal(t, text, tok.Decode(tok.Encode(text)))
	require.Equal(t, "a\uFFFD\uFFFD", tok.Decode([]int{'a', 256, -1}))
	require.Equal(t, 256, tok.VocabSize())
}

func TestCharsRoundTrip(t *testing.T) {
	corpus := strings.Join(roundTripCases, "|")
	tok, err := NewChars(corpus)
	require.NoError(t, err)
	for _, s := range roundTripCases {
		ids := tok.Encode(s)
		require.Equal(t, s, tok.Decode(ids), "%q", s)
		strict, err := tok.EncodeStrict(s)
		require.NoError(t, err)
		require.Equal(t, ids, strict)
	}
	text := opticks(t)
	tt, err := NewChars(text)
	require.NoError(t, err)
	ids := tt.Encode(text)
	require.Equal(t, text, tt.Decode(ids))
	require.NotContains(t, ids, tt.Unk())
}

func TestCharsVocabulary(t *testing.T) {
	// Sorted by code point: '\n' < ' ' < 'a' < 'b' < 'é'; Unk last.
	tok, err := NewChars("ba é\nab")
	require.NoError(t, err)
	require.Equal(t, []rune{'\n', ' ', 'a', 'b', 'é'}, tok.Runes())
	require.Equal(t, 5, tok.Unk())
	require.Equal(t, 6, tok.VocabSize())
	require.Equal(t, []int{3, 2, 1, 4, 0}, tok.Encode("ba é\n"))
	// Unknown characters.
	require.Equal(t, []int{2, 5, 3}, tok.Encode("azb"))
	require.Equal(t, "a\uFFFDb\uFFFD", tok.Decode([]int{2, 5, 3, 99}))
	_, err = tok.EncodeStrict("ab😀")
	require.ErrorContains(t, err, "byte offset 2")
	// Same characters in another order: same tokenizer.
	tok2, err := NewChars("\nébba a")
	require.NoError(t, err)
	require.Equal(t, tok.Runes(), tok2.Runes())
	_, err = NewChars("")
	require.ErrorContains(t, err, "empty corpus")
	_, err = NewCharsFromRunes([]rune{'a', 0xD800})
	require.Error(t, err)
	tok3, err := NewCharsFromRunes([]rune{'b', 'a', 'b'})
	require.NoError(t, err)
	require.Equal(t, []rune{'a', 'b'}, tok3.Runes())
}

func trainedBPE(t testing.TB) *BPE {
	tok, err := TrainBPE("the cat sat on the mat; the hat, 1234 cats!\n\n  spaces  \t", 290)
	require.NoError(t, err)
	_, err = tok.AddSpecial("<|endoftext|>")
	require.NoError(t, err)
	_, err = tok.AddSpecial("quote \" and \n newline")
	require.NoError(t, err)
	return tok
}

func TestSaveLoad(t *testing.T) {
	chars, err := NewChars("hello, wörld\n")
	require.NoError(t, err)
	bpe := trainedBPE(t)
	dir := t.TempDir()
	for _, tok := range []Tokenizer{Bytes{}, chars, bpe} {
		path := filepath.Join(dir, "tok.txt")
		require.NoError(t, SaveFile(path, tok))
		got, err := LoadFile(path)
		require.NoError(t, err)
		require.IsType(t, tok, got)
		require.Equal(t, tok.VocabSize(), got.VocabSize())
		s := "hello, wörld\n the cat <|endoftext|>"
		require.Equal(t, tok.Encode(s), got.Encode(s))
		a, _ := tok.MarshalText()
		b, _ := got.MarshalText()
		require.Equal(t, string(a), string(b))
		u, err := Unmarshal(a)
		require.NoError(t, err)
		require.Equal(t, tok.Encode(s), u.Encode(s))
	}
	b2, err := Unmarshal(must(bpe.MarshalText()))
	require.NoError(t, err)
	require.Equal(t, bpe.Merges(), b2.(*BPE).Merges())
	id, ok := b2.(*BPE).Special("quote \" and \n newline")
	require.True(t, ok)
	require.Equal(t, bpe.VocabSize()-1, id)

	// UnmarshalText on each type.
	var c Chars
	require.NoError(t, c.UnmarshalText(must(chars.MarshalText())))
	require.Equal(t, chars.Runes(), c.Runes())
	var bp BPE
	require.NoError(t, bp.UnmarshalText(must(bpe.MarshalText())))
	require.Equal(t, bpe.Merges(), bp.Merges())
	var by Bytes
	require.NoError(t, by.UnmarshalText(must(Bytes{}.MarshalText())))
	require.Error(t, by.UnmarshalText(must(chars.MarshalText())), "kind must match")
	require.Error(t, c.UnmarshalText(must(bpe.MarshalText())))
	require.Error(t, bp.UnmarshalText(must(chars.MarshalText())))
}

func TestFormatGolden(t *testing.T) {
	tok, err := NewBPE([]Pair{{97, 97}, {256, 98}})
	require.NoError(t, err)
	_, err = tok.AddSpecial("<|endoftext|>")
	require.NoError(t, err)
	require.Equal(t, "shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 2\n97 97\n256 98\nspecials 1\n258 \"<|endoftext|>\"\n",
		string(must(tok.MarshalText())))
	chars, err := NewChars("a \n")
	require.NoError(t, err)
	require.Equal(t, "shoshin-tokenizer 1 char\nchars 3\nU+000A\nU+0020\nU+0061\n", string(must(chars.MarshalText())))
	require.Equal(t, "shoshin-tokenizer 1 byte\n", string(must(Bytes{}.MarshalText())))
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"", "tok:1: unexpected end of input"},
		{"hello", "tok:1: header"},
		{"shoshin-tokenizer 2 bpe\n", "tok:1: format version \"2\""},
		{"shoshin-tokenizer 1 word\n", "tok:1: unknown tokenizer kind"},
		{"shoshin-tokenizer 1 byte\nextra\n", "tok:2: unexpected \"extra\""},
		{"shoshin-tokenizer 1 char\n", "tok:2: unexpected end of input"},
		{"shoshin-tokenizer 1 char\nchars 0\n", "tok:2: chars 0"},
		{"shoshin-tokenizer 1 char\nchars 2\nU+0061\n", "tok:4: unexpected end of input, want character 2 of 2"},
		{"shoshin-tokenizer 1 char\nchars 2\nU+0061\nU+0061\n", "tok:4: character U+0061 after U+0061"},
		{"shoshin-tokenizer 1 char\nchars 1\nU+D800\n", "tok:3: character \"U+D800\""},
		{"shoshin-tokenizer 1 char\nchars 1\nU+61\n", "tok:3: character \"U+61\""},
		{"shoshin-tokenizer 1 char\nchars 99999999\n", "tok:2: chars count \"99999999\""},
		{"shoshin-tokenizer 1 bpe\nsplit none\n", "tok:2: got \"split none\""},
		{"shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges -1\n", "tok:3: merges count \"-1\""},
		{"shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 1\n97\n", "tok:4: merge \"97\""},
		{"shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 1\n97 097\n", "tok:4: merge \"97 097\""},
		{"shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 2\n97 98\n97 257\n", "tok:5: merge 1 (97 257): ids must be in [0, 257)"},
		{"shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 2\n97 98\n97 98\n", "tok:5: merge 1 (97 98): duplicate merge"},
		{"shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 0\nspecials 1\n257 \"x\"\n", "tok:5: special token id 257, want 256"},
		{"shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 0\nspecials 1\n256 x\n", "tok:5: special token text \"x\""},
		{"shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 0\nspecials 1\n256 \"\"\n", "tok:5: special token \"\\\"\\\"\": text.BPE.AddSpecial: empty"},
		{"shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 0\nspecials 2\n256 \"a\"\n257 \"a\"\n", "tok:6: special token"},
	}
	for _, c := range cases {
		_, err := Load(strings.NewReader(c.in), "tok")
		require.Error(t, err, "%q", c.in)
		require.Contains(t, err.Error(), c.want, "%q", c.in)
		var fe *data.FormatError
		require.True(t, errors.As(err, &fe), "%q: %T", c.in, err)
	}
}

func TestLoadTokenLengthBomb(t *testing.T) {
	// Each merge doubles the previous token: 2, 4, ..., 512 bytes.
	var b strings.Builder
	b.WriteString("shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 9\n97 97\n")
	for i := range 8 {
		id := 256 + i
		b.WriteString(strconv.Itoa(id) + " " + strconv.Itoa(id) + "\n")
	}
	b.WriteString("specials 0\n")
	_, err := Load(strings.NewReader(b.String()), "tok")
	require.ErrorContains(t, err, "tok:12: merge 8 (263 263): token of 512 bytes, want at most 256")
}

func TestLoadTooLarge(t *testing.T) {
	_, err := Load(bytes.NewReader(make([]byte, MaxLoadBytes+1)), "big")
	require.ErrorContains(t, err, "larger than")
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// fuzzLoad checks that parsing never panics and that what it accepts
// writes back to the same text.
func fuzzLoad(f *testing.F, seeds ...Tokenizer) {
	for _, s := range seeds {
		f.Add(must(s.MarshalText()))
	}
	f.Add([]byte("shoshin-tokenizer 1 bpe\nsplit gpt4\nmerges 1\n97 98\nspecials 0"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tok, err := Unmarshal(in)
		if err != nil {
			var fe *data.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is %T, want *data.FormatError", err, err)
			}
			return
		}
		out := must(tok.MarshalText())
		back, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("re-reading %q: %v", out, err)
		}
		if !bytes.Equal(must(back.MarshalText()), out) {
			t.Fatalf("unstable text form %q", out)
		}
		s := "the cat \xff 😀"
		if got := tok.Decode(tok.Encode(s)); got != s && tok.VocabSize() >= 256 {
			if _, isChars := tok.(*Chars); !isChars {
				t.Fatalf("round trip of %q gave %q", s, got)
			}
		}
	})
}

func FuzzLoadBytes(f *testing.F) { fuzzLoad(f, Bytes{}) }

func FuzzLoadChars(f *testing.F) {
	c, err := NewChars("hello, wörld 😀\n")
	if err != nil {
		f.Fatal(err)
	}
	fuzzLoad(f, c)
}

func FuzzLoadBPE(f *testing.F) {
	tok, err := TrainBPE("the cat sat on the mat; the hat, 1234 cats!\n\n  spaces  \t", 290)
	if err != nil {
		f.Fatal(err)
	}
	_, _ = tok.AddSpecial("<|endoftext|>")
	fuzzLoad(f, tok)
}
