package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
)

// EvalConfig controls Evaluate. Zero values select the defaults of Config.
type EvalConfig struct {
	// BatchSize is the number of examples per forward pass (default 32).
	BatchSize int
	// Loss is the loss to report (default nn.CrossEntropyLoss{}).
	Loss nn.Loss
	// Metrics to compute (nil means accuracy; empty non-nil means none).
	Metrics []func() metrics.Metric
}

// Evaluate computes the mean loss and the metrics of model over ds, in
// batches, without recording a tape, like Keras' model.evaluate. The
// result maps "loss" and each metric's name to its value.
//
// The inputs are in inference mode, so Dropout and BatchNorm behave as in
// evaluation whatever the model's mode, and Evaluate never changes the
// mode or any running statistic. It first checks ds against the model and
// loss (see CheckInput); a panic of the model or loss on a later batch is
// returned as an error naming the batch.
func Evaluate(ctx context.Context, model nn.Module, ds data.Dataset, cfg EvalConfig) (Logs, error) {
	c, err := (&Config{BatchSize: cfg.BatchSize, Loss: cfg.Loss, Metrics: cfg.Metrics}).withDefaults()
	if err != nil {
		return nil, err
	}
	if isNil(model) {
		return nil, errors.New("train: the model is nil")
	}
	if err := checkDataset(ds, "the evaluation set"); err != nil {
		return nil, err
	}
	if err := CheckInput(model, c.Loss, ds); err != nil {
		return nil, err
	}
	logs, err := newEvaluator(model, ds, c).run(ctx)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("train: %w", err)
	}
	return logs, err
}

// evaluator computes the loss and metrics of a model over one data set,
// reusing its loader, metrics and arena across calls (Fit's validation).
type evaluator struct {
	model  nn.Module
	loss   nn.Loss
	loader *data.Loader
	ms     metricSet
	arena  *autograd.Arena
	labels []int // per-token labels of a sequence batch, reused
}

func newEvaluator(model nn.Module, ds data.Dataset, c Config) *evaluator {
	return &evaluator{
		model:  model,
		loss:   c.Loss,
		loader: data.NewLoader(ds, min(c.BatchSize, ds.Len())),
		ms:     newMetrics(c.Metrics, TakesLogits(c.Loss)),
		arena:  autograd.NewArena(),
	}
}

// run evaluates the model over the whole data set. Its errors, but for
// ctx's, do not start with "train: ": the caller says where they arose.
func (e *evaluator) run(ctx context.Context) (Logs, error) {
	e.ms.reset()
	var lossSum float64
	var seen int
	for b := range e.loader.All() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lv, err := e.batch(b)
		if err != nil {
			return nil, err
		}
		lossSum += lv * float64(b.Size())
		seen += b.Size()
	}
	logs := Logs{"loss": lossSum / float64(seen)}
	e.ms.results(logs, "")
	return logs, nil
}

// batch evaluates one batch, turning a panic into an error.
func (e *evaluator) batch(b *data.Batch) (lv float64, err error) {
	stage := "model"
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the %s failed on evaluation batch %d (input shape %v, target shape %v): %v", stage, b.Index+1, b.X.Shape(), b.Y.Shape(), p)
		}
	}()
	e.arena.Reset()
	out := e.model.Forward(e.arena.Input(b.X))
	stage = "loss"
	lv = float64(e.loss.Forward(out, b.Y).Value().Item())
	stage = "metrics"
	if err := e.ms.update(labelsFor(&e.labels, b, out.Value()), out.Value()); err != nil {
		return lv, fmt.Errorf("evaluation batch %d: %w", b.Index+1, err)
	}
	return lv, nil
}
