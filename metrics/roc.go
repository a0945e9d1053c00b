package metrics

import (
	"fmt"
)

// ROC is a receiver operating characteristic curve: at threshold
// Thresholds[i] (predict positive when score >= threshold) the false
// positive rate is FPR[i] and the true positive rate TPR[i]. Thresholds
// decrease; the first point is (0, 0).
type ROC struct {
	FPR        []float64
	TPR        []float64
	Thresholds []float64
}

// ROCCurve returns the ROC curve of binary labels yTrue (0 or 1; see
// Binarize) and scores, where a higher score means more likely positive.
// It matches scikit-learn's roc_curve with its default
// drop_intermediate=True: one point per distinct score, minus the points
// that lie on a straight line between their neighbours, plus a first point
// (0, 0).
//
// The first threshold is the largest score plus one, computed in the type
// of the scores, as in scikit-learn up to 1.2 (the version the reference
// fixtures were made with); scikit-learn 1.3 and later report +Inf there.
// The other thresholds are the scores themselves.
//
// Unlike scikit-learn, which returns NaN rates with a warning, ROCCurve
// returns ErrOneClass when yTrue holds only one class.
func ROCCurve[S Float](yTrue []int, scores []S) (*ROC, error) {
	return rocCurve("ROCCurve", yTrue, scores, true)
}

// ROCCurveAll is ROCCurve without dropping intermediate points: one point
// per distinct score (roc_curve with drop_intermediate=False).
func ROCCurveAll[S Float](yTrue []int, scores []S) (*ROC, error) {
	return rocCurve("ROCCurveAll", yTrue, scores, false)
}

func rocCurve[S Float](fn string, yTrue []int, scores []S, drop bool) (*ROC, error) {
	npos, err := checkBinaryScores(fn, yTrue, scores)
	if err != nil {
		return nil, err
	}
	if npos == 0 || npos == len(yTrue) {
		return nil, oneClassErr(fn, yTrue[0])
	}
	fps, tps, thr := binaryCurve(rankScores(new(ranker), yTrue, scores, 0, 1, 1))
	if drop && len(fps) > 2 {
		// Keep the ends and every point where the second difference of
		// either count is non-zero (a corner of the curve).
		k := 1
		for i := 1; i < len(fps)-1; i++ {
			if fps[i-1]-2*fps[i]+fps[i+1] != 0 || tps[i-1]-2*tps[i]+tps[i+1] != 0 {
				fps[k], tps[k], thr[k] = fps[i], tps[i], thr[i]
				k++
			}
		}
		last := len(fps) - 1
		fps[k], tps[k], thr[k] = fps[last], tps[last], thr[last]
		fps, tps, thr = fps[:k+1], tps[:k+1], thr[:k+1]
	}
	n := len(fps) + 1
	roc := &ROC{FPR: make([]float64, n), TPR: make([]float64, n), Thresholds: make([]float64, n)}
	nneg := float64(len(yTrue) - npos)
	roc.Thresholds[0] = float64(S(thr[0]) + 1) // in the type of the scores, as scikit-learn
	for i := range fps {
		roc.FPR[i+1] = float64(fps[i]) / nneg
		roc.TPR[i+1] = float64(tps[i]) / float64(npos)
		roc.Thresholds[i+1] = thr[i]
	}
	return roc, nil
}

// ROCAUC returns the area under the ROC curve of binary labels yTrue (0 or
// 1; see Binarize) and scores: the probability that a random positive
// scores above a random negative, ties counting one half. It equals
// scikit-learn's roc_auc_score for binary data. It returns ErrOneClass when
// yTrue holds only one class. It sorts the scores of the positives and of
// the negatives once each (8-byte keys; a radix sort, linear time, from
// 2048 keys, pdqsort, O(n log n), below) and merges the two runs in one
// pass.
func ROCAUC[S Float](yTrue []int, scores []S) (float64, error) {
	const fn = "ROCAUC"
	npos, err := checkBinaryScores(fn, yTrue, scores)
	if err != nil {
		return 0, err
	}
	if npos == 0 || npos == len(yTrue) {
		return 0, oneClassErr(fn, yTrue[0])
	}
	return rankedAUC(rankScores(new(ranker), yTrue, scores, 0, 1, 1)), nil
}

// ROCAUCOvR returns the one-vs-rest multi-class ROC AUC: the ROC AUC of
// each class against all others, averaged with AverageMacro (plain mean)
// or AverageWeighted (weighted by class support). It equals scikit-learn's
// roc_auc_score(yTrue, scores, multi_class="ovr", average=...,
// labels=range(numClasses)).
//
// scores is a row-major [N, numClasses] matrix flattened into one slice
// (the layout of a model's output batch), and yTrue[i] must lie in
// [0, numClasses). Every class must occur in yTrue, or its AUC is
// undefined and ErrOneClass is returned. Unlike scikit-learn, the rows
// need not sum to one: each class's AUC depends only on the ranking of its
// column across the samples. That ranking is not the same for logits as
// for their softmax (a column's probability depends on the other columns
// of its row), so pass probabilities, turning logits into them with
// Probabilities, or use ROCAUCMetric with WithLogits.
func ROCAUCOvR[S Float](yTrue []int, scores []S, numClasses int, avg Average) (float64, error) {
	const fn = "ROCAUCOvR"
	if avg != AverageMacro && avg != AverageWeighted {
		return 0, fmt.Errorf("%w: metrics.%s: averaging %v, want macro or weighted", ErrOption, fn, avg)
	}
	per, support, err := rocAUCPerClass(fn, yTrue, scores, numClasses)
	if err != nil {
		return 0, err
	}
	var sum, wsum float64
	for k, a := range per {
		w := 1.0
		if avg == AverageWeighted {
			w = float64(support[k])
		}
		sum += a * w
		wsum += w
	}
	return sum / wsum, nil
}

// ROCAUCPerClass returns the one-vs-rest ROC AUC of each class (index k
// for class k), with the same inputs and errors as ROCAUCOvR
// (roc_auc_score with multi_class="ovr", average=None).
func ROCAUCPerClass[S Float](yTrue []int, scores []S, numClasses int) ([]float64, error) {
	per, _, err := rocAUCPerClass("ROCAUCPerClass", yTrue, scores, numClasses)
	return per, err
}

func rocAUCPerClass[S Float](fn string, yTrue []int, scores []S, numClasses int) (per []float64, support []int, err error) {
	if err := checkScores(fn, yTrue, scores, numClasses); err != nil {
		return nil, nil, err
	}
	if numClasses < 2 {
		return nil, nil, fmt.Errorf("%w: metrics.%s: numClasses is %d, want >= 2 (use ROCAUC for one score per sample)",
			ErrOption, fn, numClasses)
	}
	if err := checkClassRange(fn, yTrue, numClasses); err != nil {
		return nil, nil, err
	}
	support = make([]int, numClasses)
	for _, y := range yTrue {
		support[y]++
	}
	for k, s := range support {
		if s == 0 {
			return nil, nil, fmt.Errorf("%w: metrics.%s: class %d has no samples in yTrue, so its one-vs-rest AUC is undefined",
				ErrOneClass, fn, k)
		}
		if s == len(yTrue) {
			return nil, nil, oneClassErr(fn, k)
		}
	}
	per = make([]float64, numClasses)
	var rk ranker
	for k := range numClasses {
		per[k] = rankedAUC(rankScores(&rk, yTrue, scores, k, numClasses, k))
	}
	return per, support, nil
}

// checkBinaryScores validates the inputs of a binary score metric and
// returns the number of positives.
func checkBinaryScores[S Float](fn string, yTrue []int, scores []S) (int, error) {
	if err := checkScores(fn, yTrue, scores, 1); err != nil {
		return 0, err
	}
	return checkBinary(fn, yTrue)
}

func oneClassErr(fn string, class int) error {
	return fmt.Errorf("%w: metrics.%s: every sample has label %d; the metric needs both positives and negatives",
		ErrOneClass, fn, class)
}
