package train

import (
	"context"
	"errors"
	"fmt"

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
// Before the first step Fit checks its inputs and returns an error that
// says what to change: the configuration, the model's output on one
// example (shapes), every target against the loss (a class id out of
// range, a NaN), and a model that ends in a softmax or sigmoid feeding a
// loss that applies its own (see CheckOutput).
//
// Each epoch reshuffles the data (the order depends only on Seed and the
// epoch number), takes one optimizer step per batch with the model in
// training mode, and then computes the loss and metrics on the validation
// data, if any, in inference mode: validation never switches the model's
// mode, so Dropout and BatchNorm train again in the next epoch. Fit leaves
// the model in evaluation mode when it returns.
//
// Training stops with an error naming the epoch and step when the loss or
// a parameter becomes NaN or infinite, when the model or loss panics, or
// when a callback fails. Cancelling ctx stops training at the end of the
// current batch: Fit returns the history so far with ctx's error, and the
// weights are those of the last completed step. Whatever the way out, once
// the callbacks' OnTrainBegin has run their OnTrainEnd runs too (closing
// the CSVLogger's file, restoring EarlyStopping's best weights).
func Fit(ctx context.Context, model nn.Module, opt optim.Optimizer, trainSet data.Dataset, cfg Config) (*History, error) {
	hist := &History{}
	r, err := newFitRun(ctx, model, opt, trainSet, cfg, hist)
	if err != nil {
		return hist, err
	}
	return hist, r.run()
}

// fitRun is one call of Fit: its settled configuration, data and state.
type fitRun struct {
	ctx    context.Context
	cfg    Config
	model  nn.Module
	opt    optim.Optimizer
	params []*nn.Param
	loader *data.Loader
	val    *evaluator // nil without validation data
	ms     metricSet
	prog   *progress
	state  *State
	logs   Logs        // per-batch logs, reused
	epochs epochSetter // the training data, when it takes the epoch
	labels []int       // per-token labels of a sequence batch, reused
	// batchMetrics says whether the running metrics go into the logs of
	// every batch: a callback asked for them (BatchMetricser), or the
	// progress bar shows them.
	batchMetrics bool
	targets      int // targets scored in the last step
	// arena supplies the buffers of each training step; the outputs,
	// loss and passed gradients of a step stay valid until the next
	// step's Reset (parameter gradients belong to the parameters).
	arena *autograd.Arena
	// shards runs each batch as shares side by side (Config.Shards > 1).
	shards *sharder
}

// newFitRun checks Fit's arguments and prepares the run.
func newFitRun(ctx context.Context, model nn.Module, opt optim.Optimizer, trainSet data.Dataset, cfg Config, hist *History) (*fitRun, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	switch {
	case isNil(model):
		return nil, errors.New("train: the model is nil")
	case isNil(opt):
		return nil, errors.New("train: the optimizer is nil")
	}
	if err := checkDataset(trainSet, "the training set"); err != nil {
		return nil, err
	}
	if err := CheckInput(model, c.Loss, trainSet); err != nil {
		return nil, err
	}
	if err := CheckOutput(model, c.Loss); err != nil {
		return nil, err
	}
	trainDS, valDS := trainSet, c.Validation
	if valDS != nil {
		if err := checkDataset(valDS, "the validation set"); err != nil {
			return nil, err
		}
		if err := CheckInput(model, c.Loss, valDS); err != nil {
			return nil, within("validation data", err)
		}
	} else if c.ValidationSplit > 0 {
		tr, va, err := data.Split(trainSet, c.ValidationSplit, c.Seed)
		if err != nil {
			return nil, fmt.Errorf("train: validation split: %w", err)
		}
		switch {
		case tr.Len() == 0:
			return nil, fmt.Errorf("train: ValidationSplit %v of %d example(s) leaves the training part empty", c.ValidationSplit, trainSet.Len())
		case va.Len() == 0:
			return nil, fmt.Errorf("train: ValidationSplit %v of %d example(s) leaves the validation part empty", c.ValidationSplit, trainSet.Len())
		}
		trainDS, valDS = tr, va
	}

	var opts []data.Option
	if !c.NoShuffle {
		opts = append(opts, data.Shuffle(c.Seed))
	}
	if c.Prefetch > 0 {
		opts = append(opts, data.Prefetch(c.Prefetch))
	}
	if !isNil(c.Transform) {
		opts = append(opts, data.WithTransform(c.Transform, c.Seed+1))
	}
	r := &fitRun{
		ctx:    ctx,
		cfg:    c,
		model:  model,
		opt:    opt,
		params: model.Params(),
		loader: data.NewLoader(trainDS, min(c.BatchSize, trainDS.Len()), opts...),
		ms:     newMetrics(c.Metrics, TakesLogits(c.Loss)),
		prog:   newProgress(c.Progress, c.Quiet),
		logs:   Logs{},
	}
	if c.Shards > 1 {
		if r.shards, err = newSharder(c.Shards, model, c.Loss); err != nil {
			return nil, err
		}
	}
	if valDS != nil {
		r.val = newEvaluator(model, valDS, c)
	}
	r.epochs, _ = trainDS.(epochSetter)
	r.batchMetrics = r.prog != nil && r.prog.tty
	for _, cb := range c.Callbacks {
		if bm, ok := cb.(BatchMetricser); ok && bm.WantsBatchMetrics() {
			r.batchMetrics = true
		}
	}
	r.state = &State{
		Model: model, Optimizer: opt, Epochs: c.Epochs, Steps: r.loader.NumBatches(),
		StartEpoch: c.InitialEpoch, History: hist, Callbacks: c.Callbacks,
	}
	return r, nil
}

// run calls the callbacks' OnTrainBegin, trains epoch after epoch, and
// calls OnTrainEnd on every callback whose OnTrainBegin succeeded.
func (r *fitRun) run() (err error) {
	begun := 0
	defer func() { err = r.end(begun, err) }()
	for _, cb := range r.cfg.Callbacks {
		if err := cb.OnTrainBegin(r.state); err != nil {
			return err
		}
		begun++
	}
	if s := r.state.StartEpoch; s < 0 || s > r.cfg.Epochs {
		return fmt.Errorf("train: training would start at epoch %d, want 0..Epochs (%d)", s, r.cfg.Epochs)
	}
	nn.Train(r.model)
	for epoch := r.state.StartEpoch; epoch < r.cfg.Epochs; epoch++ {
		if err := r.epoch(epoch); err != nil {
			return err
		}
		if r.state.StopTraining {
			break
		}
	}
	return nil
}

// end puts the model in evaluation mode and runs the OnTrainEnd hooks of
// the first begun callbacks, joining their errors to err.
func (r *fitRun) end(begun int, err error) error {
	nn.Eval(r.model)
	if err != nil && r.prog != nil && r.prog.tty {
		fmt.Fprintln(r.prog.w)
	}
	r.state.Err = err
	for _, cb := range r.cfg.Callbacks[:begun] {
		if cerr := cb.OnTrainEnd(r.state); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}

// epoch runs one epoch: the training steps, then validation, then the
// epoch-end callbacks, and records the epoch's logs.
func (r *fitRun) epoch(epoch int) error {
	s := r.state
	s.Epoch, s.Step = epoch, 0
	r.ms.reset()
	for _, cb := range r.cfg.Callbacks {
		if err := cb.OnEpochBegin(s); err != nil {
			return err
		}
	}
	r.prog.epochBegin(epoch, r.cfg.Epochs, s.Steps)
	r.loader.SetEpoch(epoch)
	if r.epochs != nil {
		r.epochs.SetEpoch(epoch)
	}
	var lossSum float64
	var seen int
	for b := range r.loader.All() {
		s.Step = b.Index
		for _, cb := range r.cfg.Callbacks {
			if err := cb.OnBatchBegin(s); err != nil {
				return err
			}
		}
		lv, err := r.step(b)
		if err != nil {
			return err
		}
		lossSum += lv * float64(b.Size())
		seen += b.Size()
		r.logs["loss"] = lossSum / float64(seen)
		if r.batchMetrics {
			r.ms.results(r.logs, "")
		}
		s.BatchSize, s.BatchTargets = b.Size(), r.targets
		for _, cb := range r.cfg.Callbacks {
			if err := cb.OnBatchEnd(s, r.logs); err != nil {
				return err
			}
		}
		if r.prog != nil && r.prog.tty {
			r.prog.batch(b.Index, r.logs)
		}
		if err := r.ctx.Err(); err != nil {
			return err
		}
	}
	logs := Logs{"loss": lossSum / float64(max(seen, 1))}
	r.ms.results(logs, "")
	if r.val != nil {
		vl, err := r.val.run(r.ctx)
		if err != nil {
			if r.ctx.Err() != nil {
				return err
			}
			return fmt.Errorf("train: validation after epoch %d: %w", epoch+1, err)
		}
		for k, v := range vl {
			logs["val_"+k] = v
		}
	}
	for _, cb := range r.cfg.Callbacks {
		if err := cb.OnEpochEnd(s, logs); err != nil {
			return err
		}
	}
	s.History.Epochs = append(s.History.Epochs, logs)
	r.prog.epochEnd(logs)
	return nil
}

// step takes one optimizer step on batch b and returns its loss. A panic
// of the model, the loss or the optimizer, a non-finite loss and a
// non-finite parameter after the step are errors naming the epoch and
// step.
func (r *fitRun) step(b *data.Batch) (lv float64, err error) {
	where := func() string { return fmt.Sprintf("epoch %d, step %d", r.state.Epoch+1, b.Index+1) }
	stage := "model"
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("train: at %s the %s failed on a batch of input shape %v (target shape %v): %v", where(), stage, b.X.Shape(), b.Y.Shape(), p)
		}
	}()
	var out *tensor.Tensor
	if r.shards != nil {
		var failed *share
		var serr error
		lv, failed, serr = r.shards.step(b)
		switch {
		case serr != nil:
			return lv, fmt.Errorf("train: at %s: %w; training stopped", where(), serr)
		case failed != nil && failed.panic != nil:
			stage = fmt.Sprintf("%s of share %d of %d (rows %d to %d)", failed.stage, failed.index+1, r.shards.used, failed.lo, failed.hi-1)
			panic(failed.panic)
		case failed != nil:
			return failed.loss, fmt.Errorf("train: loss is %v at %s (share %d of %d, rows %d to %d); training stopped", failed.loss, where(), failed.index+1, r.shards.used, failed.lo, failed.hi-1)
		}
	} else {
		if r.arena == nil {
			r.arena = autograd.NewArena()
		}
		r.arena.Reset()
		o := r.model.Forward(r.arena.Constant(b.X))
		stage = "loss"
		loss := r.cfg.Loss.Forward(o, b.Y)
		lv = float64(loss.Value().Item())
		if !finite(lv) {
			return lv, fmt.Errorf("train: loss is %v at %s; training stopped", lv, where())
		}
		stage = "backward pass"
		loss.Backward()
		out = o.Value()
	}
	if r.cfg.ClipGradNorm > 0 {
		stage = "gradient clipping"
		optim.ClipGradNorm(r.params, r.cfg.ClipGradNorm)
	}
	stage = "optimizer step"
	r.opt.Step()
	r.opt.ZeroGrad()
	if err := checkParams(r.params); err != nil {
		return lv, fmt.Errorf("train: after the optimizer step at %s, %w; training stopped (look for NaN or infinite features, or lower the learning rate)", where(), err)
	}
	stage = "metrics"
	if r.shards != nil {
		if r.targets, err = r.shards.updateMetrics(r.ms, b); err != nil {
			return lv, fmt.Errorf("train: at %s: %w", where(), err)
		}
		return lv, nil
	}
	labels := labelsFor(&r.labels, b, out)
	r.targets = len(labels)
	if err := r.ms.update(labels, out); err != nil {
		return lv, fmt.Errorf("train: at %s: %w", where(), err)
	}
	return lv, nil
}

// metricSet holds a fresh instance of each configured metric.
type metricSet []metrics.Metric

// newMetrics makes each metric and tells those that can be told whether
// the model outputs logits.
func newMetrics(makers []func() metrics.Metric, logits bool) metricSet {
	ms := make(metricSet, len(makers))
	for i, mk := range makers {
		ms[i] = mk()
		if s, ok := ms[i].(metrics.LogitsSetter); ok {
			s.SetLogits(logits)
		}
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
			return fmt.Errorf("metric %s: %w", m.Name(), err)
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
