package text

import (
	"errors"
	"fmt"
	"slices"
)

// TrainBPE learns a BPE tokenizer of vocabSize ids from corpus, in the
// manner of minbpe's RegexTokenizer: the corpus is cut into chunks with
// Split, and vocabSize-256 times the most frequent adjacent pair of tokens
// within a chunk is merged into a new token. Ties go to the pair with the
// smaller left id, then the smaller right id, so the same corpus always
// gives the same merges. Pairs whose token would be longer than
// MaxTokenBytes are never merged.
//
// Training counts pairs once over the distinct chunks, weighted by how
// often each occurs, and then updates the counts of only the chunks a
// merge touches, so its cost grows with the corpus size plus, per merge,
// the size of the chunks that contain the merged pair. If no pair is left
// to merge (a tiny corpus), training stops early and the tokenizer has
// fewer than vocabSize ids.
//
// It returns an error for an empty corpus or vocabSize < 256 or above
// MaxVocab.
func TrainBPE(corpus string, vocabSize int) (*BPE, error) {
	if corpus == "" {
		return nil, errors.New("text.TrainBPE: empty corpus")
	}
	if vocabSize < base || vocabSize > MaxVocab {
		return nil, fmt.Errorf("text.TrainBPE: vocabulary size %d, want 256 (the bytes) to %d", vocabSize, MaxVocab)
	}
	tr := newTrainer(corpus)
	merges := tr.run(vocabSize - base)
	t := &BPE{merges: merges}
	if i, err := t.build(); err != nil { // cannot happen: merges are valid by construction
		return nil, fmt.Errorf("text.TrainBPE: merge %d: %w", i, err)
	}
	return t, nil
}

// trainer holds the state of BPE training.
type trainer struct {
	words  [][]int32        // distinct chunks as token ids
	freq   []int64          // occurrences of each word
	counts map[uint64]int64 // weighted count of each adjacent pair
	where  map[uint64][]int32
	heap   []pairCount
	toklen []int // bytes of each token
	banned map[uint64]bool
}

type pairCount struct {
	count int64
	key   uint64
}

// before orders the heap: larger count first, then smaller pair.
func (a pairCount) before(b pairCount) bool {
	return a.count > b.count || (a.count == b.count && a.key < b.key)
}

func newTrainer(corpus string) *trainer {
	idx := map[string]int32{}
	tr := &trainer{counts: map[uint64]int64{}, where: map[uint64][]int32{}, banned: map[uint64]bool{}}
	Split(corpus, func(c string) bool {
		w, ok := idx[c]
		if !ok {
			w = int32(len(tr.words))
			idx[c] = w
			ids := make([]int32, len(c))
			for i := range len(c) {
				ids[i] = int32(c[i])
			}
			tr.words = append(tr.words, ids)
			tr.freq = append(tr.freq, 0)
		}
		tr.freq[w]++
		return true
	})
	for w, ids := range tr.words {
		for i := 0; i+1 < len(ids); i++ {
			k := uint64(ids[i])<<32 | uint64(ids[i+1])
			tr.counts[k] += tr.freq[w]
			tr.addWhere(k, int32(w))
		}
	}
	tr.heap = make([]pairCount, 0, len(tr.counts))
	for k, c := range tr.counts {
		tr.heap = append(tr.heap, pairCount{c, k})
	}
	for i := len(tr.heap)/2 - 1; i >= 0; i-- {
		tr.down(i)
	}
	tr.toklen = make([]int, base)
	for i := range tr.toklen {
		tr.toklen[i] = 1
	}
	return tr
}

// addWhere records that word w contains pair k (once per run of adds).
func (tr *trainer) addWhere(k uint64, w int32) {
	l := tr.where[k]
	if n := len(l); n > 0 && l[n-1] == w {
		return
	}
	tr.where[k] = append(l, w)
}

func (tr *trainer) push(p pairCount) {
	tr.heap = append(tr.heap, p)
	for i := len(tr.heap) - 1; i > 0; {
		up := (i - 1) / 2
		if !tr.heap[i].before(tr.heap[up]) {
			break
		}
		tr.heap[i], tr.heap[up] = tr.heap[up], tr.heap[i]
		i = up
	}
}

func (tr *trainer) down(i int) {
	h := tr.heap
	for {
		l, top := 2*i+1, i
		if l < len(h) && h[l].before(h[top]) {
			top = l
		}
		if l+1 < len(h) && h[l+1].before(h[top]) {
			top = l + 1
		}
		if top == i {
			return
		}
		h[i], h[top] = h[top], h[i]
		i = top
	}
}

// best pops the most frequent mergeable pair; ok is false when none is
// left. Heap entries whose count is out of date are dropped.
func (tr *trainer) best() (uint64, bool) {
	for len(tr.heap) > 0 {
		top := tr.heap[0]
		last := len(tr.heap) - 1
		tr.heap[0] = tr.heap[last]
		tr.heap = tr.heap[:last]
		tr.down(0)
		if c := tr.counts[top.key]; c != top.count || c <= 0 {
			continue
		}
		a, b := top.key>>32, top.key&0xffffffff
		if tr.toklen[a]+tr.toklen[b] > MaxTokenBytes {
			tr.banned[top.key] = true
			delete(tr.counts, top.key)
			continue
		}
		return top.key, true
	}
	return 0, false
}

// run learns up to n merges.
func (tr *trainer) run(n int) []Pair {
	merges := make([]Pair, 0, n)
	delta := map[uint64]int64{}
	seen := make([]int32, len(tr.words)) // merge number + 1 that last visited each word
	for len(merges) < n {
		k, ok := tr.best()
		if !ok {
			break
		}
		a, b := int32(k>>32), int32(k&0xffffffff)
		id := int32(base + len(merges))
		merges = append(merges, Pair{int(a), int(b)})
		tr.toklen = append(tr.toklen, tr.toklen[a]+tr.toklen[b])
		clear(delta)
		stamp := int32(len(merges))
		for _, w := range tr.where[k] {
			if seen[w] == stamp {
				continue
			}
			seen[w] = stamp
			tr.mergeWord(w, a, b, id, delta)
		}
		delete(tr.where, k)
		delete(tr.counts, k)
		delete(delta, k)
		// Apply the changes in a fixed order so the heap, and thus the
		// result, does not depend on map iteration order.
		keys := make([]uint64, 0, len(delta))
		for dk, d := range delta {
			if d != 0 {
				keys = append(keys, dk)
			}
		}
		slices.Sort(keys)
		for _, dk := range keys {
			c := tr.counts[dk] + delta[dk]
			if c <= 0 {
				delete(tr.counts, dk)
				continue
			}
			tr.counts[dk] = c
			if !tr.banned[dk] {
				tr.push(pairCount{c, dk})
			}
		}
	}
	return merges
}

// mergeWord replaces each occurrence of (a, b) in word w by id, left to
// right (as Encode does), and adds to delta how the pair counts change:
// the word's pairs before the merge are taken away and those after it
// added back, so only pairs around an occurrence change in the end.
func (tr *trainer) mergeWord(w, a, b, id int32, delta map[uint64]int64) {
	ids := tr.words[w]
	found := false
	for i := 0; i+1 < len(ids); i++ {
		if ids[i] == a && ids[i+1] == b {
			found = true
			break
		}
	}
	if !found {
		return // a stale entry of the where list
	}
	f := tr.freq[w]
	for i := 0; i+1 < len(ids); i++ {
		delta[uint64(ids[i])<<32|uint64(ids[i+1])] -= f
	}
	j := 0
	for i := 0; i < len(ids); j++ {
		if i+1 < len(ids) && ids[i] == a && ids[i+1] == b {
			ids[j] = id
			i += 2
		} else {
			ids[j] = ids[i]
			i++
		}
	}
	ids = ids[:j]
	tr.words[w] = ids
	for i := 0; i+1 < len(ids); i++ {
		k := uint64(ids[i])<<32 | uint64(ids[i+1])
		delta[k] += f
		if ids[i] == id || ids[i+1] == id {
			tr.addWhere(k, w)
		}
	}
}
