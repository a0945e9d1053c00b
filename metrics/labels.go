package metrics

import (
	"maps"
	"slices"
)

// labelCounts holds, for each distinct label seen in yTrue or yPred (in
// increasing order), its true positives, its number of predictions and its
// number of true samples (support). Every label metric is computed from
// these counts, so the one-shot functions and the accumulators agree.
type labelCounts struct {
	labels []int
	tp     []int64
	pred   []int64
	tru    []int64
}

// denseLimit bounds the slice used to count small non-negative labels
// directly; larger or negative labels fall back to a map.
func denseLimit(n int) int { return 2*n + 1024 }

// countLabels counts yTrue and yPred, which must have the same length.
func countLabels(yTrue, yPred []int) *labelCounts {
	lo, hi := yTrue[0], yTrue[0]
	for i, t := range yTrue {
		p := yPred[i]
		lo = min(lo, t, p)
		hi = max(hi, t, p)
	}
	if lo >= 0 && hi < denseLimit(len(yTrue)) {
		k := hi + 1
		tp := make([]int64, k)
		pred := make([]int64, k)
		tru := make([]int64, k)
		for i, t := range yTrue {
			p := yPred[i]
			tru[t]++
			pred[p]++
			if t == p {
				tp[t]++
			}
		}
		lc := &labelCounts{}
		for l := range k {
			if pred[l] != 0 || tru[l] != 0 {
				lc.labels = append(lc.labels, l)
				lc.tp = append(lc.tp, tp[l])
				lc.pred = append(lc.pred, pred[l])
				lc.tru = append(lc.tru, tru[l])
			}
		}
		return lc
	}
	m := make(map[int]*[3]int64)
	get := func(l int) *[3]int64 {
		c := m[l]
		if c == nil {
			c = new([3]int64)
			m[l] = c
		}
		return c
	}
	for i, t := range yTrue {
		p := yPred[i]
		get(t)[2]++
		get(p)[1]++
		if t == p {
			m[t][0]++
		}
	}
	return countsFromMap(m)
}

// countsFromMap turns per-label [tp, pred, true] counts into labelCounts.
func countsFromMap(m map[int]*[3]int64) *labelCounts {
	lc := &labelCounts{labels: slices.Sorted(maps.Keys(m))}
	for _, l := range lc.labels {
		c := m[l]
		lc.tp = append(lc.tp, c[0])
		lc.pred = append(lc.pred, c[1])
		lc.tru = append(lc.tru, c[2])
	}
	return lc
}

// gather returns the counts of the given labels, zero for labels not seen.
func (lc *labelCounts) gather(labels []int) (tp, pred, tru []int64) {
	tp = make([]int64, len(labels))
	pred = make([]int64, len(labels))
	tru = make([]int64, len(labels))
	for i, l := range labels {
		if j, ok := slices.BinarySearch(lc.labels, l); ok {
			tp[i], pred[i], tru[i] = lc.tp[j], lc.pred[j], lc.tru[j]
		}
	}
	return tp, pred, tru
}

// uniqueSorted returns the distinct values of the slices in increasing order.
func uniqueSorted(xs ...[]int) []int {
	var n int
	for _, x := range xs {
		n += len(x)
	}
	out := make([]int, 0, n)
	for _, x := range xs {
		out = append(out, x...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
