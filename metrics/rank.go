package metrics

import (
	"cmp"
	"slices"
)

// scored is one sample of a binary score metric: its score and whether it
// belongs to the positive class.
type scored[S Float] struct {
	s   S
	pos bool
}

// rankDesc fills buf (grown as needed) with the samples sorted by
// decreasing score and returns it. Column col of a row-major matrix with
// stride columns gives the scores; a sample is positive when yTrue equals
// posLabel. The order within tied scores is irrelevant: only the counts at
// the end of each run of equal scores are ever read. Sorting is the only
// super-linear step of every curve and AUC (O(n log n)).
func rankDesc[S Float](buf []scored[S], yTrue []int, scores []S, col, stride, posLabel int) []scored[S] {
	buf = slices.Grow(buf[:0], len(yTrue))[:len(yTrue)]
	for i, y := range yTrue {
		buf[i] = scored[S]{s: scores[i*stride+col], pos: y == posLabel}
	}
	slices.SortFunc(buf, func(a, b scored[S]) int { return cmp.Compare(b.s, a.s) })
	return buf
}

// binaryCurve walks samples sorted by decreasing score and returns, for
// each distinct score (the thresholds, decreasing), the cumulative counts
// of false and true positives of predicting positive at or above it
// (scikit-learn's _binary_clf_curve).
func binaryCurve[S Float](r []scored[S]) (fps, tps []int64, thr []S) {
	var tp int64
	for i, x := range r {
		if x.pos {
			tp++
		}
		if i == len(r)-1 || r[i+1].s != x.s {
			tps = append(tps, tp)
			fps = append(fps, int64(i+1)-tp)
			thr = append(thr, x.s)
		}
	}
	return fps, tps, thr
}

// rankedAUC returns the area under the ROC curve of samples sorted by
// decreasing score, with npos positives and nneg negatives, both > 0. It is
// the trapezoid rule over the distinct thresholds, so a pair of tied
// positive and negative scores counts one half, exactly as scikit-learn's
// auc(roc_curve(...)).
func rankedAUC[S Float](r []scored[S], npos, nneg int) float64 {
	var area float64
	var tp, fp, prevTP, prevFP int64
	for i, x := range r {
		if x.pos {
			tp++
		} else {
			fp++
		}
		if i == len(r)-1 || r[i+1].s != x.s {
			area += float64(fp-prevFP) * float64(tp+prevTP)
			prevTP, prevFP = tp, fp
		}
	}
	return area / (2 * float64(npos) * float64(nneg))
}
