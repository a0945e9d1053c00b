package dashboard

import (
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/train"
)

// Option configures a Dashboard (for all its runs) or one Run.
type Option func(*options)

type options struct {
	maxPoints int
	// confusion: the data set scored at the end of training.
	confusion    data.Dataset
	classNames   []string
	confusionBat int
	// samples: what to generate at the end of training.
	tok     Tokenizer
	prompts []string
	gen     train.GenerateConfig
}

func defaultOptions() options { return options{maxPoints: DefaultMaxPoints} }

// Tokenizer turns text into token ids and back, as data/text's
// tokenizers do.
type Tokenizer interface {
	Encode(s string) []int
	Decode(ids []int) string
}

// WithMaxPoints bounds each per-step and per-epoch series of a run to n
// points (at least 16; default DefaultMaxPoints). Longer series are
// downsampled by merging neighbouring points into their means.
func WithMaxPoints(n int) Option {
	return func(o *options) { o.maxPoints = max(n, 16) }
}

// WithConfusion shows, when training ends, the confusion matrix of the
// model on ds (a classification data set: class ids as targets, or one
// per position for a sequence model), computed with train.Evaluate in
// batches of 256. classNames, if given, label the rows and columns.
func WithConfusion(ds data.Dataset, classNames ...string) Option {
	return func(o *options) {
		o.confusion, o.classNames, o.confusionBat = ds, classNames, 256
	}
}

// WithSamples shows, when training ends, what a language model generates
// after each prompt, with train.Generate and cfg (cfg.MaxTokens tokens;
// give cfg a seeded Rand for a reproducible sample).
func WithSamples(tok Tokenizer, cfg train.GenerateConfig, prompts ...string) Option {
	return func(o *options) { o.tok, o.gen, o.prompts = tok, cfg, prompts }
}
