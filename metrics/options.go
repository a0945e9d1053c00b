package metrics

import (
	"fmt"
	"math"
	"slices"
)

// Average selects how per-class precision, recall and F-scores are
// combined into one number. The zero value is AverageBinary, the default of
// scikit-learn.
type Average int

const (
	// AverageBinary reports the score of the positive label only (see
	// WithPosLabel, default 1). The labels seen in yTrue and yPred together
	// must number at most two.
	AverageBinary Average = iota
	// AverageMicro counts true positives, predictions and true samples over
	// all labels before dividing. For single-label data micro precision,
	// recall and F1 all equal the accuracy.
	AverageMicro
	// AverageMacro is the unweighted mean of the per-class scores.
	AverageMacro
	// AverageWeighted is the mean of the per-class scores weighted by each
	// class's support (its number of true samples).
	AverageWeighted
)

// String returns the scikit-learn name of the averaging: "binary",
// "micro", "macro" or "weighted".
func (a Average) String() string {
	switch a {
	case AverageBinary:
		return "binary"
	case AverageMicro:
		return "micro"
	case AverageMacro:
		return "macro"
	case AverageWeighted:
		return "weighted"
	}
	return fmt.Sprintf("Average(%d)", int(a))
}

// ZeroDivision selects the value a precision, recall or F-score takes
// when its denominator is zero, for example the precision of a class that
// was never predicted. Whatever the choice, the result also carries an
// IllDefined flag saying which scores hit a zero division. The zero value
// is ZeroDivisionZero, which matches scikit-learn's default
// zero_division="warn".
type ZeroDivision int

const (
	// ZeroDivisionZero sets ill-defined scores to 0 (scikit-learn's
	// zero_division="warn" and zero_division=0).
	ZeroDivisionZero ZeroDivision = iota
	// ZeroDivisionOne sets ill-defined scores to 1 (zero_division=1).
	ZeroDivisionOne
	// ZeroDivisionNaN sets ill-defined scores to NaN and leaves them out
	// of macro and weighted averages (zero_division=np.nan in
	// scikit-learn 1.3 and later).
	ZeroDivisionNaN
)

// Option configures the label metrics, the accumulators built on them and
// Report. Each function documents the options it honours; others are
// ignored.
type Option func(*config)

type config struct {
	average     Average
	posLabel    int
	labels      []int
	labelsSet   bool
	zeroDiv     ZeroDivision
	targetNames []string
	digits      int
	threshold   float64
	logits      bool
}

func newConfig(opts []Option) config {
	c := config{average: AverageBinary, posLabel: 1, digits: 2, threshold: 0.5}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// validate checks the option values that do not depend on the data.
func (c *config) validate(fn string) error {
	if c.average < AverageBinary || c.average > AverageWeighted {
		return fmt.Errorf("%w: metrics.%s: unknown averaging %v", ErrOption, fn, c.average)
	}
	if c.zeroDiv < ZeroDivisionZero || c.zeroDiv > ZeroDivisionNaN {
		return fmt.Errorf("%w: metrics.%s: unknown zero-division choice %d", ErrOption, fn, int(c.zeroDiv))
	}
	if c.labelsSet {
		if len(c.labels) == 0 {
			return fmt.Errorf("%w: metrics.%s: WithLabels needs at least one label", ErrOption, fn)
		}
		s := slices.Clone(c.labels)
		slices.Sort(s)
		for i := 1; i < len(s); i++ {
			if s[i] == s[i-1] {
				return fmt.Errorf("%w: metrics.%s: label %d is listed twice in WithLabels", ErrOption, fn, s[i])
			}
		}
	}
	if c.digits < 0 || c.digits > 15 {
		return fmt.Errorf("%w: metrics.%s: digits is %d, want 0..15", ErrOption, fn, c.digits)
	}
	return c.validateThreshold(fn)
}

// validateThreshold checks the WithThreshold value.
func (c *config) validateThreshold(fn string) error {
	if !(c.threshold > 0 && c.threshold < 1) { // also rejects NaN
		return fmt.Errorf("%w: metrics.%s: threshold is %v, want a probability in (0, 1)", ErrOption, fn, c.threshold)
	}
	return nil
}

// cut returns the score above which a single binary score means class 1:
// the threshold itself for probabilities, its logit for logits.
func (c *config) cut() float64 {
	if c.logits {
		return logit(c.threshold)
	}
	return c.threshold
}

// logit is the inverse of the sigmoid, log(p / (1-p)); logit(0.5) is 0.
func logit(p float64) float64 {
	if p == 0.5 {
		return 0
	}
	return math.Log(p) - math.Log1p(-p)
}

// WithAverage selects the averaging of Precision, Recall, F1, FBeta,
// PrecisionRecallFScore and their accumulators. The default is
// AverageBinary.
func WithAverage(a Average) Option { return func(c *config) { c.average = a } }

// WithPosLabel sets the positive label used by AverageBinary (default 1).
// It is ignored by the other averagings, as in scikit-learn.
func WithPosLabel(label int) Option { return func(c *config) { c.posLabel = label } }

// WithLabels fixes the list and order of labels: the rows and columns of a
// confusion matrix, the classes of PerClass and Report, and the classes
// taken into micro, macro and weighted averages. Labels absent from the
// data count as classes with no samples; samples whose labels are not
// listed are left out of the confusion matrix.
func WithLabels(labels ...int) Option {
	return func(c *config) { c.labels = slices.Clone(labels); c.labelsSet = true }
}

// WithZeroDivision selects the value of ill-defined scores (default
// ZeroDivisionZero).
func WithZeroDivision(z ZeroDivision) Option { return func(c *config) { c.zeroDiv = z } }

// WithTargetNames gives Report the display names of the classes, in the
// order of the labels (sorted, or as given by WithLabels).
func WithTargetNames(names ...string) Option {
	return func(c *config) { c.targetNames = slices.Clone(names) }
}

// WithDigits sets the number of decimals Report prints (default 2).
func WithDigits(d int) Option { return func(c *config) { c.digits = d } }

// WithThreshold sets the probability above which a single binary score
// (numClasses == 1) predicts class 1, default 0.5. It must lie in (0, 1);
// anything else, NaN included, gives ErrOption. With WithLogits the
// scores are compared with the logit of the threshold instead, so the
// prediction is the same as for the sigmoid of the scores. Scores of two
// or more classes are turned into labels by argmax, whatever the
// threshold. PredictLabels and the label accumulators (NewAccuracyMetric,
// NewPrecisionMetric, ..., NewConfusionMetric) honour it.
func WithThreshold(p float64) Option { return func(c *config) { c.threshold = p } }

// WithLogits says that the scores are logits (raw model outputs, as taken
// by a loss "with logits" such as BCEWithLogitsLoss or CrossEntropyLoss)
// rather than probabilities. Single binary scores are then cut at
// logit(threshold), 0 for the default threshold 0.5; metrics that need
// probabilities apply the sigmoid (one column) or the softmax (two or more
// columns) first: LogLoss, the log-loss accumulator and the ROC AUC
// accumulator for two or more columns. The ROC AUC of single binary scores
// is the same for logits and probabilities, since the sigmoid keeps their
// order. The accumulators also take it through SetLogits (see
// LogitsSetter).
func WithLogits() Option { return func(c *config) { c.logits = true } }
