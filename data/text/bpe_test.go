package text

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var opticksOnce = sync.OnceValues(func() (string, error) {
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "src", "testdata", "Isaac.Newton-Opticks.txt"))
	return string(b), err
})

// opticks returns the text of Newton's Opticks shipped with Go (567 KB).
func opticks(tb testing.TB) string {
	tb.Helper()
	s, err := opticksOnce()
	if err != nil {
		tb.Skipf("Opticks text not found in GOROOT: %v", err)
	}
	return s
}

// roundTripCases are strings every tokenizer must give back exactly.
var roundTripCases = []string{
	"",
	"a",
	"hello world",
	"😀",                        // emoji, 4 bytes
	"👩‍👩‍👧",                    // emoji ZWJ sequence
	"안녕하세요",                    // Hangul syllables
	"e\u0301 n\u0303",          // combining marks
	"tab\tnew\nline\r\n  two",  // whitespace kinds
	"it's we'll THEY'RE 12345", // contractions, digits
	"\u3000\u00a0x",            // Unicode spaces
}

// invalidUTF8 are byte strings that are not UTF-8.
var invalidUTF8 = []string{
	"\xff",
	"a\xffb",
	"\xc3",           // truncated 2-byte sequence
	"\xed\xa0\x80",   // surrogate
	"\xf0\x9f\x98",   // truncated emoji
	" \x80\x80 word", // continuation bytes
}

func TestTrainBPEHandComputed(t *testing.T) {
	// "aaabdaaabac" is one chunk (all letters). Pair counts:
	//   aa 4, ab 2, bd 1, da 1, ba 1, ac 1        -> merge (97,97) = 256 "aa"
	// tokens: aa a b d aa a b a c
	//   (256,97) 2, (97,98) 2, (98,100) 1, (100,256) 1, (98,97) 1, (97,99) 1
	//   tie at 2: smaller left id wins        -> merge (97,98) = 257 "ab"
	// tokens: aa ab d aa ab a c
	//   (256,257) 2, others 1                  -> merge (256,257) = 258 "aaab"
	// tokens: aaab d aaab a c
	tok, err := TrainBPE("aaabdaaabac", 256+3)
	require.NoError(t, err)
	require.Equal(t, []Pair{{97, 97}, {97, 98}, {256, 257}}, tok.Merges())
	require.Equal(t, []int{258, 'd', 258, 'a', 'c'}, tok.Encode("aaabdaaabac"))
	s, _ := tok.Token(258)
	require.Equal(t, "aaab", s)
	require.Equal(t, 259, tok.VocabSize())
}

func TestTrainBPEChunksAndWeights(t *testing.T) {
	// Chunks: "ab", " ab", " ab", " cd" (the space joins the next word).
	// Pairs weighted by chunk frequency:
	//   (a,b) 1+2 = 3, (' ',a) 2, (' ',c) 1, (c,d) 1   -> (97,98) = 256
	//   (' ',256) 2, (' ',c) 1, (c,d) 1                -> (32,256) = 257
	//   (' ',c) 1, (c,d) 1, tie: smaller left id        -> (32,99) = 258
	//   (258,d) 1                                       -> (258,100) = 259
	// Without the split, (b,' ') would count 3 and (256,' ') would be the
	// second merge.
	tok, err := TrainBPE("ab ab ab cd", 256+10)
	require.NoError(t, err)
	require.Equal(t, []Pair{{97, 98}, {32, 256}, {32, 99}, {258, 100}}, tok.Merges(),
		"training stops when no pair is left")
	require.Equal(t, []int{256, 257, 257, 259}, tok.Encode("ab ab ab cd"))
}

func TestTrainBPEWeights(t *testing.T) {
	// Distinct chunks "ab", "\n", "zy"; "zy" occurs twice. Weighted counts:
	//   (z,y) 2, (a,b) 1 -> (122,121) = 256, then (97,98) = 257.
	// Counting each distinct chunk once would tie and pick (97,98) first.
	tok, err := TrainBPE("ab\nzy\nzy", 256+5)
	require.NoError(t, err)
	require.Equal(t, []Pair{{122, 121}, {97, 98}}, tok.Merges())
}

func TestBPEWholeChunkShortcut(t *testing.T) {
	// Tokens 258 and 259 both spell "abc", but merging "abc" applies
	// (a,b) first and then (256,c): 259. The whole-chunk lookup must agree.
	tok, err := NewBPE([]Pair{{'a', 'b'}, {'b', 'c'}, {'a', 257}, {256, 'c'}})
	require.NoError(t, err)
	require.Equal(t, []int{259}, naiveEncode(tok, "abc"))
	require.Equal(t, []int{259}, tok.Encode("abc"))
	require.Equal(t, []int{259, 32, 259}, tok.Encode("abc abc"))
}

func TestTrainBPEDeterministic(t *testing.T) {
	corpus := opticks(t) // the whole book: about 0.1 s
	a, err := TrainBPE(corpus, 400)
	require.NoError(t, err)
	b, err := TrainBPE(corpus, 400)
	require.NoError(t, err)
	require.Equal(t, a.Merges(), b.Merges())
	require.Len(t, a.Merges(), 400-256)
}

// naiveTrain is minbpe's RegexTokenizer.train with our tie-break: recount
// every pair over every chunk for each merge.
func naiveTrain(corpus string, n int) []Pair {
	var words [][]int
	for _, c := range Chunks(corpus) {
		w := make([]int, len(c))
		for i := range len(c) {
			w[i] = int(c[i])
		}
		words = append(words, w)
	}
	var merges []Pair
	for len(merges) < n {
		counts := map[Pair]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w); i++ {
				counts[Pair{w[i], w[i+1]}]++
			}
		}
		best, bc := Pair{}, 0
		for p, c := range counts {
			if c > bc || (c == bc && (p.Left < best.Left || (p.Left == best.Left && p.Right < best.Right))) {
				best, bc = p, c
			}
		}
		if bc == 0 {
			break
		}
		id := 256 + len(merges)
		merges = append(merges, best)
		for k, w := range words {
			out := w[:0:0]
			for i := 0; i < len(w); {
				if i+1 < len(w) && w[i] == best.Left && w[i+1] == best.Right {
					out = append(out, id)
					i += 2
				} else {
					out = append(out, w[i])
					i++
				}
			}
			words[k] = out
		}
	}
	return merges
}

func TestTrainBPEMatchesNaive(t *testing.T) {
	// Overlapping runs (aaaa, spaces) exercise the incremental counts.
	corpus := "aaaa aaa aa   b  bbbb abab ababab " + opticks(t)[5000:12000]
	tok, err := TrainBPE(corpus, 256+120)
	require.NoError(t, err)
	require.Equal(t, naiveTrain(corpus, 120), tok.Merges())
}

// naiveEncode is minbpe's encode: per chunk, merge all occurrences of the
// lowest-ranked pair present until none is left.
func naiveEncode(t *BPE, s string) []int {
	out := []int{}
	for _, c := range Chunks(s) {
		w := make([]int, len(c))
		for i := range len(c) {
			w[i] = int(c[i])
		}
		for {
			best := -1
			for i := 0; i+1 < len(w); i++ {
				if r, ok := t.ranks[Pair{w[i], w[i+1]}.key()]; ok && (best < 0 || int(r) < best) {
					best = int(r)
				}
			}
			if best < 0 {
				break
			}
			m := t.merges[best]
			nw := w[:0:0]
			for i := 0; i < len(w); {
				if i+1 < len(w) && w[i] == m.Left && w[i+1] == m.Right {
					nw = append(nw, 256+best)
					i += 2
				} else {
					nw = append(nw, w[i])
					i++
				}
			}
			w = nw
		}
		out = append(out, w...)
	}
	return out
}

func TestBPEEncodeMatchesNaive(t *testing.T) {
	text := opticks(t)
	tok, err := TrainBPE(text[:60000], 512)
	require.NoError(t, err)
	long := "                                                                                  x" +
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" +
		"thethethethethethethethethethethethethethethethethethethethethethethethethethethethethethe"
	for _, s := range append(slices.Clone(roundTripCases), text[60000:70000], long) {
		require.Equal(t, naiveEncode(tok, s), tok.Encode(s), "%.40q", s)
	}
}

func TestBPERoundTrip(t *testing.T) {
	text := opticks(t)
	tok, err := TrainBPE(text[:50000], 300)
	require.NoError(t, err)
	for _, s := range append(slices.Clone(roundTripCases), invalidUTF8...) {
		ids := tok.Encode(s)
		require.Equal(t, s, tok.Decode(ids), "%q", s)
		for _, id := range ids {
			require.True(t, id >= 0 && id < tok.VocabSize())
		}
	}
	ids := tok.Encode(text)
	require.Equal(t, text, tok.Decode(ids))
	require.Less(t, len(ids), len(text)*3/4, "merges must compress the text")
}

func TestBPESpecial(t *testing.T) {
	tok, err := TrainBPE("hello world, hello there", 260)
	require.NoError(t, err)
	eot, err := tok.AddSpecial("<|endoftext|>")
	require.NoError(t, err)
	require.Equal(t, 260, eot)
	_, err = tok.AddSpecial("<|endoftext|>")
	require.Error(t, err)
	_, err = tok.AddSpecial("")
	require.Error(t, err)
	bos, err := tok.AddSpecial("<|end")
	require.NoError(t, err)
	require.Equal(t, 262, tok.VocabSize())

	s := "hello<|endoftext|>world"
	plain := tok.Encode(s)
	require.NotContains(t, plain, eot, "Encode must not recognise special tokens")
	require.Equal(t, s, tok.Decode(plain))

	ids, err := tok.EncodeSpecial(s, nil)
	require.NoError(t, err)
	require.Equal(t, append(append(tok.Encode("hello"), eot), tok.Encode("world")...), ids,
		"the longer special wins where two start at the same place")
	require.Equal(t, s, tok.Decode(ids))

	ids, err = tok.EncodeSpecial(s, []string{"<|end"})
	require.NoError(t, err)
	require.Contains(t, ids, bos)
	require.NotContains(t, ids, eot)
	require.Equal(t, s, tok.Decode(ids))

	// Several specials, repeated, with one that never occurs.
	doc := "a cat<|endoftext|>hat<|end<|endoftext|><|endoftext|>"
	ids, err = tok.EncodeSpecial(doc, nil)
	require.NoError(t, err)
	require.Equal(t, doc, tok.Decode(ids))
	want := append(tok.Encode("a cat"), eot)
	want = append(append(want, tok.Encode("hat")...), bos, eot, eot)
	require.Equal(t, want, ids)
	ids, err = tok.EncodeSpecial(doc, []string{"<|endoftext|>"})
	require.NoError(t, err)
	require.Equal(t, doc, tok.Decode(ids))
	require.NotContains(t, ids, bos)

	_, err = tok.EncodeSpecial(s, []string{"<|nope|>"})
	require.ErrorContains(t, err, "not a registered special token")
}

func TestBPEDecodeBadIDs(t *testing.T) {
	tok, err := TrainBPE("abab", 257)
	require.NoError(t, err)
	require.Equal(t, "ab\uFFFD\uFFFDa", tok.Decode([]int{256, -1, 257, 'a'}))
}

func TestTrainBPEErrors(t *testing.T) {
	_, err := TrainBPE("", 300)
	require.ErrorContains(t, err, "empty corpus")
	_, err = TrainBPE("abc", 255)
	require.ErrorContains(t, err, "vocabulary size 255")
	_, err = TrainBPE("abc", MaxVocab+1)
	require.Error(t, err)
}

func TestTrainBPETokenLengthCap(t *testing.T) {
	// A run of 1000 letters would otherwise grow tokens of 512, 1024 bytes.
	corpus := string(slices.Repeat([]byte("a"), 1000))
	tok, err := TrainBPE(corpus, 300)
	require.NoError(t, err)
	for id := 256; id < tok.VocabSize(); id++ {
		s, _ := tok.Token(id)
		require.LessOrEqual(t, len(s), MaxTokenBytes)
	}
	require.Equal(t, corpus, tok.Decode(tok.Encode(corpus)))
}

func TestNewBPEValidates(t *testing.T) {
	_, err := NewBPE([]Pair{{97, 98}, {256, 257}})
	require.ErrorContains(t, err, "merge 1")
	_, err = NewBPE([]Pair{{97, 98}, {97, 98}})
	require.ErrorContains(t, err, "duplicate")
	_, err = NewBPE([]Pair{{-1, 98}})
	require.Error(t, err)
	tok, err := NewBPE([]Pair{{104, 105}})
	require.NoError(t, err)
	require.Equal(t, []int{256, '!'}, tok.Encode("hi!"))
}

func FuzzBPERoundTrip(f *testing.F) {
	tok, err := TrainBPE("the cat sat on the mat; the hat, 1234 cats!\n\n  spaces  \t", 300)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range append(slices.Clone(roundTripCases), invalidUTF8...) {
		f.Add([]byte(s))
	}
	// Chunks longer than longChunk take the heap path.
	f.Add([]byte(strings.Repeat("the", 40) + strings.Repeat(" ", 90) + "x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := string(b)
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if want := naiveEncode(tok, s); !slices.Equal(ids, want) {
			t.Fatalf("Encode(%q) = %v, minbpe-style merging gives %v", s, ids, want)
		}
	})
}

func TestBPEConcurrentEncode(t *testing.T) {
	text := opticks(t)[:40000]
	tok, err := TrainBPE(text, 320)
	require.NoError(t, err)
	want := naiveEncode(tok, text)
	var wg sync.WaitGroup
	got := make([][]int, 4)
	for g := range got {
		wg.Go(func() { got[g] = tok.Encode(text) })
	}
	wg.Wait()
	for _, ids := range got {
		require.Equal(t, want, ids)
	}
}
