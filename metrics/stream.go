package metrics

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Metric is a streaming metric for a training or evaluation loop: feed it
// each batch with Update, read the metric over everything seen so far with
// Result, and start over with Reset (say, at each epoch). The result equals
// that of the matching one-shot function over the concatenated batches.
//
// Update takes what a classification loop has per batch: the true class
// ids and the model's output scores, a row-major [batch, numClasses]
// matrix flattened into one slice. numClasses == 1 means one score per
// sample for binary labels 0/1: the probability of class 1, or its logit
// when the metric was told the scores are logits (WithLogits or
// SetLogits). Label metrics turn scores into labels with PredictLabels
// (WithThreshold, default 0.5, for one column; argmax otherwise). Update
// returns an error, and leaves the metric unchanged, when the inputs do
// not fit (lengths, NaN or infinite scores, labels out of range, a
// numClasses that changes between batches, an invalid threshold).
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

// LogitsSetter is implemented by every accumulator of this package whose
// reading of scores depends on whether they are logits or probabilities.
// A training loop that knows what its loss takes (a loss "with logits", or
// probabilities) calls SetLogits on each metric that implements it before
// the first Update, so that the metric reads the model's outputs the same
// way the loss does.
type LogitsSetter interface {
	// SetLogits says whether the scores given to Update from now on are
	// logits (true) or probabilities (false), overriding WithLogits. Call
	// it before the first Update after a Reset: a ROC AUC or log loss over
	// batches read in different ways means nothing.
	SetLogits(logits bool)
}

var (
	_ LogitsSetter = (*AccuracyMetric)(nil)
	_ LogitsSetter = (*PRFMetric)(nil)
	_ LogitsSetter = (*ConfusionMetric)(nil)
	_ LogitsSetter = (*ROCAUCMetric)(nil)
	_ LogitsSetter = (*LogLossMetric)(nil)

	_ LabelMetric = (*AccuracyMetric)(nil)
	_ LabelMetric = (*PRFMetric)(nil)
	_ LabelMetric = (*ConfusionMetric)(nil)
	_ Metric      = (*ROCAUCMetric)(nil)
	_ Metric      = (*LogLossMetric)(nil)
)

// predictBatch validates a batch of scores and turns it into labels as
// configured by c (threshold, logits).
func predictBatch(fn string, buf, yTrue []int, scores []float32, numClasses int, c *config) ([]int, error) {
	if err := checkScores(fn, yTrue, scores, numClasses); err != nil {
		return buf, err
	}
	if numClasses == 1 {
		if _, err := checkBinary(fn, yTrue); err != nil {
			return buf, err
		}
	} else if err := checkClassRange(fn, yTrue, numClasses); err != nil {
		return buf, err
	}
	if err := c.validateThreshold(fn); err != nil {
		return buf, err
	}
	return predictLabels(buf[:0], scores, numClasses, c), nil
}

// AccuracyMetric accumulates the accuracy. Create it with
// NewAccuracyMetric.
type AccuracyMetric struct {
	cfg        config
	hit, total int64
	buf        []int
}

// NewAccuracyMetric returns an empty accuracy accumulator. It honours
// WithThreshold and WithLogits, which say how Update turns single binary
// scores into labels; an invalid threshold is reported by Update.
func NewAccuracyMetric(opts ...Option) *AccuracyMetric {
	return &AccuracyMetric{cfg: newConfig(opts)}
}

// SetLogits says whether the scores are logits; see LogitsSetter.
func (m *AccuracyMetric) SetLogits(logits bool) { m.cfg.logits = logits }

// Name returns "accuracy".
func (m *AccuracyMetric) Name() string { return "accuracy" }

// Update adds a batch of scores; see Metric.
func (m *AccuracyMetric) Update(yTrue []int, scores []float32, numClasses int) error {
	var err error
	if m.buf, err = predictBatch("AccuracyMetric.Update", m.buf, yTrue, scores, numClasses, &m.cfg); err != nil {
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
	cfg    config
	counts map[int]*[3]int64
	buf    []int
}

func newPRF(name string, which int, beta float64, opts []Option) *PRFMetric {
	c := newConfig(opts)
	if c.average != AverageBinary {
		name += "_" + c.average.String()
	}
	return &PRFMetric{name: name, which: which, beta: beta, cfg: c, counts: map[int]*[3]int64{}}
}

// NewPrecisionMetric returns a precision accumulator. It honours the same
// options as Precision, and WithThreshold and WithLogits for turning the
// scores given to Update into labels; invalid options are reported by
// Result (and a bad threshold by Update).
func NewPrecisionMetric(opts ...Option) *PRFMetric { return newPRF("precision", 0, 1, opts) }

// NewRecallMetric returns a recall accumulator, with the options of Recall.
func NewRecallMetric(opts ...Option) *PRFMetric { return newPRF("recall", 1, 1, opts) }

// NewF1Metric returns an F1 accumulator, with the options of F1.
func NewF1Metric(opts ...Option) *PRFMetric { return newPRF("f1", 2, 1, opts) }

// NewFBetaMetric returns an F-beta accumulator, with the options of FBeta.
func NewFBetaMetric(beta float64, opts ...Option) *PRFMetric {
	return newPRF(fmt.Sprintf("f%g", beta), 2, beta, opts)
}

// SetLogits says whether the scores are logits; see LogitsSetter.
func (m *PRFMetric) SetLogits(logits bool) { m.cfg.logits = logits }

// Name returns the metric's name, with the averaging as a suffix unless it
// is binary: "precision", "recall_macro", "f1_weighted", "f2_micro".
func (m *PRFMetric) Name() string { return m.name }

// Update adds a batch of scores; see Metric.
func (m *PRFMetric) Update(yTrue []int, scores []float32, numClasses int) error {
	var err error
	if m.buf, err = predictBatch("PRFMetric.Update", m.buf, yTrue, scores, numClasses, &m.cfg); err != nil {
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
	c := m.cfg
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
	c := m.cfg
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
	cfg   config
	pairs map[[2]int]int64
	buf   []int
}

// NewConfusionMetric returns an empty confusion-matrix accumulator. It
// honours WithLabels, as ConfusionMatrix does, and WithThreshold and
// WithLogits for turning the scores given to Update into labels.
func NewConfusionMetric(opts ...Option) *ConfusionMetric {
	return &ConfusionMetric{cfg: newConfig(opts), pairs: map[[2]int]int64{}}
}

// SetLogits says whether the scores are logits; see LogitsSetter.
func (m *ConfusionMetric) SetLogits(logits bool) { m.cfg.logits = logits }

// Name returns "confusion_matrix".
func (m *ConfusionMetric) Name() string { return "confusion_matrix" }

// Update adds a batch of scores; see Metric.
func (m *ConfusionMetric) Update(yTrue []int, scores []float32, numClasses int) error {
	var err error
	if m.buf, err = predictBatch("ConfusionMetric.Update", m.buf, yTrue, scores, numClasses, &m.cfg); err != nil {
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
	c := m.cfg
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
// With numClasses == 1 the scores are probabilities of class 1 (or their
// logits: the AUC is the same) and the result is ROCAUC; with
// numClasses == 2 only the probability of class 1 is kept and the result
// is ROCAUC of it; with more classes the result is ROCAUCOvR with the
// configured averaging. For two or more columns of logits (WithLogits or
// SetLogits) the metric ranks the softmax of each row, as it must: a
// column of logits does not rank samples as its softmax does. It keeps
// the difference of the two logits for two classes and the log-softmax
// for more, which rank as the probabilities do without their rounding to
// 1 in float32.
type ROCAUCMetric struct {
	avg        Average
	logits     bool
	numClasses int
	yTrue      []int
	scores     []float32
}

// NewROCAUCMetric returns an empty ROC AUC accumulator. It honours
// WithAverage for multi-class scores: AverageMacro (also chosen by the
// default, AverageBinary) or AverageWeighted; and WithLogits.
func NewROCAUCMetric(opts ...Option) *ROCAUCMetric {
	c := newConfig(opts)
	avg := c.average
	if avg == AverageBinary {
		avg = AverageMacro
	}
	return &ROCAUCMetric{avg: avg, logits: c.logits}
}

// SetLogits says whether the scores are logits; see LogitsSetter.
func (m *ROCAUCMetric) SetLogits(logits bool) { m.logits = logits }

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
	switch {
	case numClasses == 2 && m.logits:
		// p1 = sigmoid(z1 - z0) ranks as z1 - z0.
		for i := range yTrue {
			d := float64(scores[2*i+1]) - float64(scores[2*i])
			m.scores = append(m.scores, float32(min(max(d, -math.MaxFloat32), math.MaxFloat32)))
		}
	case numClasses == 2:
		for i := range yTrue {
			m.scores = append(m.scores, scores[2*i+1])
		}
	case numClasses > 2 && m.logits:
		n := len(m.scores)
		m.scores = append(m.scores, scores...)
		logSoftmax(m.scores[n:], numClasses)
	default:
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
	logits bool
	sum    float64
	n      int64
	buf    []float32
}

// NewLogLossMetric returns an empty log-loss accumulator. It honours
// WithLogits: the scores are then logits, turned into probabilities by a
// sigmoid (one column) or softmax (more) before the loss is taken.
func NewLogLossMetric(opts ...Option) *LogLossMetric {
	return &LogLossMetric{logits: newConfig(opts).logits}
}

// SetLogits says whether the scores are logits; see LogitsSetter.
func (m *LogLossMetric) SetLogits(logits bool) { m.logits = logits }

// Name returns "log_loss".
func (m *LogLossMetric) Name() string { return "log_loss" }

// Update adds a batch of probabilities (or logits), laid out as LogLoss
// takes them.
func (m *LogLossMetric) Update(yTrue []int, probs []float32, numClasses int) error {
	s, err := logLossOf("LogLossMetric.Update", &m.buf, yTrue, probs, numClasses, m.logits)
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
