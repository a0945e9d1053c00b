package train

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
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
// batches, in evaluation mode and without recording a tape, like Keras'
// model.evaluate. The result maps "loss" and each metric's name to its
// value.
func Evaluate(ctx context.Context, model nn.Module, ds data.Dataset, cfg EvalConfig) (Logs, error) {
	c, err := (&Config{BatchSize: cfg.BatchSize, Loss: cfg.Loss, Metrics: cfg.Metrics}).withDefaults()
	if err != nil {
		return nil, err
	}
	if ds == nil || ds.Len() == 0 {
		return nil, errors.New("train: the evaluation set is empty")
	}
	if err := CheckInput(model, c.Loss, ds); err != nil {
		return nil, err
	}
	ensureEval(model)
	ms := newMetrics(c.Metrics)
	arena := autograd.NewArena()
	var lossSum float64
	var seen int
	for b := range data.NewLoader(ds, c.BatchSize).All() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		arena.Reset()
		out := model.Forward(arena.Input(b.X))
		lossSum += float64(c.Loss.Forward(out, b.Y).Value().Item()) * float64(b.Size())
		seen += b.Size()
		if err := ms.update(b.Labels, out.Value()); err != nil {
			return nil, err
		}
	}
	logs := Logs{"loss": lossSum / float64(seen)}
	ms.results(logs, "")
	return logs, nil
}

// arenas recycles inference buffers across Predict calls and goroutines.
var arenas = sync.Pool{New: func() any { return autograd.NewArena() }}

// Predict runs model on x ([N, features...]) in batches of batchSize
// (default 32), in evaluation mode and without recording a tape, and
// returns the stacked outputs ([N, outputs...]), like Keras' model.predict.
//
// Predict is safe to call from many goroutines at once on one model once
// the model is in evaluation mode (Fit leaves it so; otherwise the first
// call switches it). Once warm it allocates only its result: intermediate
// buffers come from pooled arenas.
func Predict(model nn.Module, x *tensor.Tensor, batchSize int) (out *tensor.Tensor, err error) {
	if batchSize <= 0 {
		batchSize = 32
	}
	if x.Rank() < 1 || x.Dim(0) == 0 {
		return nil, fmt.Errorf("train: Predict needs a batch of inputs [N, ...], got shape %v", x.Shape())
	}
	ensureEval(model)
	arena := arenas.Get().(*autograd.Arena)
	defer arenas.Put(arena)
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("train: the model rejected input of shape %v: %v", x.Shape(), r)
		}
	}()
	n := x.Dim(0)
	rowShape := x.Shape()[1:]
	rowSize := 1
	for _, d := range rowShape {
		rowSize *= d
	}
	shape := make([]int, 1+len(rowShape))
	var outRow int
	for lo := 0; lo < n; lo += batchSize {
		hi := min(lo+batchSize, n)
		shape[0] = hi - lo
		copy(shape[1:], rowShape)
		arena.Reset()
		in := x
		if hi-lo < n {
			in = tensor.New(x.Data()[lo*rowSize:hi*rowSize], shape...)
		}
		y := model.Forward(arena.Input(in)).Value()
		if out == nil {
			var dims [8]int
			outShape := append(append(dims[:0], n), y.Shape()[1:]...)
			out = tensor.Zeros(outShape...)
			outRow = out.Size() / n
		}
		copy(out.Data()[lo*outRow:hi*outRow], y.Data())
	}
	return out, nil
}

// ensureEval switches model to evaluation mode if it is training.
func ensureEval(model nn.Module) {
	if nn.IsTraining(model) {
		nn.SetTraining(model, false)
	}
}
