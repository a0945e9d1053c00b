package text

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestSplit(t *testing.T) {
	// Expected chunks worked out from the GPT-4 pattern, alternative by
	// alternative (see Split).
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		{"it's", []string{"it", "'s"}},
		{"don't", []string{"don", "'t"}},
		{"I'LL go", []string{"I", "'LL", " go"}},
		{"we've they're", []string{"we", "'ve", " they", "'re"}},
		{"'x", []string{"'x"}}, // not a contraction: punctuation + letters
		{"12345", []string{"123", "45"}},
		{"3.14", []string{"3", ".", "14"}},
		{"$100", []string{"$", "100"}},
		{"hello   world", []string{"hello", "  ", " world"}},
		{"a\n\nb", []string{"a", "\n\n", "b"}},
		{"a  \n  b", []string{"a", "  \n", " ", " b"}},
		{"x  ", []string{"x", "  "}},
		{"\t\tx", []string{"\t", "\tx"}},
		{"hi!!! ok", []string{"hi", "!!!", " ok"}},
		{" ?!\n\nnext", []string{" ?!\n\n", "next"}},
		{"(word)", []string{"(word", ")"}},
		{"a\r\n", []string{"a", "\r\n"}},
		{"a\nb", []string{"a", "\n", "b"}}, // a newline never leads a word
		{"안녕 세상", []string{"안녕", " 세상"}},
		{"\u3000x", []string{"\u3000x"}},
		{"e\u0301", []string{"e", "\u0301"}}, // a combining mark is not a letter
		{"\xffab", []string{"\xffab"}},       // an invalid byte counts as punctuation
		{"a\xff\xfe", []string{"a", "\xff\xfe"}},
		{"x 😀😀 y", []string{"x", " 😀😀", " y"}},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Chunks(c.in), "%q", c.in)
	}
}

func TestSplitStopsEarly(t *testing.T) {
	var got []string
	Split("one two three", func(c string) bool {
		got = append(got, c)
		return len(got) < 2
	})
	require.Equal(t, []string{"one", " two"}, got)
}

func FuzzSplit(f *testing.F) {
	for _, s := range append(roundTripCases, invalidUTF8...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs := Chunks(s)
		if got := strings.Join(cs, ""); got != s {
			t.Fatalf("chunks of %q join to %q", s, got)
		}
		for _, c := range cs {
			if c == "" {
				t.Fatalf("empty chunk in %q", s)
			}
			// A chunk never ends inside a valid multi-byte character.
			if utf8.ValidString(s) && !utf8.ValidString(c) {
				t.Fatalf("chunk %q of valid %q is cut inside a character", c, s)
			}
		}
	})
}
