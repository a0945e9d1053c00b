package text

// longChunk is the chunk length above which merge switches from scanning
// all pairs per merge (quadratic, fastest for words) to a heap
// (O(n log n), for long runs of whitespace, digits-free symbols or
// letters that would otherwise make Encode quadratic).
const longChunk = 64

// heapItem is a candidate merge of the tokens starting at byte positions
// pos and its successor, valid while they still hold left and right.
type heapItem struct {
	rank, pos   int32
	left, right int32
}

func (a heapItem) less(b heapItem) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// mergeLong gives the same tokens as the scanning merge: it applies the
// lowest-ranked merge present, leftmost first, until none applies. Tokens
// live in a doubly linked list over byte positions; the heap holds every
// adjacent pair that has a rank, and entries made stale by earlier merges
// are dropped when popped.
func (t *BPE) mergeLong(c string, buf *encodeBuf, out []int) []int {
	n := len(c)
	ids := make([]int32, n)
	nxt := make([]int32, n) // next token's position, n at the end
	prv := make([]int32, n) // previous token's position, -1 at the start
	for i := range n {
		ids[i] = int32(c[i])
		nxt[i] = int32(i + 1)
		prv[i] = int32(i - 1)
	}
	var h []heapItem
	push := func(p int32) {
		q := nxt[p]
		if q >= int32(n) {
			return
		}
		r := t.rank(ids[p], ids[q])
		if r == noRank {
			return
		}
		h = append(h, heapItem{r, p, ids[p], ids[q]})
		for i := len(h) - 1; i > 0; {
			up := (i - 1) / 2
			if !h[i].less(h[up]) {
				break
			}
			h[i], h[up] = h[up], h[i]
			i = up
		}
	}
	pop := func() heapItem {
		top := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for i := 0; ; {
			l, small := 2*i+1, i
			if l < last && h[l].less(h[small]) {
				small = l
			}
			if l+1 < last && h[l+1].less(h[small]) {
				small = l + 1
			}
			if small == i {
				break
			}
			h[i], h[small] = h[small], h[i]
			i = small
		}
		return top
	}
	for i := range n - 1 {
		push(int32(i))
	}
	for len(h) > 0 {
		it := pop()
		p := it.pos
		if ids[p] < 0 || ids[p] != it.left {
			continue
		}
		q := nxt[p]
		if q >= int32(n) || ids[q] != it.right {
			continue
		}
		ids[p] = base + it.rank
		ids[q] = -1
		nxt[p] = nxt[q]
		if nxt[p] < int32(n) {
			prv[nxt[p]] = p
		}
		if pp := prv[p]; pp >= 0 {
			push(pp)
		}
		push(p)
	}
	for p := int32(0); p < int32(n); p = nxt[p] {
		out = append(out, int(ids[p]))
	}
	return out
}
