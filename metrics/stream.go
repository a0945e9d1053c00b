package metrics

import (
	"fmt"
	"maps"
	"slices"
)

// Metric is a streaming metric for a training or evaluation loop: feed it
// each batch with Update, read the metric over everything seen so far with
// Result, and start over with Reset (say, at each epoch). The result equals
// that of the matching one-shot function over the concatenated batches.
//
// Update takes what a classification loop has per batch: the true class
// ids and the model's output scores, a row-major [batch, numClasses]
// matrix flattened into one slice. numClasses == 1 means one sigmoid
// probability per sample for binary labels 0/1. Label metrics turn scores
// into labels with PredictLabels (threshold 0.5 for one column, argmax
// otherwise). Update returns an error, and leaves the metric unchanged,
// when the inputs do not fit (lengths, NaN or infinite scores, labels out
// of range, a numClasses that changes between batches).
type Metric interface {
	// Name returns a short name for logs, such as "accuracy" or "f1_macro".
	Name() string
	// Update adds a batch.
	Update(yTrue []int, scores []float32, numClasses int) error
	// Result returns the metric over all batches since the last Reset.
	Result() (float64, error)
	// Reset forgets all batches.
	Reset()
}

// LabelMetric is a Metric that can also be fed predicted labels directly.
type LabelMetric interface {
	Metric
	// UpdateLabels adds a batch of true and predicted labels.
	UpdateLabels(yTrue, yPred []int) error
}

var (
	_ LabelMetric = (*AccuracyMetric)(nil)
	_ LabelMetric = (*PRFMetric)(nil)
	_ LabelMetric = (*ConfusionMetric)(nil)
	_ Metric      = (*ROCAUCMetric)(nil)
	_ Metric      = (*LogLossMetric)(nil)
)

// predictBatch validates a batch of scores and turns it into labels.
func predictBatch(fn string, buf, yTrue []int, scores []float32, numClasses int) ([]int, error) {
	if err := checkScores(fn, yTrue, scores, numClasses); err != nil {
		return buf, err
	}
	return PredictLabels(buf[:0], scores, numClasses)
}

// AccuracyMetric accumulates the accuracy. Create it with
// NewAccuracyMetric.
type AccuracyMetric struct {
	hit, total int64
	buf        []int
}

// NewAccuracyMetric returns an empty accuracy accumulator.
func NewAccuracyMetric() *AccuracyMetric { return &AccuracyMetric{} }

// Name returns "accuracy".
func (m *AccuracyMetric) Name() string { return "accuracy" }

// Update adds a batch of scores; see Metric.
func (m *AccuracyMetric) Update(yTrue []int, scores []float32, numClasses int) error {
	var err error
	if m.buf, err = predictBatch("AccuracyMetric.Update", m.buf, yTrue, scores, numClasses); err != nil {
		return err
	}
	return m.UpdateLabels(yTrue, m.buf)
}

// UpdateLabels adds a batch of labels.
func (m *AccuracyMetric) UpdateLabels(yTrue, yPred []int) error {
	if err := checkPair("AccuracyMetric.UpdateLabels", yTrue, yPred); err != nil {
		return err
	}
	for i, t := range yTrue {
		if yPred[i] == t {
			m.hit++
		}
	}
	m.total += int64(len(yTrue))
	return nil
}

// Result returns the accuracy so far, or ErrEmpty before any sample.
func (m *AccuracyMetric) Result() (float64, error) {
	if m.total == 0 {
		return 0, fmt.Errorf("%w: metrics.AccuracyMetric: no samples since the last Reset", ErrEmpty)
	}
	return float64(m.hit) / float64(m.total), nil
}

// Reset forgets all samples.
func (m *AccuracyMetric) Reset() { m.hit, m.total = 0, 0 }

// PRFMetric accumulates per-label counts and reports a precision, recall
// or F-beta score, averaged as configured. Create it with
// NewPrecisionMetric, NewRecallMetric, NewF1Metric or NewFBetaMetric.
type PRFMetric struct {
	name   string
	which  int // 0 precision, 1 recall, 2 F-score
	beta   float64
	opts   []Option
	counts map[int]*[3]int64
	buf    []int
}

func newPRF(name string, which int, beta float64, opts []Option) *PRFMetric {
	c := newConfig(opts)
	if c.average != AverageBinary {
		name += "_" + c.average.String()
	}
	return &PRFMetric{name: name, which: which, beta: beta, opts: slices.Clone(opts), counts: map[int]*[3]int64{}}
}

// NewPrecisionMetric returns a precision accumulator. It honours the same
// options as Precision; invalid options are reported by Result.
func NewPrecisionMetric(opts ...Option) *PRFMetric { return newPRF("precision", 0, 1, opts) }

// NewRecallMetric returns a recall accumulator, with the options of Recall.
func NewRecallMetric(opts ...Option) *PRFMetric { return newPRF("recall", 1, 1, opts) }

// NewF1Metric returns an F1 accumulator, with the options of F1.
func NewF1Metric(opts ...Option) *PRFMetric { return newPRF("f1", 2, 1, opts) }

// NewFBetaMetric returns an F-beta accumulator, with the options of FBeta.
func NewFBetaMetric(beta float64, opts ...Option) *PRFMetric {
	return newPRF(fmt.Sprintf("f%g", beta), 2, beta, opts)
}

// Name returns the metric's name, with the averaging as a suffix unless it
// is binary: "precision", "recall_macro", "f1_weighted", "f2_micro".
func (m *PRFMetric) Name() string { return m.name }

// Update adds a batch of scores; see Metric.
func (m *PRFMetric) Update(yTrue []int, scores []float32, numClasses int) error {
	var err error
	if m.buf, err = predictBatch("PRFMetric.Update", m.buf, yTrue, scores, numClasses); err != nil {
		return err
	}
	return m.UpdateLabels(yTrue, m.buf)
}

// UpdateLabels adds a batch of labels.
func (m *PRFMetric) UpdateLabels(yTrue, yPred []int) error {
	if err := checkPair("PRFMetric.UpdateLabels", yTrue, yPred); err != nil {
		return err
	}
	addCounts(m.counts, yTrue, yPred)
	return nil
}

func addCounts(counts map[int]*[3]int64, yTrue, yPred []int) {
	for i, t := range yTrue {
		p := yPred[i]
		ct := countsOf(counts, t)
		ct[2]++
		if t == p {
			ct[0]++
			ct[1]++
		} else {
			countsOf(counts, p)[1]++
		}
	}
}

// countsOf returns the [tp, pred, true] counts of label l, adding them.
func countsOf(counts map[int]*[3]int64, l int) *[3]int64 {
	c := counts[l]
	if c == nil {
		c = new([3]int64)
		counts[l] = c
	}
	return c
}

// Scores returns precision, recall and F-beta together, with their
// ill-defined flags.
func (m *PRFMetric) Scores() (Scores, error) {
	const fn = "PRFMetric"
	if len(m.counts) == 0 {
		return Scores{}, fmt.Errorf("%w: metrics.%s: no samples since the last Reset", ErrEmpty, fn)
	}
	c := newConfig(m.opts)
	if err := c.validate(fn); err != nil {
		return Scores{}, err
	}
	if err := checkBeta(fn, m.beta); err != nil {
		return Scores{}, err
	}
	return countsFromMap(m.counts).scores(fn, m.beta, &c)
}

// PerClass returns the per-class scores, as the function PerClass does.
func (m *PRFMetric) PerClass() (ClassScores, error) {
	const fn = "PRFMetric.PerClass"
	if len(m.counts) == 0 {
		return ClassScores{}, fmt.Errorf("%w: metrics.%s: no samples since the last Reset", ErrEmpty, fn)
	}
	c := newConfig(m.opts)
	if err := c.validate(fn); err != nil {
		return ClassScores{}, err
	}
	if err := checkBeta(fn, m.beta); err != nil {
		return ClassScores{}, err
	}
	return countsFromMap(m.counts).perClass(m.beta, &c), nil
}

// Result returns the precision, recall or F-beta score so far.
func (m *PRFMetric) Result() (float64, error) {
	s, err := m.Scores()
	if err != nil {
		return 0, err
	}
	return [3]float64{s.Precision, s.Recall, s.FScore}[m.which], nil
}

// Reset forgets all samples.
func (m *PRFMetric) Reset() { clear(m.counts) }

// ConfusionMetric accumulates a confusion matrix. Its Result is the
// accuracy over the matrix; Matrix returns the matrix itself. Create it
// with NewConfusionMetric.
type ConfusionMetric struct {
	opts  []Option
	pairs map[[2]int]int64
	buf   []int
}

// NewConfusionMetric returns an empty confusion-matrix accumulator. It
// honours WithLabels, as ConfusionMatrix does.
func NewConfusionMetric(opts ...Option) *ConfusionMetric {
	return &ConfusionMetric{opts: slices.Clone(opts), pairs: map[[2]int]int64{}}
}

// Name returns "confusion_matrix".
func (m *ConfusionMetric) Name() string { return "confusion_matrix" }

// Update adds a batch of scores; see Metric.
func (m *ConfusionMetric) Update(yTrue []int, scores []float32, numClasses int) error {
	var err error
	if m.buf, err = predictBatch("ConfusionMetric.Update", m.buf, yTrue, scores, numClasses); err != nil {
		return err
	}
	return m.UpdateLabels(yTrue, m.buf)
}

// UpdateLabels adds a batch of labels.
func (m *ConfusionMetric) UpdateLabels(yTrue, yPred []int) error {
	if err := checkPair("ConfusionMetric.UpdateLabels", yTrue, yPred); err != nil {
		return err
	}
	for i, t := range yTrue {
		m.pairs[[2]int{t, yPred[i]}]++
	}
	return nil
}

// Matrix returns the confusion matrix so far, equal to ConfusionMatrix
// over all the labels seen.
func (m *ConfusionMetric) Matrix() (*Confusion, error) {
	const fn = "ConfusionMetric"
	if len(m.pairs) == 0 {
		return nil, fmt.Errorf("%w: metrics.%s: no samples since the last Reset", ErrEmpty, fn)
	}
	c := newConfig(m.opts)
	if err := c.validate(fn); err != nil {
		return nil, err
	}
	var labels []int
	if c.labelsSet {
		labels = c.labels
	} else {
		seen := map[int]bool{}
		for p := range m.pairs {
			seen[p[0]], seen[p[1]] = true, true
		}
		labels = slices.Sorted(maps.Keys(seen))
	}
	if len(labels) > MaxConfusionLabels {
		return nil, fmt.Errorf("%w: metrics.%s: %d distinct labels, at most %d allowed", ErrOption, fn, len(labels), MaxConfusionLabels)
	}
	cm := newConfusion(labels)
	idx := cm.indexer()
	found := false
	for p, n := range m.pairs {
		ti, ok1 := idx(p[0])
		pi, ok2 := idx(p[1])
		found = found || ok1
		if ok1 && ok2 {
			cm.Counts[ti][pi] += int(n)
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: metrics.%s: none of the labels %v occurs in yTrue", ErrOption, fn, labels)
	}
	return cm, nil
}

// Result returns the accuracy over the matrix (its trace over its total).
func (m *ConfusionMetric) Result() (float64, error) {
	cm, err := m.Matrix()
	if err != nil {
		return 0, err
	}
	return cm.Accuracy(), nil
}

// Reset forgets all samples.
func (m *ConfusionMetric) Reset() { clear(m.pairs) }

// ROCAUCMetric accumulates labels and scores and reports the ROC AUC. It
// keeps every score it is given (4 bytes per score plus 8 per label),
// because the AUC depends on the ranking of all of them. Create it with
// NewROCAUCMetric.
//
// With numClasses == 1 the scores are probabilities of class 1 and the
// result is ROCAUC; with numClasses == 2 only the second column (class 1)
// is kept and the result is ROCAUC of it; with more classes the result is
// ROCAUCOvR with the configured averaging.
type ROCAUCMetric struct {
	avg        Average
	numClasses int
	yTrue      []int
	scores     []float32
}

// NewROCAUCMetric returns an empty ROC AUC accumulator. It honours
// WithAverage for multi-class scores: AverageMacro (also chosen by the
// default, AverageBinary) or AverageWeighted.
func NewROCAUCMetric(opts ...Option) *ROCAUCMetric {
	c := newConfig(opts)
	avg := c.average
	if avg == AverageBinary {
		avg = AverageMacro
	}
	return &ROCAUCMetric{avg: avg}
}

// Name returns "roc_auc", or "roc_auc_weighted" for weighted averaging.
func (m *ROCAUCMetric) Name() string {
	if m.avg == AverageWeighted {
		return "roc_auc_weighted"
	}
	return "roc_auc"
}

// Update adds a batch; see Metric. The labels must be 0 or 1 when
// numClasses is 1 or 2, and in [0, numClasses) otherwise.
func (m *ROCAUCMetric) Update(yTrue []int, scores []float32, numClasses int) error {
	const fn = "ROCAUCMetric.Update"
	if err := checkScores(fn, yTrue, scores, numClasses); err != nil {
		return err
	}
	if m.numClasses != 0 && numClasses != m.numClasses {
		return fmt.Errorf("%w: metrics.%s: numClasses is %d, earlier batches had %d", ErrOption, fn, numClasses, m.numClasses)
	}
	if numClasses <= 2 {
		if _, err := checkBinary(fn, yTrue); err != nil {
			return err
		}
	} else if err := checkClassRange(fn, yTrue, numClasses); err != nil {
		return err
	}
	m.numClasses = numClasses
	m.yTrue = append(m.yTrue, yTrue...)
	if numClasses == 2 {
		for i := range yTrue {
			m.scores = append(m.scores, scores[2*i+1])
		}
	} else {
		m.scores = append(m.scores, scores...)
	}
	return nil
}

// Result returns the ROC AUC over all samples so far.
func (m *ROCAUCMetric) Result() (float64, error) {
	if len(m.yTrue) == 0 {
		return 0, fmt.Errorf("%w: metrics.ROCAUCMetric: no samples since the last Reset", ErrEmpty)
	}
	if m.numClasses <= 2 {
		return ROCAUC(m.yTrue, m.scores)
	}
	return ROCAUCOvR(m.yTrue, m.scores, m.numClasses, m.avg)
}

// Reset forgets all samples, keeping the allocated memory.
func (m *ROCAUCMetric) Reset() {
	m.yTrue, m.scores, m.numClasses = m.yTrue[:0], m.scores[:0], 0
}

// LogLossMetric accumulates the mean log loss of predicted probabilities
// (see LogLoss). Create it with NewLogLossMetric.
type LogLossMetric struct {
	sum float64
	n   int64
}

// NewLogLossMetric returns an empty log-loss accumulator.
func NewLogLossMetric() *LogLossMetric { return &LogLossMetric{} }

// Name returns "log_loss".
func (m *LogLossMetric) Name() string { return "log_loss" }

// Update adds a batch of probabilities, laid out as LogLoss takes them.
func (m *LogLossMetric) Update(yTrue []int, probs []float32, numClasses int) error {
	s, err := logLossSum("LogLossMetric.Update", yTrue, probs, numClasses)
	if err != nil {
		return err
	}
	m.sum += s
	m.n += int64(len(yTrue))
	return nil
}

// Result returns the mean log loss so far.
func (m *LogLossMetric) Result() (float64, error) {
	if m.n == 0 {
		return 0, fmt.Errorf("%w: metrics.LogLossMetric: no samples since the last Reset", ErrEmpty)
	}
	return m.sum / float64(m.n), nil
}

// Reset forgets all samples.
func (m *LogLossMetric) Reset() { m.sum, m.n = 0, 0 }
