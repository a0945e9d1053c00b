package text

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Pair is one BPE merge: the adjacent tokens Left and Right become one new
// token.
type Pair struct {
	Left, Right int
}

func (p Pair) key() uint64 { return uint64(p.Left)<<32 | uint64(p.Right) }

// BPE is a byte-level byte-pair-encoding tokenizer in the style of GPT-2
// and minbpe. Ids 0 to 255 are the bytes; merge i (see Merges) makes id
// 256+i out of two earlier ids; special tokens, if any, come after the
// merges. The ordered list of merges is the whole learnt state: the bytes
// of every token are derived from it.
//
// Text is first cut into chunks with Split, so no token spans a word
// boundary. Each chunk starts as its bytes and the lowest-ranked (earliest
// learnt) merge that applies anywhere in it is applied, leftmost first,
// until none applies; a chunk that is itself a token is looked up
// directly. Encode and Decode therefore round-trip any byte string
// exactly, invalid UTF-8 included.
//
// Special tokens (AddSpecial), such as "<|endoftext|>", are recognised only
// by EncodeSpecial; Encode treats their text as ordinary text.
//
// A BPE comes from TrainBPE, NewBPE, Load or UnmarshalText (the zero value
// is only a target for UnmarshalText). It is safe for concurrent use once
// AddSpecial calls are done.
type BPE struct {
	merges []Pair
	ranks  map[uint64]int32 // pair -> rank (new id = 256 + rank)
	vocab  []string         // id -> bytes, merges only (len 256+len(merges))
	whole  map[string]int32 // chunks that encode to exactly one token
	maxTok int              // longest token in bytes

	special   []string       // special id - base -> text
	specialID map[string]int // text -> id

	pool sync.Pool // *encodeBuf

	// cache maps chunks already merged (string) to their tokens
	// ([]int32); it holds at most cacheMax chunks of up to cacheChunk
	// bytes, and is dropped when the merges change.
	cache  sync.Map
	cached atomic.Int64
}

const (
	cacheMax   = 1 << 16
	cacheChunk = 64
)

// base is the number of byte tokens.
const base = 256

// MaxTokenBytes is the longest token a BPE may have, in bytes. Training
// skips merges that would make a longer one, and loading rejects them.
const MaxTokenBytes = 256

// maxVocabBytes caps the bytes of all tokens together, so a crafted merge
// list cannot make loading allocate without bound.
const maxVocabBytes = 1 << 28

// NewBPE returns the tokenizer made of merges, in order: merges[i] makes
// id 256+i. Each merge must join two ids that exist before it, and no pair
// may appear twice.
func NewBPE(merges []Pair) (*BPE, error) {
	if len(merges) > MaxVocab-base {
		return nil, fmt.Errorf("text.NewBPE: %d merges, want at most %d", len(merges), MaxVocab-base)
	}
	t := &BPE{merges: slices.Clone(merges)}
	if i, err := t.build(); err != nil {
		return nil, fmt.Errorf("text.NewBPE: merge %d %v: %w", i, merges[i], err)
	}
	return t, nil
}

var errDupMerge = errors.New("duplicate merge")

// build derives the ranks and the vocabulary from t.merges. On error it
// returns the index of the bad merge.
func (t *BPE) build() (int, error) {
	t.ranks = make(map[uint64]int32, len(t.merges))
	t.vocab = make([]string, base, base+len(t.merges))
	t.maxTok = 1
	total := 0
	for i := range base {
		t.vocab[i] = string([]byte{byte(i)})
	}
	for i, m := range t.merges {
		id := base + i
		if m.Left < 0 || m.Left >= id || m.Right < 0 || m.Right >= id {
			return i, fmt.Errorf("ids must be in [0, %d)", id)
		}
		k := m.key()
		if _, dup := t.ranks[k]; dup {
			return i, errDupMerge
		}
		t.ranks[k] = int32(i)
		n := len(t.vocab[m.Left]) + len(t.vocab[m.Right])
		if n > MaxTokenBytes {
			return i, fmt.Errorf("token of %d bytes, want at most %d", n, MaxTokenBytes)
		}
		if total += n; total > maxVocabBytes {
			return i, fmt.Errorf("tokens of more than %d bytes in all", maxVocabBytes)
		}
		tok := t.vocab[m.Left] + t.vocab[m.Right]
		t.vocab = append(t.vocab, tok)
		t.maxTok = max(t.maxTok, len(tok))
	}
	t.whole = make(map[string]int32, len(t.vocab))
	var buf encodeBuf
	for id, tok := range t.vocab {
		if id < base {
			continue
		}
		if _, seen := t.whole[tok]; seen {
			continue
		}
		// Keep only tokens that merging their own bytes gives back, so the
		// shortcut never changes the result.
		if out := t.merge(tok, &buf, nil); len(out) == 1 && out[0] == id {
			t.whole[tok] = int32(id)
		}
	}
	return 0, nil
}

// Merges returns a copy of the ordered merges.
func (t *BPE) Merges() []Pair { return slices.Clone(t.merges) }

// VocabSize returns 256 + the number of merges + the number of special
// tokens.
func (t *BPE) VocabSize() int { return len(t.vocab) + len(t.special) }

// Token returns the bytes of token id (the text of a special token), and
// false if there is no such id.
func (t *BPE) Token(id int) (string, bool) {
	switch {
	case id >= 0 && id < len(t.vocab):
		return t.vocab[id], true
	case id >= len(t.vocab) && id < len(t.vocab)+len(t.special):
		return t.special[id-len(t.vocab)], true
	}
	return "", false
}

// AddSpecial adds a special token with the given text and returns its id,
// the next free one. It returns an error for empty text or text already
// registered. Call it before sharing t between goroutines.
func (t *BPE) AddSpecial(text string) (int, error) {
	if text == "" {
		return 0, errors.New("text.BPE.AddSpecial: empty special token")
	}
	if _, dup := t.specialID[text]; dup {
		return 0, fmt.Errorf("text.BPE.AddSpecial: special token %q already registered", text)
	}
	if t.VocabSize() >= MaxVocab {
		return 0, fmt.Errorf("text.BPE.AddSpecial: vocabulary full (%d ids)", MaxVocab)
	}
	if t.specialID == nil {
		t.specialID = map[string]int{}
	}
	id := t.VocabSize()
	t.special = append(t.special, text)
	t.specialID[text] = id
	return id, nil
}

// Special returns the id of the special token text, and false if it is
// not registered.
func (t *BPE) Special(text string) (int, bool) {
	id, ok := t.specialID[text]
	return id, ok
}

// encodeBuf holds the scratch slices of one chunk's merging.
type encodeBuf struct {
	ids   []int32
	ranks []int32
}

const noRank = math.MaxInt32

// Encode returns the token ids of s. Special tokens' text is encoded as
// ordinary text.
func (t *BPE) Encode(s string) []int {
	out := make([]int, 0, len(s)/3+1)
	return t.appendOrdinary(out, s)
}

func (t *BPE) appendOrdinary(out []int, s string) []int {
	buf, _ := t.pool.Get().(*encodeBuf)
	if buf == nil {
		buf = new(encodeBuf)
	}
	for len(s) > 0 {
		n := chunkLen(s)
		c := s[:n]
		s = s[n:]
		if n == 1 {
			out = append(out, int(c[0]))
			continue
		}
		if n <= t.maxTok {
			if id, ok := t.whole[c]; ok {
				out = append(out, int(id))
				continue
			}
		}
		if n > cacheChunk {
			out = t.merge(c, buf, out)
			continue
		}
		if v, ok := t.cache.Load(c); ok {
			for _, id := range v.([]int32) {
				out = append(out, int(id))
			}
			continue
		}
		k := len(out)
		out = t.merge(c, buf, out)
		if t.cached.Load() < cacheMax {
			ids := make([]int32, len(out)-k)
			for i, id := range out[k:] {
				ids[i] = int32(id)
			}
			if _, loaded := t.cache.LoadOrStore(strings.Clone(c), ids); !loaded {
				t.cached.Add(1)
			}
		}
	}
	t.pool.Put(buf)
	return out
}

// merge appends the tokens of one chunk to out: it starts from the bytes
// and applies the lowest-ranked merge present, leftmost first, until none
// applies.
func (t *BPE) merge(c string, buf *encodeBuf, out []int) []int {
	if len(c) > longChunk {
		return t.mergeLong(c, buf, out)
	}
	ids := buf.ids[:0]
	for i := 0; i < len(c); i++ {
		ids = append(ids, int32(c[i]))
	}
	// ranks[i] is the rank of the pair (ids[i], ids[i+1]).
	ranks := buf.ranks[:0]
	for i := 0; i+1 < len(ids); i++ {
		ranks = append(ranks, t.rank(ids[i], ids[i+1]))
	}
	for len(ranks) > 0 {
		best, at := int32(noRank), -1
		for i, r := range ranks {
			if r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		ids[at] = base + best
		ids = append(ids[:at+1], ids[at+2:]...)
		ranks = append(ranks[:at], ranks[at+1:]...)
		if at > 0 {
			ranks[at-1] = t.rank(ids[at-1], ids[at])
		}
		if at < len(ranks) {
			ranks[at] = t.rank(ids[at], ids[at+1])
		}
	}
	for _, id := range ids {
		out = append(out, int(id))
	}
	buf.ids, buf.ranks = ids, ranks
	return out
}

func (t *BPE) rank(a, b int32) int32 {
	if r, ok := t.ranks[uint64(a)<<32|uint64(b)]; ok {
		return r
	}
	return noRank
}

// EncodeSpecial is like Encode but also recognises special tokens: those
// listed in allowed, or all registered ones when allowed is nil. Where two
// allowed specials start at the same place, the longer wins. It returns
// an error if an allowed text is not a registered special token.
func (t *BPE) EncodeSpecial(s string, allowed []string) ([]int, error) {
	if allowed == nil {
		allowed = t.special
	}
	for _, a := range allowed {
		if _, ok := t.specialID[a]; !ok {
			return nil, fmt.Errorf("text.BPE.EncodeSpecial: %q is not a registered special token", a)
		}
	}
	out := make([]int, 0, len(s)/3+1)
	// next[k] is where allowed[k] next occurs at or after pos (-1: never),
	// so each special is searched for once per occurrence, not once per
	// segment.
	next := make([]int, len(allowed))
	for k, a := range allowed {
		next[k] = strings.Index(s, a)
	}
	pos := 0
	for {
		at, tok := -1, ""
		for k, a := range allowed {
			if next[k] >= 0 && next[k] < pos {
				if i := strings.Index(s[pos:], a); i >= 0 {
					next[k] = pos + i
				} else {
					next[k] = -1
				}
			}
			i := next[k]
			if i >= 0 && (at < 0 || i < at || (i == at && len(a) > len(tok))) {
				at, tok = i, a
			}
		}
		if at < 0 {
			return t.appendOrdinary(out, s[pos:]), nil
		}
		out = t.appendOrdinary(out, s[pos:at])
		out = append(out, t.specialID[tok])
		pos = at + len(tok)
	}
}

// Decode returns the bytes of ids joined (special tokens as their text);
// ids outside the vocabulary give U+FFFD.
func (t *BPE) Decode(ids []int) string {
	n := 0
	for _, id := range ids {
		if id >= 0 && id < len(t.vocab) {
			n += len(t.vocab[id])
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, id := range ids {
		tok, ok := t.Token(id)
		if !ok {
			tok = replacement
		}
		b.WriteString(tok)
	}
	return b.String()
}

// MarshalText returns the text form: the header line, "split gpt4" (the
// pre-tokenizer, see Split), "merges <n>", one line "<left> <right>" per
// merge in order, "specials <n>", and one line "<id> <quoted text>" per
// special token, the text quoted as by strconv.Quote, e.g.
//
//	shoshin-tokenizer 1 bpe
//	split gpt4
//	merges 2
//	97 97
//	256 98
//	specials 1
//	258 "<|endoftext|>"
func (t *BPE) MarshalText() ([]byte, error) {
	var b strings.Builder
	b.Grow(16 * len(t.merges))
	b.WriteString(headerLine("bpe"))
	b.WriteString("split gpt4\n")
	fmt.Fprintf(&b, "merges %d\n", len(t.merges))
	for _, m := range t.merges {
		b.WriteString(strconv.Itoa(m.Left))
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(m.Right))
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "specials %d\n", len(t.special))
	for i, s := range t.special {
		fmt.Fprintf(&b, "%d %s\n", len(t.vocab)+i, strconv.Quote(s))
	}
	return []byte(b.String()), nil
}

// UnmarshalText reads a BPE tokenizer written by MarshalText, replacing
// t. Errors are *data.FormatError values naming the line.
func (t *BPE) UnmarshalText(text []byte) error {
	p := &parser{src: text, name: "tokenizer"}
	if _, err := p.header("bpe"); err != nil {
		return err
	}
	return t.parseBody(p)
}

func (t *BPE) parseBody(p *parser) error {
	l, err := p.need(`"split gpt4" line`)
	if err != nil {
		return err
	}
	if l != "split gpt4" {
		return p.errf(p.line, "got %s, want \"split gpt4\"", quoteShort(l))
	}
	n, err := p.count("merges", MaxVocab-base)
	if err != nil {
		return err
	}
	first := p.line + 1
	var merges []Pair
	for range n {
		l, err := p.need(fmt.Sprintf("merge %d of %d", len(merges)+1, n))
		if err != nil {
			return err
		}
		a, b, ok := strings.Cut(l, " ")
		x, err1 := atoi(a)
		y, err2 := atoi(b)
		if !ok || err1 != nil || err2 != nil {
			return p.errf(p.line, "merge %s, want two token ids \"<left> <right>\"", quoteShort(l))
		}
		merges = append(merges, Pair{x, y})
	}
	nt := &BPE{merges: merges}
	if i, err := nt.build(); err != nil {
		return p.errf(first+i, "merge %d (%d %d): %v", i, merges[i].Left, merges[i].Right, err)
	}
	ns, err := p.count("specials", MaxVocab-len(nt.vocab))
	if err != nil {
		return err
	}
	for range ns {
		l, err := p.need(fmt.Sprintf("special token %d of %d", len(nt.special)+1, ns))
		if err != nil {
			return err
		}
		a, q, ok := strings.Cut(l, " ")
		id, err := atoi(a)
		if !ok || err != nil {
			return p.errf(p.line, "special token %s, want \"<id> <quoted text>\"", quoteShort(l))
		}
		if want := nt.VocabSize(); id != want {
			return p.errf(p.line, "special token id %d, want %d (the next id)", id, want)
		}
		s, err := strconv.Unquote(q)
		if err != nil || !strings.HasPrefix(q, `"`) {
			return p.errf(p.line, "special token text %s, want a double-quoted string", quoteShort(q))
		}
		if _, err := nt.AddSpecial(s); err != nil {
			return p.errf(p.line, "special token %s: %v", quoteShort(q), err)
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	t.merges, t.ranks, t.vocab, t.whole, t.maxTok = nt.merges, nt.ranks, nt.vocab, nt.whole, nt.maxTok
	t.cache.Clear()
	t.cached.Store(0)
	t.special, t.specialID = nt.special, nt.specialID
	return nil
}
