package train

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/shoshin-ml/shoshin/internal/atomicfile"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
)

// State is what callbacks see of a running Fit. A callback may set
// StopTraining to end training after the current epoch.
type State struct {
	Model     nn.Module
	Optimizer optim.Optimizer
	// Epoch is the current epoch, from 0; Epochs is how many were asked for.
	Epoch, Epochs int
	// Step is the current batch within the epoch, from 0; Steps is the
	// number of batches per epoch.
	Step, Steps int
	// StopTraining ends Fit once the current epoch is finished.
	StopTraining bool
	// History holds the epochs completed so far.
	History *History
	// StartEpoch is the epoch training starts from: Config.InitialEpoch,
	// which a callback's OnTrainBegin may raise to resume an interrupted
	// run (BackupAndRestore does).
	StartEpoch int
	// Callbacks are Fit's callbacks, in order.
	Callbacks []Callback
	// Err is the error Fit is about to return (nil when training
	// completed), for OnTrainEnd.
	Err error
	// BatchSize is the number of examples in the batch just trained, and
	// BatchTargets the number of targets its metrics scored: one per
	// example, or one per position (token) for a sequence model. Both are
	// set before OnBatchEnd, for callbacks that measure throughput.
	BatchSize, BatchTargets int
}

// Callback hooks into Fit. Embed BaseCallback to implement only the hooks
// you need. An error returned by a hook stops Fit and is returned by it.
type Callback interface {
	OnTrainBegin(s *State) error
	OnTrainEnd(s *State) error
	OnEpochBegin(s *State) error
	// OnEpochEnd receives the epoch's logs (training and validation). It
	// may add entries to logs; they are recorded in the History.
	OnEpochEnd(s *State, logs Logs) error
	OnBatchBegin(s *State) error
	// OnBatchEnd receives the running loss and metrics of the epoch so far.
	// The map is reused between batches: copy what you keep.
	OnBatchEnd(s *State, logs Logs) error
}

// BatchMetricser is implemented by a callback that wants the running
// metrics of the epoch, not only the loss, in the logs that OnBatchEnd
// receives on every batch (a live dashboard). When one of Fit's callbacks
// returns true, every metric's Result is computed after every step, which
// costs little for accuracy and more for metrics that rank all scores
// (ROC AUC).
type BatchMetricser interface {
	WantsBatchMetrics() bool
}

// BaseCallback implements every Callback hook as a no-op, for embedding.
type BaseCallback struct{}

// OnTrainBegin does nothing.
func (BaseCallback) OnTrainBegin(*State) error { return nil }

// OnTrainEnd does nothing.
func (BaseCallback) OnTrainEnd(*State) error { return nil }

// OnEpochBegin does nothing.
func (BaseCallback) OnEpochBegin(*State) error { return nil }

// OnEpochEnd does nothing.
func (BaseCallback) OnEpochEnd(*State, Logs) error { return nil }

// OnBatchBegin does nothing.
func (BaseCallback) OnBatchBegin(*State) error { return nil }

// OnBatchEnd does nothing.
func (BaseCallback) OnBatchEnd(*State, Logs) error { return nil }

// Mode says whether a monitored quantity should fall or rise.
type Mode int

const (
	// Auto picks Max for names containing "acc", "auc", "precision",
	// "recall" or "f1", and Min otherwise.
	Auto Mode = iota
	// Min means lower is better (losses).
	Min
	// Max means higher is better (accuracy).
	Max
)

func (m Mode) resolve(monitor string) Mode {
	if m != Auto {
		return m
	}
	for _, s := range []string{"acc", "auc", "precision", "recall", "f1"} {
		if strings.Contains(monitor, s) {
			return Max
		}
	}
	return Min
}

// monitor tracks the best value of one logged quantity.
type monitor struct {
	name     string
	mode     Mode
	minDelta float64
	best     float64
	seen     bool
}

func newMonitor(name string, mode Mode, minDelta float64) monitor {
	if name == "" {
		name = "val_loss"
	}
	return monitor{name: name, mode: mode.resolve(name), minDelta: math.Abs(minDelta)}
}

// improved reports whether logs hold a better value than the best so far,
// and records it. It fails when the quantity is missing.
func (m *monitor) improved(logs Logs) (bool, error) {
	v, ok := logs[m.name]
	if !ok {
		return false, fmt.Errorf("train: monitored quantity %q is not in the logs (have %v)", m.name, logs.keys())
	}
	better := !m.seen
	if m.seen {
		if m.mode == Max {
			better = v > m.best+m.minDelta
		} else {
			better = v < m.best-m.minDelta
		}
	}
	if better {
		m.best, m.seen = v, true
	}
	return better, nil
}

// EarlyStopping stops training when a monitored quantity has stopped
// improving, like Keras' callback of the same name.
type EarlyStopping struct {
	BaseCallback
	// Monitor names the quantity (default "val_loss").
	Monitor string
	// Mode says which direction is better (default Auto).
	Mode Mode
	// MinDelta is the smallest change that counts as an improvement.
	MinDelta float64
	// Patience is the number of epochs without improvement to wait:
	// training stops at the end of the (Patience+1)-th epoch in a row that
	// does not improve on the best (the first one when Patience is 0).
	Patience int
	// RestoreBestWeights puts back the weights of the best epoch when
	// training stops (early or not).
	RestoreBestWeights bool

	mon       monitor
	wait      int
	best      []nn.NamedTensor
	StoppedAt int // epoch (from 0) at which training was stopped, or -1
}

// OnTrainBegin resets the callback.
func (e *EarlyStopping) OnTrainBegin(*State) error {
	e.mon = newMonitor(e.Monitor, e.Mode, e.MinDelta)
	e.wait, e.best, e.StoppedAt = 0, nil, -1
	return nil
}

// OnEpochEnd checks for improvement.
func (e *EarlyStopping) OnEpochEnd(s *State, logs Logs) error {
	better, err := e.mon.improved(logs)
	if err != nil {
		return err
	}
	if better {
		e.wait = 0
		if e.RestoreBestWeights {
			e.best = snapshot(s.Model)
		}
		return nil
	}
	e.wait++
	if e.wait > e.Patience {
		s.StopTraining = true
		e.StoppedAt = s.Epoch
	}
	return nil
}

// OnTrainEnd restores the best weights when asked to.
func (e *EarlyStopping) OnTrainEnd(s *State) error {
	if e.RestoreBestWeights && e.best != nil {
		return nn.LoadStateDict(s.Model, e.best)
	}
	return nil
}

// snapshot copies a model's parameters and buffers.
func snapshot(m nn.Module) []nn.NamedTensor {
	sd := nn.StateDict(m)
	out := make([]nn.NamedTensor, len(sd))
	for i, t := range sd {
		out[i] = nn.NamedTensor{Name: t.Name, Value: t.Value.Clone()}
	}
	return out
}

// ModelCheckpoint saves the model as safetensors after an epoch, either
// every epoch or only when the monitored quantity improves. Files are
// written atomically (temporary file, fsync, rename).
type ModelCheckpoint struct {
	BaseCallback
	// Path is the file to write; "{epoch}" in it is replaced by the epoch
	// number (from 1).
	Path string
	// SaveBestOnly writes only when Monitor improves.
	SaveBestOnly bool
	// Monitor names the quantity (default "val_loss"); Mode its direction.
	Monitor string
	Mode    Mode

	mon monitor
}

// OnTrainBegin resets the callback.
func (c *ModelCheckpoint) OnTrainBegin(*State) error {
	if c.Path == "" {
		return fmt.Errorf("train: ModelCheckpoint needs a Path")
	}
	c.mon = newMonitor(c.Monitor, c.Mode, 0)
	return nil
}

// OnEpochEnd saves the model.
func (c *ModelCheckpoint) OnEpochEnd(s *State, logs Logs) error {
	if c.SaveBestOnly {
		better, err := c.mon.improved(logs)
		if err != nil || !better {
			return err
		}
	}
	path := strings.ReplaceAll(c.Path, "{epoch}", strconv.Itoa(s.Epoch+1))
	meta := map[string]string{"epoch": strconv.Itoa(s.Epoch + 1)}
	for k, v := range logs {
		meta[k] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return nn.SaveFileWithMetadata(path, s.Model, meta)
}

// LRScheduler steps an optim schedule (StepLR, CosineAnnealingLR, ...) at
// the end of every epoch and logs the learning rate as "lr".
type LRScheduler struct {
	BaseCallback
	Schedule optim.Scheduler
}

// OnEpochEnd advances the schedule.
func (c *LRScheduler) OnEpochEnd(s *State, logs Logs) error {
	logs["lr"] = float64(s.Optimizer.LR())
	c.Schedule.Step()
	return nil
}

// ReduceLROnPlateau lowers the learning rate when a monitored quantity
// stops improving, through optim.ReduceLROnPlateau.
type ReduceLROnPlateau struct {
	BaseCallback
	// Monitor names the quantity (default "val_loss").
	Monitor string
	// Plateau is the schedule that decides when and how far to reduce; its
	// mode must agree with the monitored quantity.
	Plateau *optim.ReduceLROnPlateau
}

// OnEpochEnd feeds the monitored value to the plateau schedule.
func (c *ReduceLROnPlateau) OnEpochEnd(s *State, logs Logs) error {
	name := c.Monitor
	if name == "" {
		name = "val_loss"
	}
	v, ok := logs[name]
	if !ok {
		return fmt.Errorf("train: monitored quantity %q is not in the logs (have %v)", name, logs.keys())
	}
	logs["lr"] = float64(s.Optimizer.LR())
	c.Plateau.Step(v)
	return nil
}

// CSVLogger writes one CSV row per epoch (epoch, then the logs in a stable
// order). After each epoch it replaces the file atomically (see
// internal/atomicfile), so the file can be followed while training runs and
// always holds whole rows, even when training is killed.
type CSVLogger struct {
	BaseCallback
	Path string
	// Append keeps the rows already in the file and adds to them, as for a
	// run resumed with BackupAndRestore; the columns are then those of the
	// file's header.
	Append bool

	buf    bytes.Buffer
	header []string
}

// maxCSVLog bounds the size of a log that Append reads back.
const maxCSVLog = 64 << 20

// OnTrainBegin starts the file: empty, or with Append, with the rows
// already in it.
func (c *CSVLogger) OnTrainBegin(*State) error {
	c.buf.Reset()
	c.header = nil
	if c.Append {
		if err := c.load(); err != nil {
			return fmt.Errorf("train: CSV logger: %w", err)
		}
	}
	return c.write()
}

// load reads the existing file, if any, and its header.
func (c *CSVLogger) load() error {
	f, err := os.Open(c.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := c.buf.ReadFrom(io.LimitReader(f, maxCSVLog+1))
	if err != nil {
		return err
	}
	if n > maxCSVLog {
		return fmt.Errorf("%s is over %d bytes", c.Path, maxCSVLog)
	}
	if n == 0 {
		return nil
	}
	line, _, ok := strings.Cut(c.buf.String(), "\n")
	cols := strings.Split(strings.TrimSuffix(line, "\r"), ",")
	if !ok || cols[0] != "epoch" || !strings.HasSuffix(c.buf.String(), "\n") {
		return fmt.Errorf("%s does not start with a header line \"epoch,...\" or does not end in a newline", c.Path)
	}
	c.header = append([]string{}, cols[1:]...)
	return nil
}

// OnEpochEnd adds a row.
func (c *CSVLogger) OnEpochEnd(s *State, logs Logs) error {
	if c.header == nil {
		c.header = logs.keys()
		fmt.Fprintf(&c.buf, "epoch,%s\n", strings.Join(c.header, ","))
	}
	fmt.Fprintf(&c.buf, "%d", s.Epoch+1)
	for _, k := range c.header {
		v, ok := logs[k]
		if ok {
			fmt.Fprintf(&c.buf, ",%s", strconv.FormatFloat(v, 'g', 8, 64))
		} else {
			c.buf.WriteString(",")
		}
	}
	c.buf.WriteString("\n")
	return c.write()
}

// write replaces the file with the rows so far.
func (c *CSVLogger) write() error {
	err := atomicfile.WriteFile(c.Path, 0o644, func(w io.Writer) error {
		_, err := w.Write(c.buf.Bytes())
		return err
	})
	if err != nil {
		return fmt.Errorf("train: CSV logger: %w", err)
	}
	return nil
}

// LambdaCallback turns plain functions into a Callback; nil fields are
// skipped.
type LambdaCallback struct {
	TrainBegin, TrainEnd, EpochBegin, BatchBegin func(s *State) error
	EpochEnd, BatchEnd                           func(s *State, logs Logs) error
}

func call(f func(*State) error, s *State) error {
	if f == nil {
		return nil
	}
	return f(s)
}

func callLogs(f func(*State, Logs) error, s *State, l Logs) error {
	if f == nil {
		return nil
	}
	return f(s, l)
}

// OnTrainBegin calls TrainBegin.
func (c LambdaCallback) OnTrainBegin(s *State) error { return call(c.TrainBegin, s) }

// OnTrainEnd calls TrainEnd.
func (c LambdaCallback) OnTrainEnd(s *State) error { return call(c.TrainEnd, s) }

// OnEpochBegin calls EpochBegin.
func (c LambdaCallback) OnEpochBegin(s *State) error { return call(c.EpochBegin, s) }

// OnBatchBegin calls BatchBegin.
func (c LambdaCallback) OnBatchBegin(s *State) error { return call(c.BatchBegin, s) }

// OnEpochEnd calls EpochEnd.
func (c LambdaCallback) OnEpochEnd(s *State, l Logs) error { return callLogs(c.EpochEnd, s, l) }

// OnBatchEnd calls BatchEnd.
func (c LambdaCallback) OnBatchEnd(s *State, l Logs) error { return callLogs(c.BatchEnd, s, l) }
