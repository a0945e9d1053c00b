package metrics

import (
	"fmt"
	"math"
)

// Probabilities turns model scores into probabilities, appending them to
// dst (which may be nil) and returning the result. scores is a row-major
// [N, numClasses] matrix flattened into one slice. When logits is false
// the scores already are probabilities and are copied unchanged. When it
// is true they are logits: a single binary score (numClasses == 1) becomes
// its sigmoid 1/(1+e^-x), the probability of class 1, and a row of two or
// more becomes its softmax. The arithmetic is done in float64 and is
// stable for logits of any finite size. NaN or infinite scores give
// ErrNotFinite, and nothing is appended on error.
func Probabilities[S Float](dst, scores []S, numClasses int, logits bool) ([]S, error) {
	const fn = "Probabilities"
	if numClasses < 1 {
		return dst, fmt.Errorf("%w: metrics.%s: numClasses is %d, want >= 1", ErrOption, fn, numClasses)
	}
	if len(scores)%numClasses != 0 {
		return dst, fmt.Errorf("%w: metrics.%s: %d scores is not a multiple of %d classes",
			ErrLengthMismatch, fn, len(scores), numClasses)
	}
	for i, s := range scores {
		if f := float64(s); math.IsNaN(f) || math.IsInf(f, 0) {
			return dst, fmt.Errorf("%w: metrics.%s: scores[%d] is %v", ErrNotFinite, fn, i, f)
		}
	}
	if !logits {
		return append(dst, scores...), nil
	}
	n := len(dst)
	dst = append(dst, scores...)
	toProbs(dst[n:], numClasses)
	return dst, nil
}

// toProbs replaces finite logits by probabilities in place: the sigmoid of
// each value for numClasses == 1, the softmax of each row otherwise.
func toProbs[S Float](x []S, numClasses int) {
	if numClasses == 1 {
		for i, v := range x {
			x[i] = S(sigmoid(float64(v)))
		}
		return
	}
	for i := 0; i < len(x); i += numClasses {
		row := x[i : i+numClasses]
		m := float64(row[0])
		for _, v := range row[1:] {
			m = max(m, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - m)
		}
		for j, v := range row {
			row[j] = S(math.Exp(float64(v)-m) / sum)
		}
	}
}

// sigmoid returns 1/(1+e^-x) without overflow for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// logSoftmax replaces each row of finite logits by its log-softmax in
// place.
func logSoftmax[S Float](x []S, numClasses int) {
	for i := 0; i < len(x); i += numClasses {
		row := x[i : i+numClasses]
		m := float64(row[0])
		for _, v := range row[1:] {
			m = max(m, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(sum)
		for j, v := range row {
			row[j] = S(float64(v) - lse)
		}
	}
}
