package metrics

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors. Every error returned by this package wraps one of them,
// so callers can test the kind with errors.Is while the message names the
// function and the offending index or value.
var (
	// ErrEmpty reports an input with no samples.
	ErrEmpty = errors.New("metrics: empty input")
	// ErrLengthMismatch reports inputs whose lengths do not agree.
	ErrLengthMismatch = errors.New("metrics: length mismatch")
	// ErrNotFinite reports a NaN or infinite score or probability.
	ErrNotFinite = errors.New("metrics: value is NaN or infinite")
	// ErrOneClass reports a score metric asked of data in which only one
	// class is present, such as a ROC AUC when every label is 1.
	ErrOneClass = errors.New("metrics: only one class present in y_true")
	// ErrLabel reports a label outside the range a function accepts.
	ErrLabel = errors.New("metrics: invalid label")
	// ErrOption reports an invalid option or an option that does not fit
	// the data, such as binary averaging of multi-class labels.
	ErrOption = errors.New("metrics: invalid option")
)

// Float is the set of score types the score metrics accept.
type Float interface {
	~float32 | ~float64
}

// checkPair validates two label slices of a label metric.
func checkPair(fn string, yTrue, yPred []int) error {
	if len(yTrue) == 0 {
		return fmt.Errorf("%w: metrics.%s: yTrue has no samples", ErrEmpty, fn)
	}
	if len(yTrue) != len(yPred) {
		return fmt.Errorf("%w: metrics.%s: yTrue has %d samples, yPred has %d", ErrLengthMismatch, fn, len(yTrue), len(yPred))
	}
	return nil
}

// checkScores validates the lengths of yTrue and a score slice of
// len(yTrue)*width values, and that every score is finite.
func checkScores[S Float](fn string, yTrue []int, scores []S, width int) error {
	if len(yTrue) == 0 {
		return fmt.Errorf("%w: metrics.%s: yTrue has no samples", ErrEmpty, fn)
	}
	if width < 1 {
		return fmt.Errorf("%w: metrics.%s: numClasses is %d, want >= 1", ErrOption, fn, width)
	}
	if len(scores)%width != 0 || len(scores)/width != len(yTrue) {
		return fmt.Errorf("%w: metrics.%s: %d samples need %d scores (%d per sample), got %d",
			ErrLengthMismatch, fn, len(yTrue), len(yTrue)*width, width, len(scores))
	}
	for i, s := range scores {
		if f := float64(s); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: metrics.%s: scores[%d] is %v", ErrNotFinite, fn, i, f)
		}
	}
	return nil
}

// checkBinary validates that every label is 0 or 1 and reports how many
// positives there are.
func checkBinary(fn string, yTrue []int) (pos int, err error) {
	for i, y := range yTrue {
		switch y {
		case 1:
			pos++
		case 0:
		default:
			return 0, fmt.Errorf("%w: metrics.%s: yTrue[%d] is %d, want 0 or 1 (see Binarize)", ErrLabel, fn, i, y)
		}
	}
	return pos, nil
}

// checkClassRange validates that every label lies in [0, numClasses).
func checkClassRange(fn string, yTrue []int, numClasses int) error {
	for i, y := range yTrue {
		if y < 0 || y >= numClasses {
			return fmt.Errorf("%w: metrics.%s: yTrue[%d] is %d, want a class in [0, %d)", ErrLabel, fn, i, y, numClasses)
		}
	}
	return nil
}

// Binarize returns a 0/1 copy of y: 1 where y[i] == posLabel, 0 elsewhere.
// Use it to feed labels other than {0, 1} to the binary score metrics.
func Binarize(y []int, posLabel int) []int {
	out := make([]int, len(y))
	for i, v := range y {
		if v == posLabel {
			out[i] = 1
		}
	}
	return out
}
