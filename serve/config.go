package serve

import (
	"fmt"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Output says what a model's outputs are and so how the Handler turns them
// into class probabilities.
type Output int

const (
	// OutputAuto follows train.PredictProba: nothing for a model that ends
	// in a softmax or sigmoid, exp for a log-softmax, and for logits a
	// softmax over the outputs (a sigmoid when there is one output).
	OutputAuto Output = iota
	// OutputLogits treats the outputs as logits whatever the model ends
	// in: softmax over the outputs, or a sigmoid for one output.
	OutputLogits
	// OutputProbabilities returns the outputs as they are.
	OutputProbabilities
)

// String returns the Output's name.
func (o Output) String() string {
	switch o {
	case OutputAuto:
		return "auto"
	case OutputLogits:
		return "logits"
	case OutputProbabilities:
		return "probabilities"
	}
	return fmt.Sprintf("Output(%d)", int(o))
}

// Config describes the model's input and output and the server's limits.
// Only InputShape is required; the zero values of the others take the
// defaults documented on each field.
type Config struct {
	// InputShape is the shape of one example, without the batch axis:
	// [784], [1, 28, 28]. Requests give each example either nested to this
	// shape or flat.
	InputShape []int
	// Classes optionally names the classes, one per output (two for a
	// model with one sigmoid output); responses then carry the name of
	// the predicted class.
	Classes []string
	// Output says what the model's outputs are (default OutputAuto).
	Output Output

	// MaxBatch is the most examples run through the model at once
	// (default 64). Requests that arrive while the model is busy are
	// gathered into one batch up to this size; 1 turns batching off. A
	// request with more examples than MaxBatch runs as a batch of its own.
	MaxBatch int
	// MaxDelay is how long a batch waits for more requests once its first
	// one arrived, if it is not full (default 0: a batch takes what is
	// queued, after letting the handlers that are ready to run queue
	// theirs, and runs as soon as a worker is free).
	MaxDelay time.Duration
	// MaxQueue is the most requests waiting for the model (default 1024).
	// A request that finds the queue full fails at once with 503.
	MaxQueue int
	// MaxConcurrent is the most batches run at once (default GOMAXPROCS).
	MaxConcurrent int
	// MaxInFlight is the most /predict requests being read, decoded,
	// queued or answered at once (default MaxQueue + MaxConcurrent ×
	// MaxBatch); further ones get 503 before their body is read. With
	// MaxBodyBytes it bounds the memory requests may take.
	MaxInFlight int
	// MaxExamples is the most examples one request may carry (default
	// MaxBatch).
	MaxExamples int
	// MaxBodyBytes is the largest request body accepted, in bytes
	// (default: enough for MaxExamples examples as JSON at 16 bytes a
	// value, and at least 1 MiB). Larger bodies get 413.
	MaxBodyBytes int64
	// Timeout bounds the time from a request's arrival to its answer
	// (default 0: none beyond the request's own context). A request past
	// it gets 503 and is dropped from its batch if it has not run yet.
	Timeout time.Duration

	// Registry receives the Handler's metrics, which /metrics exposes.
	// Nil means a fresh registry of the Handler's own (see
	// Handler.Registry); the global default registry is never used.
	Registry *prometheus.Registry
}

// maxRank bounds the rank of an example's shape.
const maxRank = 8

// withDefaults returns c with its zero fields set, or an error naming the
// field that is wrong.
func (c Config) withDefaults() (Config, int, error) {
	if len(c.InputShape) == 0 {
		return c, 0, fmt.Errorf("serve: Config.InputShape is empty; give the shape of one example, such as [784] or [1 28 28]")
	}
	if len(c.InputShape) > maxRank {
		return c, 0, fmt.Errorf("serve: Config.InputShape %v has rank %d, more than %d", c.InputShape, len(c.InputShape), maxRank)
	}
	features := 1
	for _, d := range c.InputShape {
		if d <= 0 || d > 1<<24 || features*d > 1<<24 {
			return c, 0, fmt.Errorf("serve: Config.InputShape %v: every dimension must be positive and an example at most %d values", c.InputShape, 1<<24)
		}
		features *= d
	}
	c.InputShape = append([]int(nil), c.InputShape...)
	c.Classes = append([]string(nil), c.Classes...)
	if c.Output < OutputAuto || c.Output > OutputProbabilities {
		return c, 0, fmt.Errorf("serve: Config.Output %v is not one of OutputAuto, OutputLogits, OutputProbabilities", c.Output)
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxBatch", &c.MaxBatch, 64},
		{"MaxQueue", &c.MaxQueue, 1024},
		{"MaxConcurrent", &c.MaxConcurrent, runtime.GOMAXPROCS(0)},
	} {
		if *f.v < 0 {
			return c, 0, fmt.Errorf("serve: Config.%s is %d; want 0 (default) or more", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.MaxExamples < 0 || c.MaxInFlight < 0 || c.MaxBodyBytes < 0 || c.MaxDelay < 0 || c.Timeout < 0 {
		return c, 0, fmt.Errorf("serve: Config limits must not be negative (MaxExamples %d, MaxInFlight %d, MaxBodyBytes %d, MaxDelay %v, Timeout %v)",
			c.MaxExamples, c.MaxInFlight, c.MaxBodyBytes, c.MaxDelay, c.Timeout)
	}
	if c.MaxExamples == 0 {
		c.MaxExamples = c.MaxBatch
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = c.MaxQueue + c.MaxConcurrent*c.MaxBatch
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = max(1<<20, int64(c.MaxExamples)*int64(features)*16+1024)
	}
	return c, features, nil
}
