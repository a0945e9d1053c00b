package train

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// epochSetter is a data set whose examples depend on the epoch, such as
// text.Windows, which draws different random windows every epoch. Fit
// tells it the epoch before the epoch's first batch.
type epochSetter interface{ SetEpoch(epoch int) }

// sequenceTargets reports whether targets of shape ts (per example) are
// class ids for every position of an output of shape outShape (batch of
// one): outShape is [1, ts..., classes].
func sequenceTargets(outShape, ts []int) bool {
	return len(outShape) == len(ts)+2 && slices.Equal(outShape[1:len(outShape)-1], ts)
}

// labelsFor returns the class ids the metrics score the output out
// against: the batch's labels, one per example, or, for a sequence model
// whose output [B, T, classes] has one axis more than its targets [B, T],
// every target id, B·T of them, kept in *buf.
func labelsFor(buf *[]int, b *data.Batch, out *tensor.Tensor) []int {
	ys, os := b.Y.Shape(), out.Shape()
	if len(os) < 3 || len(os) != len(ys)+1 || !slices.Equal(os[:len(ys)], ys) {
		return b.Labels
	}
	*buf = (*buf)[:0]
	for _, v := range b.Y.Data() {
		*buf = append(*buf, int(v))
	}
	return *buf
}

// Perplexity makes a metric for language models: exp of the mean
// cross-entropy, in nats, of the true next token under the model's logits,
// over every token seen. A model that guesses uniformly among V tokens
// scores V. Use it in Config.Metrics with CrossEntropyLoss.
func Perplexity() metrics.Metric {
	return &tokenNLL{name: "perplexity", result: math.Exp}
}

// BitsPerToken makes a metric for language models: the mean cross-entropy
// of the true next token in bits (the loss in nats divided by ln 2); for a
// character-level model, bits per character.
func BitsPerToken() metrics.Metric {
	return &tokenNLL{name: "bits", result: func(nats float64) float64 { return nats / math.Ln2 }}
}

// tokenNLL accumulates the negative log-likelihood of the true class under
// softmax(logits), summed in float64.
type tokenNLL struct {
	name   string
	result func(meanNats float64) float64
	sum    float64
	n      int
}

func (m *tokenNLL) Name() string { return m.name }
func (m *tokenNLL) Reset()       { m.sum, m.n = 0, 0 }

// Update adds the negative log-likelihood of every row of scores (logits,
// numClasses per row) at its true class.
func (m *tokenNLL) Update(yTrue []int, scores []float32, numClasses int) error {
	if numClasses < 2 || len(scores) != len(yTrue)*numClasses {
		return fmt.Errorf("%s: %d scores for %d labels of %d classes; want logits over at least 2 classes", m.name, len(scores), len(yTrue), numClasses)
	}
	var sum float64
	for i, y := range yTrue {
		if y < 0 || y >= numClasses {
			return fmt.Errorf("%s: label %d at row %d is outside [0, %d)", m.name, y, i, numClasses)
		}
		row := scores[i*numClasses : (i+1)*numClasses]
		mx := float64(slices.Max(row))
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v) - mx)
		}
		nll := mx + math.Log(z) - float64(row[y])
		if math.IsNaN(nll) || math.IsInf(nll, 0) {
			return fmt.Errorf("%s: row %d has non-finite logits", m.name, i)
		}
		sum += nll
	}
	m.sum += sum
	m.n += len(yTrue)
	return nil
}

func (m *tokenNLL) Result() (float64, error) {
	if m.n == 0 {
		return 0, errors.New(m.name + ": no tokens")
	}
	return m.result(m.sum / float64(m.n)), nil
}

// StepScheduler advances an optim schedule after every optimizer step
// instead of every epoch, counting the schedule's "epochs" in steps: the
// usual warm-up and cosine decay of language-model training, where one
// epoch of random windows is an arbitrary unit. It logs the learning rate
// in force as "lr" (per batch and per epoch).
//
//	sched := optim.NewWarmupCosine(opt, optim.WarmupCosineConfig{Warmup: 100, Total: steps, StartFactor: optim.Zero})
//	cfg.Callbacks = append(cfg.Callbacks, &train.StepScheduler{Schedule: sched})
type StepScheduler struct {
	BaseCallback
	Schedule optim.Scheduler
}

// OnBatchEnd steps the schedule.
func (c *StepScheduler) OnBatchEnd(s *State, logs Logs) error {
	logs["lr"] = float64(s.Optimizer.LR())
	c.Schedule.Step()
	return nil
}

// OnEpochEnd logs the learning rate now in force.
func (c *StepScheduler) OnEpochEnd(s *State, logs Logs) error {
	logs["lr"] = float64(s.Optimizer.LR())
	return nil
}

// MarshalBinary returns the schedule's state, for BackupAndRestore.
func (c *StepScheduler) MarshalBinary() ([]byte, error) {
	return (&LRScheduler{Schedule: c.Schedule}).MarshalBinary()
}

// UnmarshalBinary restores a state returned by MarshalBinary, setting the
// optimizer's learning rate for the restored step.
func (c *StepScheduler) UnmarshalBinary(b []byte) error {
	return (&LRScheduler{Schedule: c.Schedule}).UnmarshalBinary(b)
}
