package text

import (
	"unicode"
	"unicode/utf8"
)

// Split cuts s into the chunks that BPE merges never cross, following the
// GPT-4 (cl100k) pre-tokenization pattern
//
//	'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+
//
// written by hand because Go's regexp has no lookahead or possessive
// quantifiers. At each position the first alternative that matches wins:
// an English contraction ('s 't 're 've 'm 'll 'd, ASCII letters in either
// case); a run of letters with at most one leading character that is not a
// letter, digit, CR or LF (" the", "(word"); one to three digits;
// punctuation with an optional leading space and trailing newlines; a run
// of whitespace up to its last newline; a run of whitespace less its last
// character when a non-space follows (so the space joins the next word);
// any other run of whitespace.
//
// Letters are unicode.IsLetter, digits unicode.IsNumber, whitespace
// unicode.IsSpace. Bytes that are not valid UTF-8 count one by one as
// punctuation, so Split accepts any byte string. The chunks are
// consecutive substrings of s: joined, they give s back exactly. Split
// calls yield for each chunk in order and stops early if yield returns
// false.
func Split(s string, yield func(chunk string) bool) {
	for len(s) > 0 {
		n := chunkLen(s)
		if !yield(s[:n]) {
			return
		}
		s = s[n:]
	}
}

// Chunks returns the chunks of s (see Split) as a slice.
func Chunks(s string) []string {
	var out []string
	Split(s, func(c string) bool { out = append(out, c); return true })
	return out
}

// char classes of one rune (or one invalid byte).
const (
	clsOther = iota // punctuation, symbols, invalid bytes
	clsLetter
	clsNumber
	clsSpace // whitespace other than CR and LF
	clsNewline
)

// next decodes the rune at s[i:] and returns its class and width. An
// invalid byte is class clsOther, width 1.
func next(s string, i int) (cls, w int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && w == 1:
		return clsOther, 1
	case unicode.IsLetter(r):
		return clsLetter, w
	case unicode.IsNumber(r):
		return clsNumber, w
	case unicode.IsSpace(r):
		return clsSpace, w
	}
	return clsOther, w
}

var asciiClass = func() (t [128]int) {
	for c := range t {
		r := rune(c)
		switch {
		case r == '\r' || r == '\n':
			t[c] = clsNewline
		case unicode.IsLetter(r):
			t[c] = clsLetter
		case unicode.IsNumber(r):
			t[c] = clsNumber
		case unicode.IsSpace(r):
			t[c] = clsSpace
		default:
			t[c] = clsOther
		}
	}
	return t
}()

func isWhite(cls int) bool { return cls == clsSpace || cls == clsNewline }

// chunkLen returns the length in bytes of the chunk at the start of s
// (len(s) > 0).
func chunkLen(s string) int {
	// 1. '(?i:[sdmt]|ll|ve|re)
	if s[0] == '\'' && len(s) >= 2 {
		switch lower(s[1]) {
		case 's', 'd', 'm', 't':
			return 2
		case 'l', 'v', 'r':
			if len(s) >= 3 {
				a, b := lower(s[1]), lower(s[2])
				if (a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e') {
					return 3
				}
			}
		}
	}
	c0, w0 := next(s, 0)
	// 2. [^\r\n\p{L}\p{N}]?+\p{L}+
	{
		i := 0
		if c0 != clsLetter && c0 != clsNumber && c0 != clsNewline {
			i = w0
		}
		if n := runOf(s, i, clsLetter); n > i {
			return n
		}
	}
	// 3. \p{N}{1,3}
	if c0 == clsNumber {
		i := w0
		for k := 1; k < 3 && i < len(s); k++ {
			c, w := next(s, i)
			if c != clsNumber {
				break
			}
			i += w
		}
		return i
	}
	// 4.  ?[^\s\p{L}\p{N}]++[\r\n]*
	{
		i := 0
		if s[0] == ' ' {
			i = 1
		}
		if n := runOf(s, i, clsOther); n > i {
			return runOf(s, n, clsNewline)
		}
	}
	if !isWhite(c0) {
		return w0 // unreachable: every class is covered above
	}
	// Whitespace run s[:end], its last newline and its last rune.
	end, lastNL, lastStart := 0, -1, 0
	for end < len(s) {
		c, w := next(s, end)
		if !isWhite(c) {
			break
		}
		if c == clsNewline {
			lastNL = end + w
		}
		lastStart = end
		end += w
	}
	// 5. \s*[\r\n]
	if lastNL > 0 {
		return lastNL
	}
	// 6. \s+(?!\S)
	if end == len(s) {
		return end
	}
	if lastStart > 0 {
		return lastStart
	}
	// 7. \s+
	return end
}

// runOf returns the end of the run of runes of class cls starting at i.
func runOf(s string, i, cls int) int {
	for i < len(s) {
		c, w := next(s, i)
		if c != cls {
			break
		}
		i += w
	}
	return i
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
