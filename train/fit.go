package train

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Fit trains model on trainSet with opt, like Keras' model.fit, and returns
// the history of every completed epoch.
//
// Before the first step Fit runs the model once on a single example and
// returns an error naming the shapes if the model or the loss rejects it.
// Each epoch reshuffles the data (seeded), takes one optimizer step per
// batch, and then computes the loss and metrics on the validation data, if
// any. Cancelling ctx stops training at the end of the current batch: Fit
// returns the history so far with ctx's error, and the weights are those of
// the last completed step. A NaN or infinite loss stops training with an
// error naming the epoch and step. The model is left in evaluation mode.
func Fit(ctx context.Context, model nn.Module, opt optim.Optimizer, trainSet data.Dataset, cfg Config) (*History, error) {
	hist := &History{}
	c, err := cfg.withDefaults()
	if err != nil {
		return hist, err
	}
	if trainSet == nil || trainSet.Len() == 0 {
		return hist, errors.New("train: the training set is empty")
	}
	trainDS, valDS := trainSet, c.Validation
	if valDS == nil && c.ValidationSplit > 0 {
		tr, va, err := data.Split(trainSet, c.ValidationSplit, c.Seed)
		if err != nil {
			return hist, fmt.Errorf("train: validation split: %w", err)
		}
		trainDS, valDS = tr, va
	}
	if err := CheckInput(model, c.Loss, trainDS); err != nil {
		return hist, err
	}
	if valDS != nil {
		if err := CheckInput(model, c.Loss, valDS); err != nil {
			return hist, fmt.Errorf("validation data: %w", err)
		}
	}

	var opts []data.Option
	if !c.NoShuffle {
		opts = append(opts, data.Shuffle(c.Seed))
	}
	if c.Prefetch > 0 {
		opts = append(opts, data.Prefetch(c.Prefetch))
	}
	if c.Transform != nil {
		opts = append(opts, data.WithTransform(c.Transform, c.Seed+1))
	}
	loader := data.NewLoader(trainDS, c.BatchSize, opts...)
	ms := newMetrics(c.Metrics)
	prog := newProgress(c.Progress, c.Quiet)
	s := &State{Model: model, Optimizer: opt, Epochs: c.Epochs, Steps: loader.NumBatches(), History: hist}
	defer nn.SetTraining(model, false)

	for _, cb := range c.Callbacks {
		if err := cb.OnTrainBegin(s); err != nil {
			return hist, err
		}
	}
	batchLogs := Logs{}
	var stopErr error
epochs:
	for epoch := 0; epoch < c.Epochs; epoch++ {
		s.Epoch, s.Step = epoch, 0
		nn.SetTraining(model, true)
		ms.reset()
		for _, cb := range c.Callbacks {
			if err := cb.OnEpochBegin(s); err != nil {
				return hist, err
			}
		}
		prog.epochBegin(epoch, c.Epochs, s.Steps)
		var lossSum float64
		var seen int
		for b := range loader.All() {
			s.Step = b.Index
			for _, cb := range c.Callbacks {
				if err := cb.OnBatchBegin(s); err != nil {
					return hist, err
				}
			}
			out := model.Forward(autograd.Constant(b.X))
			loss := c.Loss.Forward(out, b.Y)
			lv := float64(loss.Value().Item())
			if math.IsNaN(lv) || math.IsInf(lv, 0) {
				stopErr = fmt.Errorf("train: loss is %v at epoch %d, step %d; training stopped", lv, epoch+1, b.Index+1)
				break epochs
			}
			loss.Backward()
			opt.Step()
			opt.ZeroGrad()
			n := b.Size()
			lossSum += lv * float64(n)
			seen += n
			if err := ms.update(b.Labels, out.Value()); err != nil {
				return hist, err
			}
			batchLogs["loss"] = lossSum / float64(seen)
			for _, cb := range c.Callbacks {
				if err := cb.OnBatchEnd(s, batchLogs); err != nil {
					return hist, err
				}
			}
			if prog != nil && prog.tty {
				ms.results(batchLogs, "")
				prog.batch(b.Index, batchLogs)
			}
			if err := ctx.Err(); err != nil {
				stopErr = err
				break epochs
			}
		}
		logs := Logs{"loss": lossSum / float64(max(seen, 1))}
		ms.results(logs, "")
		nn.SetTraining(model, false)
		if valDS != nil {
			vl, err := Evaluate(ctx, model, valDS, EvalConfig{BatchSize: c.BatchSize, Loss: c.Loss, Metrics: c.Metrics})
			if err != nil {
				return hist, fmt.Errorf("train: validation: %w", err)
			}
			for k, v := range vl {
				logs["val_"+k] = v
			}
		}
		for _, cb := range c.Callbacks {
			if err := cb.OnEpochEnd(s, logs); err != nil {
				return hist, err
			}
		}
		hist.Epochs = append(hist.Epochs, logs)
		prog.epochEnd(logs)
		if s.StopTraining {
			break
		}
	}
	if stopErr != nil && prog != nil && prog.tty {
		fmt.Fprintln(prog.w)
	}
	for _, cb := range c.Callbacks {
		if err := cb.OnTrainEnd(s); err != nil && stopErr == nil {
			stopErr = err
		}
	}
	return hist, stopErr
}

// CheckInput runs model (in evaluation mode, recording nothing) on the
// first example of ds and the loss on its output, and turns a shape panic
// into an error that says what the model expected.
func CheckInput(model nn.Module, loss nn.Loss, ds data.Dataset) (err error) {
	if ds.Len() == 0 {
		return errors.New("train: the dataset is empty")
	}
	x, y, _ := data.Get(ds, 0)
	xb := x.Reshape(append([]int{1}, x.Shape()...)...)
	yb := y.Reshape(append([]int{1}, y.Shape()...)...)
	stage := "model"
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("train: the %s rejected a batch of input shape %v (target shape %v): %v", stage, xb.Shape(), yb.Shape(), r)
		}
	}()
	out := model.Forward(autograd.NoGrad(xb))
	stage = "loss"
	if loss != nil {
		loss.Forward(out, yb)
	}
	return nil
}

// metricSet holds a fresh instance of each configured metric.
type metricSet []metrics.Metric

func newMetrics(makers []func() metrics.Metric) metricSet {
	ms := make(metricSet, len(makers))
	for i, mk := range makers {
		ms[i] = mk()
	}
	return ms
}

func (ms metricSet) reset() {
	for _, m := range ms {
		m.Reset()
	}
}

func (ms metricSet) update(labels []int, out *tensor.Tensor) error {
	classes := 1
	if out.Rank() > 1 {
		classes = out.Dim(-1)
	}
	for _, m := range ms {
		if err := m.Update(labels, out.Data(), classes); err != nil {
			return fmt.Errorf("train: metric %s: %w", m.Name(), err)
		}
	}
	return nil
}

// results stores each metric's value in logs under prefix+name. A metric
// that cannot be computed on this data (ROC-AUC of a single class) is left
// out.
func (ms metricSet) results(logs Logs, prefix string) {
	for _, m := range ms {
		if v, err := m.Result(); err == nil {
			logs[prefix+m.Name()] = v
		}
	}
}
