package train

import (
	"fmt"
	"io"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
)

// Config controls Fit. The zero value of every field selects a default that
// matches Keras: one epoch, batch size 32, shuffling on, cross-entropy loss,
// accuracy as the metric, and progress on standard output.
type Config struct {
	// Epochs is the number of passes over the training data (default 1).
	Epochs int
	// BatchSize is the number of examples per step (default 32).
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
	// is reset at the start of every epoch.
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
	case cfg.BatchSize < 0:
		return cfg, fmt.Errorf("train: BatchSize is %d, want at least 1", cfg.BatchSize)
	case cfg.ValidationSplit < 0 || cfg.ValidationSplit >= 1:
		return cfg, fmt.Errorf("train: ValidationSplit is %v, want a fraction in [0, 1)", cfg.ValidationSplit)
	case cfg.Prefetch < 0:
		return cfg, fmt.Errorf("train: Prefetch is %d, want 0 or more", cfg.Prefetch)
	}
	if cfg.Loss == nil {
		cfg.Loss = nn.CrossEntropyLoss{}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = []func() metrics.Metric{Accuracy}
	}
	return cfg, nil
}

// Accuracy makes the default metric; use it in Config.Metrics.
func Accuracy() metrics.Metric { return metrics.NewAccuracyMetric() }
