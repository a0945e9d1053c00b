package train

import (
	"fmt"
	"io"
	"math"
	"reflect"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
)

// Config controls Fit. The zero value of every field selects a default that
// matches Keras: one epoch, batch size 32, shuffling on, cross-entropy loss,
// accuracy as the metric, and progress on standard output.
type Config struct {
	// Epochs is the number of passes over the training data (default 1).
	// With InitialEpoch, it is the index of the epoch to stop before, as
	// Keras' epochs argument: epochs InitialEpoch..Epochs-1 run.
	Epochs int
	// InitialEpoch is the epoch to start from (default 0), to continue a
	// run: the shuffling, augmentation and epoch numbers are those the
	// uninterrupted run would have had. Restoring the model, optimizer and
	// schedule is up to the caller; BackupAndRestore does all of it.
	InitialEpoch int
	// BatchSize is the number of examples per step (default 32). A batch
	// size larger than the data set is clamped to its length.
	BatchSize int
	// NoShuffle keeps the data in order; by default it is reshuffled every
	// epoch from Seed.
	NoShuffle bool
	// Seed drives shuffling and the validation split.
	Seed uint64
	// ValidationSplit holds out this fraction of the training data (taken
	// after a seeded shuffle) for validation, like Keras' validation_split.
	ValidationSplit float64
	// Validation is an explicit validation set; it takes precedence over
	// ValidationSplit.
	Validation data.Dataset
	// Loss is the objective (default nn.CrossEntropyLoss{}).
	Loss nn.Loss
	// Metrics are computed per epoch on the training and validation data.
	// Nil means accuracy; use an empty non-nil slice for none. Each metric
	// is reset at the start of every epoch. Metrics that implement
	// metrics.LogitsSetter are told whether the model outputs logits (see
	// TakesLogits); give a metric its own metrics.WithThreshold to move the
	// binary decision threshold.
	Metrics []func() metrics.Metric
	// Callbacks run at the start and end of training, epochs and batches.
	Callbacks []Callback
	// Progress receives Keras-style progress (default os.Stdout). A live bar
	// is drawn when it is a terminal; otherwise one line per epoch.
	Progress io.Writer
	// Quiet turns progress output off.
	Quiet bool
	// Prefetch assembles this many batches ahead on a background goroutine.
	Prefetch int
	// Transform, when set, is applied to each training batch (augmentation).
	Transform data.BatchTransform
	// ClipGradNorm, when positive, rescales the gradients before every
	// optimizer step so that their global L2 norm is at most this value
	// (optim.ClipGradNorm), as language models are usually trained.
	ClipGradNorm float32
	// Shards, when more than 1, splits each training batch into this many
	// shares of consecutive rows, as equal as can be, and runs their
	// forward and backward passes side by side, one share per worker with
	// the kernels inside it serial (data parallelism, as PyTorch's
	// DistributedDataParallel does across processes); their gradients are
	// added, in share order, before clipping and the optimizer step. Each
	// share's loss counts by its share of the batch's rows when the loss
	// averages (the whole batch's mean loss), whole when it sums, so the
	// gradient is the whole batch's up to float32 rounding. A model with
	// many small operations per step, like a small GPT, keeps two cores
	// busier this way than by splitting every operation; a share per core
	// is the fastest. The result depends on Shards but not on the number
	// of cores, so a fixed value (2, say) trains the same weights on every
	// machine. Each share keeps its own copy of the parameter gradients.
	// The model's training forward must be safe for concurrent use: Fit
	// refuses the layers nn.CheckConcurrentTraining names (Dropout,
	// attention and recurrent dropout, BatchNorm), a loss without a
	// Reduction field (a loss whose Reduction does not describe all of it,
	// say with an added weight penalty, is weighted wrongly), and stops
	// with an error when a parameter's gradient is written around a
	// share's arena (see autograd.Arena.SeparateGrads). 0 or 1 trains each
	// batch whole.
	Shards int
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.Epochs == 0 {
		cfg.Epochs = 1
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 32
	}
	switch {
	case cfg.Epochs < 0:
		return cfg, fmt.Errorf("train: Epochs is %d, want at least 1", cfg.Epochs)
	case cfg.InitialEpoch < 0 || cfg.InitialEpoch > cfg.Epochs:
		return cfg, fmt.Errorf("train: InitialEpoch is %d, want 0..Epochs (%d)", cfg.InitialEpoch, cfg.Epochs)
	case cfg.BatchSize < 0:
		return cfg, fmt.Errorf("train: BatchSize is %d, want at least 1", cfg.BatchSize)
	case !(cfg.ValidationSplit >= 0 && cfg.ValidationSplit < 1):
		return cfg, fmt.Errorf("train: ValidationSplit is %v, want a fraction in [0, 1)", cfg.ValidationSplit)
	case cfg.Prefetch < 0:
		return cfg, fmt.Errorf("train: Prefetch is %d, want 0 or more", cfg.Prefetch)
	case cfg.Shards < 0:
		return cfg, fmt.Errorf("train: Shards is %d, want 0 (off) or more", cfg.Shards)
	case !(cfg.ClipGradNorm >= 0) || math.IsInf(float64(cfg.ClipGradNorm), 0):
		return cfg, fmt.Errorf("train: ClipGradNorm is %v, want 0 (off) or a finite positive norm", cfg.ClipGradNorm)
	}
	if isNil(cfg.Loss) {
		cfg.Loss = nn.CrossEntropyLoss{}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = []func() metrics.Metric{Accuracy}
	}
	for i, mk := range cfg.Metrics {
		if mk == nil {
			return cfg, fmt.Errorf("train: Metrics[%d] is nil", i)
		}
	}
	for i, cb := range cfg.Callbacks {
		if isNil(cb) {
			return cfg, fmt.Errorf("train: Callbacks[%d] is nil", i)
		}
	}
	return cfg, nil
}

// isNil reports whether v is nil or an interface holding a nil pointer,
// map, slice or func (a "typed nil"), which would panic on first use.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// Accuracy makes the default metric; use it in Config.Metrics.
func Accuracy() metrics.Metric { return metrics.NewAccuracyMetric() }
