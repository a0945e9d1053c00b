package metrics

import "fmt"

// PRCurve is a precision-recall curve. Thresholds increase; Precision[i]
// and Recall[i] are those of predicting positive when the score is at or
// above Thresholds[i]. Precision and Recall have one more element than
// Thresholds: the final point (recall 0, precision 1), with no threshold.
type PRCurve struct {
	Precision  []float64
	Recall     []float64
	Thresholds []float64
}

// PrecisionRecallCurve returns the precision-recall curve of binary labels
// yTrue (0 or 1; see Binarize) and scores, one point per distinct score,
// exactly as scikit-learn's precision_recall_curve. It returns ErrOneClass
// when yTrue has no positive sample (scikit-learn sets the recall to 1
// with a warning there).
func PrecisionRecallCurve[S Float](yTrue []int, scores []S) (*PRCurve, error) {
	const fn = "PrecisionRecallCurve"
	npos, err := prCheck(fn, yTrue, scores)
	if err != nil {
		return nil, err
	}
	fps, tps, thr := binaryCurve(rankScores(new(ranker), yTrue, scores, 0, 1, 1))
	m := len(tps)
	c := &PRCurve{
		Precision:  make([]float64, m+1),
		Recall:     make([]float64, m+1),
		Thresholds: make([]float64, m),
	}
	for i := range m {
		j := m - 1 - i
		c.Precision[j] = float64(tps[i]) / float64(tps[i]+fps[i])
		c.Recall[j] = float64(tps[i]) / float64(npos)
		c.Thresholds[j] = thr[i]
	}
	c.Precision[m] = 1
	return c, nil
}

// AveragePrecision returns the average precision of binary labels yTrue
// (0 or 1) and scores: Σ (R_i − R_{i−1})·P_i over the thresholds in
// decreasing order, the step-wise area under the precision-recall curve
// without interpolation (scikit-learn's average_precision_score). It
// returns ErrOneClass when yTrue has no positive sample.
func AveragePrecision[S Float](yTrue []int, scores []S) (float64, error) {
	const fn = "AveragePrecision"
	npos, err := prCheck(fn, yTrue, scores)
	if err != nil {
		return 0, err
	}
	g := rankScores(new(ranker), yTrue, scores, 0, 1, 1)
	var ap, prevRecall float64
	for {
		if _, ok := g.next(); !ok {
			return ap, nil
		}
		recall := float64(g.i) / float64(npos)
		ap += (recall - prevRecall) * float64(g.i) / float64(g.i+g.j)
		prevRecall = recall
	}
}

func prCheck[S Float](fn string, yTrue []int, scores []S) (int, error) {
	npos, err := checkBinaryScores(fn, yTrue, scores)
	if err != nil {
		return 0, err
	}
	if npos == 0 {
		return 0, fmt.Errorf("%w: metrics.%s: yTrue has no positive sample, so recall is undefined", ErrOneClass, fn)
	}
	return npos, nil
}
