package metrics

import (
	"math"
	"slices"
)

// descKey maps a finite score to a key whose increasing order is the
// decreasing order of the scores. -0 and +0 share a key, as they compare
// equal; distinct scores have distinct keys.
func descKey(f float64) uint64 {
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return b // negative: a larger magnitude sorts later
	}
	return ^(b | 1<<63)
}

// keyScore recovers the score (as float64) from its key.
func keyScore(k uint64) float64 {
	if k>>63 == 0 {
		k = ^k &^ (1 << 63)
	}
	return math.Float64frombits(k)
}

// ranker sorts the scores of positive and negative samples separately,
// reusing its buffers across calls. Only the keys are sorted (8 bytes per
// sample); the label is known from which list a key is in.
type ranker struct {
	pos, neg, tmp []uint64
}

// radixMin is the length from which a list is radix sorted rather than
// sorted by comparison.
const radixMin = 2048

// rankScores splits the samples into positives (yTrue == posLabel) and
// negatives, sorts the keys of each by decreasing score and returns a
// walker over them. Column col of a row-major matrix with stride columns
// gives the scores. This sort is the only super-linear step of every
// curve and AUC.
func rankScores[S Float](rk *ranker, yTrue []int, scores []S, col, stride, posLabel int) groups {
	npos := 0
	for _, y := range yTrue {
		if y == posLabel {
			npos++
		}
	}
	pos := slices.Grow(rk.pos[:0], npos)
	neg := slices.Grow(rk.neg[:0], len(yTrue)-npos)
	for i, y := range yTrue {
		k := descKey(float64(scores[i*stride+col]))
		if y == posLabel {
			pos = append(pos, k)
		} else {
			neg = append(neg, k)
		}
	}
	rk.pos, rk.neg = pos, neg
	rk.pos = rk.sortKeys(rk.pos)
	rk.neg = rk.sortKeys(rk.neg)
	return groups{pos: rk.pos, neg: rk.neg}
}

// sortKeys sorts keys increasingly and returns the sorted slice (which
// may be rk.tmp's array, in which case the two swap): an LSD radix sort,
// linear in len(keys) and skipping the byte positions where all keys
// agree, from radixMin keys; pdqsort (O(n log n)) below.
func (rk *ranker) sortKeys(keys []uint64) []uint64 {
	n := len(keys)
	if n < radixMin {
		slices.Sort(keys)
		return keys
	}
	rk.tmp = slices.Grow(rk.tmp[:0], n)[:n]
	a, tmp := keys, rk.tmp
	var counts [8][256]int
	for _, k := range a {
		for p := range 8 {
			counts[p][byte(k>>(8*p))]++
		}
	}
	for p := range 8 {
		c := &counts[p]
		shift := 8 * p
		if c[byte(a[0]>>shift)] == n {
			continue // every key has the same byte here
		}
		sum := 0
		for i, v := range c {
			c[i] = sum
			sum += v
		}
		for _, k := range a {
			b := byte(k >> shift)
			tmp[c[b]] = k
			c[b]++
		}
		a, tmp = tmp, a
	}
	rk.tmp = tmp[:0]
	return a
}

// groups walks two sorted key lists together, one run of equal scores
// (one threshold) at a time, in decreasing order of score.
type groups struct {
	pos, neg []uint64
	i, j     int // samples consumed: true and false positives so far
}

// next advances over the next run of equal scores and returns its key,
// or false when both lists are exhausted. After it, g.i and g.j are the
// cumulative true and false positives of thresholding at that score.
func (g *groups) next() (uint64, bool) {
	var k uint64
	switch {
	case g.i < len(g.pos) && g.j < len(g.neg):
		k = min(g.pos[g.i], g.neg[g.j])
	case g.i < len(g.pos):
		k = g.pos[g.i]
	case g.j < len(g.neg):
		k = g.neg[g.j]
	default:
		return 0, false
	}
	for g.i < len(g.pos) && g.pos[g.i] == k {
		g.i++
	}
	for g.j < len(g.neg) && g.neg[g.j] == k {
		g.j++
	}
	return k, true
}

// binaryCurve returns, for each distinct score (the thresholds,
// decreasing), the cumulative counts of false and true positives of
// predicting positive at or above it (scikit-learn's _binary_clf_curve).
func binaryCurve(g groups) (fps, tps []int64, thr []float64) {
	for {
		k, ok := g.next()
		if !ok {
			return fps, tps, thr
		}
		tps = append(tps, int64(g.i))
		fps = append(fps, int64(g.j))
		thr = append(thr, keyScore(k))
	}
}

// rankedAUC returns the area under the ROC curve; both lists must be
// non-empty. It is the trapezoid rule over the distinct thresholds, so a
// tied positive and negative count one half, exactly as scikit-learn's
// auc(roc_curve(...)).
func rankedAUC(g groups) float64 {
	var area float64
	var prevTP, prevFP int
	for {
		if _, ok := g.next(); !ok {
			break
		}
		area += float64(g.j-prevFP) * float64(g.i+prevTP)
		prevTP, prevFP = g.i, g.j
	}
	return area / (2 * float64(len(g.pos)) * float64(len(g.neg)))
}
