package dashboard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/train"
)

// Run records one training run for its Dashboard. It is a train.Callback:
// pass it in Config.Callbacks. Its hooks only copy numbers and hand the
// stream its events, so they never wait for a client; the matrix and the
// samples of WithConfusion and WithSamples are computed in OnTrainEnd.
type Run struct {
	d    *Dashboard
	opts options

	// Guarded by d.mu: what the API serves.
	st        status
	steps     series
	epochs    series
	confusion *confusionJSON
	samples   []Sample
	warnings  []string

	// Written by the hooks under d.mu, read by them without it.
	start  time.Time // this Fit's start
	offset float64   // seconds recorded by earlier Fits of this run

	// Owned by the training goroutine (the hooks).
	epochStart time.Time
	epochUnits float64 // examples or tokens trained on this epoch
	seen       int     // examples this epoch, for the batch loss
	lossSum    float64 // the epoch's loss summed over examples so far
	done       int     // steps taken by this Fit
}

// status is a run's progress, sent with every event.
type status struct {
	ID     int       `json:"id"`
	Name   string    `json:"name"`
	State  string    `json:"state"` // "waiting", "running", "done", "stopped" or "failed"
	Error  string    `json:"error,omitempty"`
	Start  time.Time `json:"start"`
	Epoch  int       `json:"epoch"`  // the current epoch, from 0
	Epochs int       `json:"epochs"` // epochs asked for
	Step   int       `json:"step"`   // steps done in the current epoch
	Steps  int       `json:"steps"`  // steps per epoch
	// Elapsed and Remaining are in seconds; Remaining is -1 while
	// unknown.
	Elapsed   float64 `json:"elapsed"`
	Remaining float64 `json:"remaining"`
	// Throughput is Unit per second over the current epoch.
	Throughput float64 `json:"throughput"`
	Unit       string  `json:"unit"` // "examples" or "tokens"
	MaxPoints  int     `json:"max_points"`
}

// summary is a run without its curves: GET /api/runs and "run" events.
type summary struct {
	status
	Confusion *confusionJSON `json:"confusion,omitempty"`
	Samples   []Sample       `json:"samples,omitempty"`
	Warnings  []string       `json:"warnings,omitempty"`
}

// runJSON is a run with its curves: GET /api/runs/{id} and snapshots.
type runJSON struct {
	summary
	StepLogs  []point `json:"step_logs"`
	EpochLogs []point `json:"epoch_logs"`
}

// pointEvent is a "step" or "epoch" event: the run's new status and the
// new point.
type pointEvent struct {
	Status status `json:"status"`
	Point  point  `json:"point"`
}

// confusionJSON is a confusion matrix: Counts[i][j] examples of class
// Labels[i] predicted as Labels[j].
type confusionJSON struct {
	Labels []string `json:"labels"`
	Counts [][]int  `json:"counts"`
}

// Sample is a generated text shown with a run: the prompt and what the
// model wrote after it.
type Sample struct {
	Prompt string `json:"prompt"`
	Text   string `json:"text"`
}

func newRun(d *Dashboard, id int, name string, o options) *Run {
	return &Run{
		d: d, opts: o,
		st:     status{ID: id, Name: name, State: "waiting", Remaining: -1, Unit: "examples", MaxPoints: o.maxPoints},
		steps:  series{max: o.maxPoints},
		epochs: series{max: o.maxPoints},
	}
}

func (r *Run) summaryLocked() summary {
	return summary{status: r.st, Confusion: r.confusion, Samples: append([]Sample(nil), r.samples...), Warnings: append([]string(nil), r.warnings...)}
}

func (r *Run) fullLocked() runJSON {
	s := r.summaryLocked()
	if s.State == "running" {
		s.Elapsed = r.elapsed(time.Now())
	}
	return runJSON{summary: s, StepLogs: r.steps.clone(), EpochLogs: r.epochs.clone()}
}

// ID returns the run's number, its id in the API (from 1).
func (r *Run) ID() int { return r.st.ID }

// elapsed returns the run's seconds of training so far.
func (r *Run) elapsed(now time.Time) float64 { return r.offset + now.Sub(r.start).Seconds() }

// OnTrainBegin marks the run as running.
func (r *Run) OnTrainBegin(s *train.State) error {
	now := time.Now()
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	if r.st.Start.IsZero() {
		r.st.Start = now
	} else {
		r.offset = r.st.Elapsed
	}
	r.start, r.done = now, 0
	r.st.State, r.st.Error = "running", ""
	r.st.Epoch, r.st.Epochs, r.st.Steps, r.st.Step = s.StartEpoch, s.Epochs, s.Steps, 0
	r.d.publishLocked("run", r.summaryLocked())
	return nil
}

// OnEpochBegin starts the epoch's throughput count.
func (r *Run) OnEpochBegin(s *train.State) error {
	r.epochStart = time.Now()
	r.epochUnits, r.seen, r.lossSum = 0, 0, 0
	return nil
}

// OnBatchBegin does nothing.
func (r *Run) OnBatchBegin(*train.State) error { return nil }

// OnBatchEnd records the step: the logs (the epoch's running loss and
// metrics), the loss of this batch alone ("batch_loss"), the learning
// rate ("lr") and the throughput.
func (r *Run) OnBatchEnd(s *train.State, logs train.Logs) error {
	now := time.Now()
	r.done++
	v := make(map[string]float64, len(logs)+3)
	finiteCopy(v, logs)
	if s.BatchSize > 0 {
		if l, ok := logs["loss"]; ok {
			sum := l * float64(r.seen+s.BatchSize)
			v["batch_loss"] = (sum - r.lossSum) / float64(s.BatchSize)
			r.lossSum = sum
		}
		r.seen += s.BatchSize
	}
	if _, ok := v["lr"]; !ok && s.Optimizer != nil {
		v["lr"] = float64(s.Optimizer.LR())
	}
	unit := "examples"
	if s.BatchTargets > s.BatchSize {
		unit = "tokens"
		r.epochUnits += float64(s.BatchTargets)
	} else {
		r.epochUnits += float64(s.BatchSize)
	}
	tp := 0.0
	if dt := now.Sub(r.epochStart).Seconds(); dt > 0 && r.epochUnits > 0 {
		tp = r.epochUnits / dt
		v["throughput"] = tp
	}
	for k, x := range v { // a non-finite batch loss or throughput
		if math.IsNaN(x) || math.IsInf(x, 0) {
			delete(v, k)
		}
	}
	el := r.elapsed(now)
	p := point{X: float64(s.Epoch*s.Steps + s.Step + 1), T: el, V: v}

	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	r.st.Epoch, r.st.Step, r.st.Steps = s.Epoch, s.Step+1, s.Steps
	r.st.Elapsed, r.st.Throughput, r.st.Unit = el, tp, unit
	r.st.Remaining = r.remaining(s, now)
	r.steps.add(p)
	r.d.publishLocked("step", pointEvent{Status: r.st, Point: p})
	return nil
}

// remaining estimates the seconds left from the time per step so far,
// validation included once an epoch has ended.
func (r *Run) remaining(s *train.State, now time.Time) float64 {
	total := (s.Epochs - s.StartEpoch) * s.Steps
	if r.done == 0 || total <= 0 {
		return -1
	}
	left := max(total-r.done, 0)
	return now.Sub(r.start).Seconds() / float64(r.done) * float64(left)
}

// OnEpochEnd records the epoch's logs, training and validation, at the
// step where the epoch ends.
func (r *Run) OnEpochEnd(s *train.State, logs train.Logs) error {
	now := time.Now()
	v := make(map[string]float64, len(logs)+2)
	finiteCopy(v, logs)
	if _, ok := v["lr"]; !ok && s.Optimizer != nil {
		v["lr"] = float64(s.Optimizer.LR())
	}
	if dt := now.Sub(r.epochStart).Seconds(); dt > 0 {
		v["epoch_seconds"] = dt
	}
	el := r.elapsed(now)
	p := point{X: float64((s.Epoch + 1) * s.Steps), T: el, V: v}

	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	r.st.Epoch, r.st.Step = s.Epoch, s.Steps
	r.st.Elapsed = el
	r.st.Remaining = r.remaining(s, now)
	r.epochs.add(p)
	r.d.publishLocked("epoch", pointEvent{Status: r.st, Point: p})
	return nil
}

// OnTrainEnd marks the run done, stopped (cancelled) or failed, and
// computes the confusion matrix and samples asked for with WithConfusion
// and WithSamples. Their errors are shown as warnings on the page rather
// than returned: the training itself went well.
func (r *Run) OnTrainEnd(s *train.State) error {
	state, msg := "done", ""
	switch {
	case errors.Is(s.Err, context.Canceled), errors.Is(s.Err, context.DeadlineExceeded):
		state = "stopped"
	case s.Err != nil:
		state, msg = "failed", s.Err.Error()
	}
	var warn []string
	var cm *confusionJSON
	var samples []Sample
	if state != "failed" {
		ctx := context.Background()
		if r.opts.confusion != nil {
			c, err := confusionOf(ctx, s, r.opts)
			if err != nil {
				warn = append(warn, "confusion matrix: "+err.Error())
			}
			cm = c
		}
		if r.opts.tok != nil {
			for _, prompt := range r.opts.prompts {
				ids, err := train.Generate(ctx, s.Model, r.opts.tok.Encode(prompt), r.opts.gen)
				if err != nil {
					warn = append(warn, fmt.Sprintf("sample after %q: %v", prompt, err))
					continue
				}
				samples = append(samples, Sample{Prompt: prompt, Text: r.opts.tok.Decode(ids)})
			}
		}
	}
	now := time.Now()
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	r.st.State, r.st.Error = state, msg
	r.st.Elapsed = r.elapsed(now)
	r.st.Remaining = 0
	if cm != nil {
		r.confusion = cm
	}
	r.samples = append(r.samples, samples...)
	r.warnings = append(r.warnings, warn...)
	r.d.publishLocked("run", r.summaryLocked())
	return nil
}

// confusionOf evaluates the model on the WithConfusion data set.
func confusionOf(ctx context.Context, s *train.State, o options) (*confusionJSON, error) {
	var m *metrics.ConfusionMetric
	_, err := train.Evaluate(ctx, s.Model, o.confusion, train.EvalConfig{
		BatchSize: o.confusionBat,
		Metrics:   []func() metrics.Metric{func() metrics.Metric { m = metrics.NewConfusionMetric(); return m }},
	})
	if err != nil {
		return nil, err
	}
	cm, err := m.Matrix()
	if err != nil {
		return nil, err
	}
	return confusionJSONOf(cm, o.classNames), nil
}

func confusionJSONOf(cm *metrics.Confusion, names []string) *confusionJSON {
	c := &confusionJSON{Labels: make([]string, len(cm.Labels)), Counts: make([][]int, len(cm.Counts))}
	for i, l := range cm.Labels {
		if l >= 0 && l < len(names) {
			c.Labels[i] = names[l]
		} else {
			c.Labels[i] = strconv.Itoa(l)
		}
	}
	for i, row := range cm.Counts {
		c.Counts[i] = append([]int(nil), row...)
	}
	return c
}

// SetConfusion shows cm (from metrics.ConfusionMatrix, say) with the run;
// classNames, if given, label its classes. It is safe to call at any
// time, during or after training.
func (r *Run) SetConfusion(cm *metrics.Confusion, classNames ...string) {
	c := confusionJSONOf(cm, classNames)
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	r.confusion = c
	r.d.publishLocked("run", r.summaryLocked())
}

// AddSample shows a generated text with the run: text is what the model
// wrote after prompt. It is safe to call at any time.
func (r *Run) AddSample(prompt, text string) {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	r.samples = append(r.samples, Sample{Prompt: prompt, Text: text})
	r.d.publishLocked("run", r.summaryLocked())
}

// WantsBatchMetrics asks Fit for the running metrics at every step.
func (r *Run) WantsBatchMetrics() bool { return true }

var (
	_ train.Callback       = (*Run)(nil)
	_ train.BatchMetricser = (*Run)(nil)
)
