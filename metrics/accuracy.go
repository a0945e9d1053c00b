package metrics

import "fmt"

// Accuracy returns the fraction of samples whose predicted label equals
// the true label (scikit-learn's accuracy_score).
func Accuracy(yTrue, yPred []int) (float64, error) {
	if err := checkPair("Accuracy", yTrue, yPred); err != nil {
		return 0, err
	}
	var hit int
	for i, t := range yTrue {
		if yPred[i] == t {
			hit++
		}
	}
	return float64(hit) / float64(len(yTrue)), nil
}

// TopKAccuracy returns the fraction of samples whose true class is among
// the k highest-scored classes (scikit-learn's top_k_accuracy_score).
//
// scores is a row-major [N, numClasses] matrix flattened into one slice,
// and yTrue[i] must lie in [0, numClasses). Ties are broken as
// scikit-learn breaks them: among equal scores the class with the larger
// index ranks higher. A k of numClasses or more counts every sample as a
// hit.
//
// numClasses == 1 means binary scores (one score per sample, the
// probability of class 1): with k == 1 the prediction is 1 when the score
// exceeds 0.5 (or 0, when some score lies outside [0, 1]), as
// scikit-learn does; with k >= 2 every sample is a hit.
func TopKAccuracy[S Float](yTrue []int, scores []S, numClasses, k int) (float64, error) {
	const fn = "TopKAccuracy"
	if err := checkScores(fn, yTrue, scores, numClasses); err != nil {
		return 0, err
	}
	if k < 1 {
		return 0, fmt.Errorf("%w: metrics.%s: k is %d, want >= 1", ErrOption, fn, k)
	}
	if numClasses == 1 {
		if _, err := checkBinary(fn, yTrue); err != nil {
			return 0, err
		}
		if k >= 2 {
			return 1, nil
		}
		thr := S(0.5)
		for _, s := range scores {
			if s < 0 || s > 1 {
				thr = 0
				break
			}
		}
		var hit int
		for i, t := range yTrue {
			if (scores[i] > thr) == (t == 1) {
				hit++
			}
		}
		return float64(hit) / float64(len(yTrue)), nil
	}
	if err := checkClassRange(fn, yTrue, numClasses); err != nil {
		return 0, err
	}
	var hit int
	for i, t := range yTrue {
		row := scores[i*numClasses : (i+1)*numClasses]
		st := row[t]
		// Count the classes that rank above the true one.
		above := 0
		for j, s := range row {
			if s > st || (s == st && j > t) {
				above++
			}
		}
		if above < k {
			hit++
		}
	}
	return float64(hit) / float64(len(yTrue)), nil
}

// PredictLabels turns model scores into class ids, appending them to dst
// (which may be nil) and returning the result. scores is a row-major
// [N, numClasses] matrix flattened into one slice. With numClasses == 1
// each score is the probability of class 1 and the label is 1 when it
// exceeds the threshold (WithThreshold, default 0.5); with WithLogits each
// score is a logit and the label is 1 when it exceeds the logit of the
// threshold (0 for 0.5), which is the same as its sigmoid exceeding the
// threshold. Otherwise the label is the index of the largest score, the
// first one on ties (like NumPy's argmax), for probabilities and logits
// alike. NaN scores never win. It honours WithThreshold and WithLogits.
func PredictLabels[S Float](dst []int, scores []S, numClasses int, opts ...Option) ([]int, error) {
	const fn = "PredictLabels"
	if numClasses < 1 {
		return dst, fmt.Errorf("%w: metrics.%s: numClasses is %d, want >= 1", ErrOption, fn, numClasses)
	}
	if len(scores)%numClasses != 0 {
		return dst, fmt.Errorf("%w: metrics.%s: %d scores is not a multiple of %d classes",
			ErrLengthMismatch, fn, len(scores), numClasses)
	}
	c := newConfig(opts)
	if err := c.validateThreshold(fn); err != nil {
		return dst, err
	}
	return predictLabels(dst, scores, numClasses, &c), nil
}

// predictLabels is PredictLabels after validation.
func predictLabels[S Float](dst []int, scores []S, numClasses int, c *config) []int {
	if numClasses == 1 {
		cut := c.cut()
		for _, s := range scores {
			l := 0
			if float64(s) > cut {
				l = 1
			}
			dst = append(dst, l)
		}
		return dst
	}
	for i := 0; i < len(scores); i += numClasses {
		row := scores[i : i+numClasses]
		best := 0
		for j := 1; j < len(row); j++ {
			if row[j] > row[best] || (row[best] != row[best] && row[j] == row[j]) {
				best = j
			}
		}
		dst = append(dst, best)
	}
	return dst
}
