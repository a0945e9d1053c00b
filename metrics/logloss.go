package metrics

import (
	"fmt"
	"math"
)

// LogLoss returns the mean cross-entropy −(1/N) Σ log p(yTrue[i]) of
// predicted probabilities, like scikit-learn's log_loss with
// labels=range(numClasses).
//
// With numClasses == 1, probs holds one probability per sample, that of
// class 1, and yTrue[i] must be 0 or 1. With numClasses >= 2, probs is a
// row-major [N, numClasses] matrix flattened into one slice and yTrue[i]
// must lie in [0, numClasses).
//
// As in scikit-learn, probabilities are first clipped to [ε, 1−ε], with ε
// the machine epsilon of the input type (2⁻²³ for float32, 2⁻⁵² for
// float64), and each row is then divided by its sum. The arithmetic after
// clipping is done in float64. Probabilities outside [0, 1], NaN or
// infinite give an error.
//
// With WithLogits the scores are logits and are first turned into
// probabilities as Probabilities does (sigmoid for one column, softmax for
// more), so the result equals LogLoss of those probabilities. WithLogits
// is the only option it honours.
func LogLoss[S Float](yTrue []int, probs []S, numClasses int, opts ...Option) (float64, error) {
	const fn = "LogLoss"
	c := newConfig(opts)
	var buf []S
	sum, err := logLossOf(fn, &buf, yTrue, probs, numClasses, c.logits)
	if err != nil {
		return 0, err
	}
	return sum / float64(len(yTrue)), nil
}

// logLossOf is logLossSum of scores that are logits when logits is set,
// converted into *buf first.
func logLossOf[S Float](fn string, buf *[]S, yTrue []int, scores []S, numClasses int, logits bool) (float64, error) {
	if logits {
		if err := checkScores(fn, yTrue, scores, numClasses); err != nil {
			return 0, err
		}
		p, err := Probabilities((*buf)[:0], scores, numClasses, true)
		if err != nil {
			return 0, err
		}
		*buf, scores = p, p
	}
	return logLossSum(fn, yTrue, scores, numClasses)
}

// logLossSum validates the inputs and returns the summed loss.
func logLossSum[S Float](fn string, yTrue []int, probs []S, numClasses int) (float64, error) {
	if err := checkScores(fn, yTrue, probs, numClasses); err != nil {
		return 0, err
	}
	for i, p := range probs {
		if p < 0 || p > 1 {
			return 0, fmt.Errorf("%w: metrics.%s: probs[%d] is %v, want a probability in [0, 1]", ErrOption, fn, i, float64(p))
		}
	}
	if numClasses == 1 {
		if _, err := checkBinary(fn, yTrue); err != nil {
			return 0, err
		}
	} else if err := checkClassRange(fn, yTrue, numClasses); err != nil {
		return 0, err
	}
	eps := epsOf[S]()
	clip := func(p S) float64 { return float64(min(max(p, eps), 1-eps)) }
	var sum float64
	for i, y := range yTrue {
		if numClasses == 1 {
			p := clip(probs[i])
			q := 1 - p
			rowSum := q + p
			if y == 1 {
				sum -= math.Log(p / rowSum)
			} else {
				sum -= math.Log(q / rowSum)
			}
			continue
		}
		row := probs[i*numClasses : (i+1)*numClasses]
		var rowSum float64
		for _, p := range row {
			rowSum += clip(p)
		}
		sum -= math.Log(clip(row[y]) / rowSum)
	}
	return sum, nil
}

// epsOf returns the machine epsilon of S.
func epsOf[S Float]() S {
	var one S = 1
	if one+0x1p-30 == one { // only float32 loses 2⁻³⁰ next to 1
		return 0x1p-23
	}
	return 0x1p-52
}
