package metrics

import (
	"fmt"
	"math"
	"slices"
)

// IllDefined is a set of flags saying which scores hit a zero
// denominator and so took the value chosen by WithZeroDivision instead of
// a computed one. It plays the role of scikit-learn's
// UndefinedMetricWarning.
type IllDefined uint8

const (
	// PrecisionIllDefined: a class included in the score was never
	// predicted (no predicted samples).
	PrecisionIllDefined IllDefined = 1 << iota
	// RecallIllDefined: a class included in the score has no true samples.
	RecallIllDefined
	// FScoreIllDefined: a class included in the score has neither true nor
	// predicted samples.
	FScoreIllDefined
)

// String lists the set flags, e.g. "precision|recall", or "none".
func (f IllDefined) String() string {
	if f == 0 {
		return "none"
	}
	var s string
	for _, x := range []struct {
		flag IllDefined
		name string
	}{{PrecisionIllDefined, "precision"}, {RecallIllDefined, "recall"}, {FScoreIllDefined, "fscore"}} {
		if f&x.flag != 0 {
			if s != "" {
				s += "|"
			}
			s += x.name
		}
	}
	return s
}

// Scores holds averaged precision, recall and F-beta score.
type Scores struct {
	Precision float64
	Recall    float64
	FScore    float64
	// IllDefined says which of the three hit a zero division in at least
	// one of the classes they average over.
	IllDefined IllDefined
}

// ClassScores holds per-class precision, recall, F-beta score and support,
// index i describing Labels[i].
type ClassScores struct {
	Labels     []int
	Precision  []float64
	Recall     []float64
	FScore     []float64
	Support    []int
	IllDefined []IllDefined
}

// Precision returns tp / (tp + fp), averaged as chosen by WithAverage
// (default AverageBinary with positive label 1). It honours WithAverage,
// WithPosLabel, WithLabels and WithZeroDivision, like scikit-learn's
// precision_score.
func Precision(yTrue, yPred []int, opts ...Option) (float64, error) {
	s, err := prfScores("Precision", yTrue, yPred, 1, opts)
	return s.Precision, err
}

// Recall returns tp / (tp + fn), averaged as chosen by WithAverage. It
// honours the same options as Precision.
func Recall(yTrue, yPred []int, opts ...Option) (float64, error) {
	s, err := prfScores("Recall", yTrue, yPred, 1, opts)
	return s.Recall, err
}

// F1 returns the harmonic mean of precision and recall, averaged as chosen
// by WithAverage. It honours the same options as Precision.
func F1(yTrue, yPred []int, opts ...Option) (float64, error) {
	s, err := prfScores("F1", yTrue, yPred, 1, opts)
	return s.FScore, err
}

// FBeta returns the F-beta score (1+β²)·tp / ((1+β²)·tp + β²·fn + fp), which
// weighs recall β times as much as precision, averaged as chosen by
// WithAverage. β must be >= 0; β = +Inf gives the recall. It honours the
// same options as Precision.
func FBeta(yTrue, yPred []int, beta float64, opts ...Option) (float64, error) {
	s, err := prfScores("FBeta", yTrue, yPred, beta, opts)
	return s.FScore, err
}

// PrecisionRecallFScore returns precision, recall and F-beta together,
// averaged as chosen by WithAverage, with flags for ill-defined values
// (scikit-learn's precision_recall_fscore_support with an average).
func PrecisionRecallFScore(yTrue, yPred []int, beta float64, opts ...Option) (Scores, error) {
	return prfScores("PrecisionRecallFScore", yTrue, yPred, beta, opts)
}

// PerClass returns per-class precision, recall, F-beta and support for the
// labels present in yTrue or yPred, in increasing order, or for those given
// with WithLabels, in that order (scikit-learn's
// precision_recall_fscore_support with average=None). It honours
// WithLabels and WithZeroDivision.
func PerClass(yTrue, yPred []int, beta float64, opts ...Option) (ClassScores, error) {
	const fn = "PerClass"
	if err := checkPair(fn, yTrue, yPred); err != nil {
		return ClassScores{}, err
	}
	c := newConfig(opts)
	if err := c.validate(fn); err != nil {
		return ClassScores{}, err
	}
	if err := checkBeta(fn, beta); err != nil {
		return ClassScores{}, err
	}
	return countLabels(yTrue, yPred).perClass(beta, &c), nil
}

func prfScores(fn string, yTrue, yPred []int, beta float64, opts []Option) (Scores, error) {
	if err := checkPair(fn, yTrue, yPred); err != nil {
		return Scores{}, err
	}
	c := newConfig(opts)
	if err := c.validate(fn); err != nil {
		return Scores{}, err
	}
	if err := checkBeta(fn, beta); err != nil {
		return Scores{}, err
	}
	return countLabels(yTrue, yPred).scores(fn, beta, &c)
}

func checkBeta(fn string, beta float64) error {
	if math.IsNaN(beta) || beta < 0 {
		return fmt.Errorf("%w: metrics.%s: beta is %v, want >= 0", ErrOption, fn, beta)
	}
	return nil
}

// zeroValue is the value an ill-defined score takes.
func zeroValue(z ZeroDivision) float64 {
	switch z {
	case ZeroDivisionOne:
		return 1
	case ZeroDivisionNaN:
		return math.NaN()
	}
	return 0
}

// prfOne computes precision, recall and F-beta of one class (or of the
// micro-summed counts).
func prfOne(tp, pred, tru int64, beta float64, z ZeroDivision) (p, r, f float64, ill IllDefined) {
	zv := zeroValue(z)
	if pred == 0 {
		p, ill = zv, ill|PrecisionIllDefined
	} else {
		p = float64(tp) / float64(pred)
	}
	if tru == 0 {
		r, ill = zv, ill|RecallIllDefined
	} else {
		r = float64(tp) / float64(tru)
	}
	switch {
	case math.IsInf(beta, 1):
		f = r
		if tru == 0 {
			ill |= FScoreIllDefined
		}
	default:
		b2 := beta * beta
		den := b2*float64(tru) + float64(pred)
		if den == 0 {
			f, ill = zv, ill|FScoreIllDefined
		} else {
			f = (1 + b2) * float64(tp) / den
		}
	}
	return p, r, f, ill
}

// perClass computes the unaveraged scores.
func (lc *labelCounts) perClass(beta float64, c *config) ClassScores {
	labels := lc.labels
	if c.labelsSet {
		labels = c.labels
	}
	tp, pred, tru := lc.gather(labels)
	cs := ClassScores{
		Labels:     slices.Clone(labels),
		Precision:  make([]float64, len(labels)),
		Recall:     make([]float64, len(labels)),
		FScore:     make([]float64, len(labels)),
		Support:    make([]int, len(labels)),
		IllDefined: make([]IllDefined, len(labels)),
	}
	for i := range labels {
		cs.Precision[i], cs.Recall[i], cs.FScore[i], cs.IllDefined[i] = prfOne(tp[i], pred[i], tru[i], beta, c.zeroDiv)
		cs.Support[i] = int(tru[i])
	}
	return cs
}

// scores computes the averaged scores.
func (lc *labelCounts) scores(fn string, beta float64, c *config) (Scores, error) {
	labels := lc.labels
	switch {
	case c.average == AverageBinary:
		if len(lc.labels) > 2 {
			return Scores{}, fmt.Errorf("%w: metrics.%s: the labels %v are multi-class but the averaging is binary; choose micro, macro or weighted",
				ErrOption, fn, lc.labels)
		}
		if _, ok := slices.BinarySearch(lc.labels, c.posLabel); !ok && len(lc.labels) == 2 {
			return Scores{}, fmt.Errorf("%w: metrics.%s: positive label %d is not one of the labels %v",
				ErrOption, fn, c.posLabel, lc.labels)
		}
		labels = []int{c.posLabel}
	case c.labelsSet:
		labels = c.labels
	}
	tp, pred, tru := lc.gather(labels)

	if c.average == AverageMicro || c.average == AverageBinary {
		var stp, spred, stru int64
		for i := range labels {
			stp += tp[i]
			spred += pred[i]
			stru += tru[i]
		}
		p, r, f, ill := prfOne(stp, spred, stru, beta, c.zeroDiv)
		return Scores{Precision: p, Recall: r, FScore: f, IllDefined: ill}, nil
	}

	var out Scores
	ps := make([]float64, len(labels))
	rs := make([]float64, len(labels))
	fs := make([]float64, len(labels))
	var sumTrue, sumPred int64
	for i := range labels {
		var ill IllDefined
		ps[i], rs[i], fs[i], ill = prfOne(tp[i], pred[i], tru[i], beta, c.zeroDiv)
		out.IllDefined |= ill
		sumTrue += tru[i]
		sumPred += pred[i]
	}
	var w []float64
	if c.average == AverageWeighted {
		if sumTrue == 0 {
			// No class has a true sample: scikit-learn returns the
			// zero-division value for the ill-defined scores directly.
			zv := zeroValue(c.zeroDiv)
			if sumPred == 0 {
				return Scores{Precision: zv, Recall: zv, FScore: zv, IllDefined: out.IllDefined}, nil
			}
			return Scores{Precision: 0, Recall: zv, FScore: 0, IllDefined: out.IllDefined}, nil
		}
		w = make([]float64, len(labels))
		for i := range w {
			w[i] = float64(tru[i])
		}
	}
	out.Precision = nanAverage(ps, w)
	out.Recall = nanAverage(rs, w)
	out.FScore = nanAverage(fs, w)
	return out, nil
}

// nanAverage returns the (weighted, when w is not nil) mean of the
// non-NaN values of x, or NaN when there are none.
func nanAverage(x, w []float64) float64 {
	var sum, wsum float64
	for i, v := range x {
		if math.IsNaN(v) {
			continue
		}
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		sum += v * wi
		wsum += wi
	}
	if wsum == 0 {
		return math.NaN()
	}
	return sum / wsum
}
