package metrics

import (
	"cmp"
	"math"
	"slices"
)

// scored is one sample of a binary score metric: a sort key that orders
// scores decreasingly (equal keys for equal scores) and whether the sample
// belongs to the positive class.
type scored struct {
	k   uint64
	pos bool
}

// descKey maps a finite score to a key whose increasing order is the
// decreasing order of the scores. -0 and +0 share a key, as they compare
// equal.
func descKey(f float64) uint64 {
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return b // negative: flipping twice leaves the bits as they are
	}
	return ^(b | 1<<63)
}

// score recovers the score (as float64) from its key.
func (s scored) score() float64 {
	b := s.k
	if b>>63 == 0 {
		b = ^b &^ (1 << 63)
	}
	return math.Float64frombits(b)
}

// ranker sorts samples by decreasing score, reusing its buffers.
type ranker struct {
	a, tmp []scored
}

// radixMin is the size from which rank uses a radix sort rather than a
// comparison sort.
const radixMin = 2048

// rank returns the samples sorted by decreasing score. Column col of a
// row-major matrix with stride columns gives the scores; a sample is
// positive when yTrue equals posLabel. The order within tied scores is
// irrelevant: only the counts at the end of each run of equal scores are
// ever read. Sorting is the only super-linear step of every curve and AUC:
// an LSD radix sort over the 64-bit keys (linear, skipping the byte
// positions where all keys agree) for large inputs, pdqsort (O(n log n))
// for small ones.
func rank[S Float](rk *ranker, yTrue []int, scores []S, col, stride, posLabel int) []scored {
	n := len(yTrue)
	rk.a = slices.Grow(rk.a[:0], n)[:n]
	a := rk.a
	for i, y := range yTrue {
		a[i] = scored{k: descKey(float64(scores[i*stride+col])), pos: y == posLabel}
	}
	if n < radixMin {
		slices.SortFunc(a, func(x, y scored) int { return cmp.Compare(x.k, y.k) })
		return a
	}
	rk.tmp = slices.Grow(rk.tmp[:0], n)[:n]
	tmp := rk.tmp
	var counts [8][256]int
	for _, x := range a {
		k := x.k
		for p := range 8 {
			counts[p][byte(k>>(8*p))]++
		}
	}
	for p := range 8 {
		c := &counts[p]
		shift := 8 * p
		if c[byte(a[0].k>>shift)] == n {
			continue // every key has the same byte here
		}
		sum := 0
		for i, v := range c {
			c[i] = sum
			sum += v
		}
		for _, x := range a {
			b := byte(x.k >> shift)
			tmp[c[b]] = x
			c[b]++
		}
		a, tmp = tmp, a
	}
	return a
}

// rankDesc is rank with a fresh ranker.
func rankDesc[S Float](yTrue []int, scores []S) []scored {
	var rk ranker
	return rank(&rk, yTrue, scores, 0, 1, 1)
}

// binaryCurve walks samples sorted by decreasing score and returns, for
// each distinct score (the thresholds, decreasing), the cumulative counts
// of false and true positives of predicting positive at or above it
// (scikit-learn's _binary_clf_curve).
func binaryCurve(r []scored) (fps, tps []int64, thr []float64) {
	var tp int64
	for i, x := range r {
		if x.pos {
			tp++
		}
		if i == len(r)-1 || r[i+1].k != x.k {
			tps = append(tps, tp)
			fps = append(fps, int64(i+1)-tp)
			thr = append(thr, x.score())
		}
	}
	return fps, tps, thr
}

// rankedAUC returns the area under the ROC curve of samples sorted by
// decreasing score, with npos positives and nneg negatives, both > 0. It is
// the trapezoid rule over the distinct thresholds, so a pair of tied
// positive and negative scores counts one half, exactly as scikit-learn's
// auc(roc_curve(...)).
func rankedAUC(r []scored, npos, nneg int) float64 {
	var area float64
	var tp, fp, prevTP, prevFP int64
	for i, x := range r {
		if x.pos {
			tp++
		} else {
			fp++
		}
		if i == len(r)-1 || r[i+1].k != x.k {
			area += float64(fp-prevFP) * float64(tp+prevTP)
			prevTP, prevFP = tp, fp
		}
	}
	return area / (2 * float64(npos) * float64(nneg))
}
