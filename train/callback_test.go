package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
)

// snapshots records a copy of the model's state at the end of every epoch.
type snapshots struct {
	BaseCallback
	epochs [][]nn.NamedTensor
}

func (c *snapshots) OnEpochEnd(s *State, _ Logs) error {
	c.epochs = append(c.epochs, snapshot(s.Model))
	return nil
}

// requireState checks that m holds exactly the state want.
func requireState(t *testing.T, want []nn.NamedTensor, m nn.Module) {
	t.Helper()
	got := nn.StateDict(m)
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Name, got[i].Name)
		require.Equal(t, want[i].Value.Data(), got[i].Value.Data(), want[i].Name)
	}
}

// argmin returns the index of the smallest value.
func argmin(v []float64) int {
	best := 0
	for i, x := range v {
		if x < v[best] {
			best = i
		}
	}
	return best
}

func TestEarlyStoppingRestoresBestWeights(t *testing.T) {
	m := newMLP(2, 8, 2, 1)
	es := &EarlyStopping{Monitor: "val_loss", Patience: 1, RestoreBestWeights: true}
	snaps := &snapshots{}
	// Ruin the model after epoch 3 with a huge learning rate.
	bump := LambdaCallback{EpochEnd: func(s *State, _ Logs) error {
		if s.Epoch == 2 {
			s.Optimizer.SetLR(50)
		}
		return nil
	}}
	opt := optim.NewSGD(m.Params(), optim.SGDConfig{LR: 0.1})
	hist, err := Fit(context.Background(), m, opt, blobs(200, 1), Config{
		Epochs: 20, BatchSize: 20, ValidationSplit: 0.2, Quiet: true, Callbacks: []Callback{bump, snaps, es},
	})
	require.NoError(t, err)
	require.Less(t, len(hist.Epochs), 20, "early stopping never fired")
	best := argmin(hist.Series("val_loss"))
	require.Less(t, best, len(hist.Epochs)-1, "the last epoch was the best: nothing to restore")
	requireState(t, snaps.epochs[best], m)
}

// TestEarlyStoppingPatience: training stops at the (Patience+1)-th
// consecutive epoch without improvement, and improvements of less than
// MinDelta do not count.
func TestEarlyStoppingPatience(t *testing.T) {
	// The monitored "score" improves at epochs 0, 1 and 3 (by more than
	// MinDelta) and at epoch 4 by less than MinDelta.
	scores := []float64{5, 4, 4.5, 3, 2.95, 3, 3, 3, 3, 3}
	for _, c := range []struct{ patience, stopped int }{{0, 2}, {1, 5}, {2, 6}, {3, 7}} {
		m := newMLP(2, 4, 2, 1)
		score := LambdaCallback{EpochEnd: func(s *State, l Logs) error { l["score"] = scores[s.Epoch]; return nil }}
		es := &EarlyStopping{Monitor: "score", Patience: c.patience, MinDelta: 0.1}
		hist, err := Fit(context.Background(), m, newAdam(m, 0.01), blobs(32, 1), Config{
			Epochs: len(scores), Quiet: true, Metrics: noMetrics, Callbacks: []Callback{score, es},
		})
		require.NoError(t, err)
		require.Equal(t, c.stopped, es.StoppedAt, "patience %d", c.patience)
		require.Len(t, hist.Epochs, c.stopped+1, "patience %d", c.patience)
	}
}

func TestModelCheckpointSavesTheRightWeights(t *testing.T) {
	dir := t.TempDir()
	m := newMLP(2, 4, 2, 1)
	ck := &ModelCheckpoint{Path: filepath.Join(dir, "m-{epoch}.safetensors")}
	best := &ModelCheckpoint{Path: filepath.Join(dir, "best.safetensors"), SaveBestOnly: true, Monitor: "val_loss"}
	snaps := &snapshots{}
	opt := optim.NewSGD(m.Params(), optim.SGDConfig{LR: 0.5})
	// An LR far too high after epoch 2 makes the later epochs worse.
	bump := LambdaCallback{EpochEnd: func(s *State, _ Logs) error {
		if s.Epoch == 1 {
			s.Optimizer.SetLR(40)
		}
		return nil
	}}
	hist, err := Fit(context.Background(), m, opt, blobs(100, 1), Config{
		Epochs: 4, ValidationSplit: 0.2, Quiet: true, Callbacks: []Callback{bump, snaps, ck, best},
	})
	require.NoError(t, err)
	for e := range 4 {
		fresh := newMLP(2, 4, 2, 99)
		md, err := nn.LoadFileWithMetadata(filepath.Join(dir, "m-"+string(rune('1'+e))+".safetensors"), fresh)
		require.NoError(t, err)
		requireState(t, snaps.epochs[e], fresh)
		require.Equal(t, string(rune('1'+e)), md["epoch"])
	}
	b := argmin(hist.Series("val_loss"))
	require.Less(t, b, 3, "the last epoch was the best")
	fresh := newMLP(2, 4, 2, 99)
	md, err := nn.LoadFileWithMetadata(filepath.Join(dir, "best.safetensors"), fresh)
	require.NoError(t, err)
	requireState(t, snaps.epochs[b], fresh)
	require.Equal(t, string(rune('1'+b)), md["epoch"])
}

func TestCSVLogger(t *testing.T) {
	dir := t.TempDir()
	m := newMLP(2, 4, 2, 1)
	csv := &CSVLogger{Path: filepath.Join(dir, "log.csv")}
	hist, err := Fit(context.Background(), m, newAdam(m, 0.01), blobs(100, 1), Config{
		Epochs: 3, ValidationSplit: 0.2, Quiet: true, Callbacks: []Callback{csv},
	})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "log.csv"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 4)
	require.Equal(t, "epoch,loss,accuracy,val_loss,val_accuracy", lines[0])
	require.True(t, strings.HasPrefix(lines[3], "3,"))
	require.Contains(t, lines[3], ","+strconvG(hist.Epochs[2]["val_loss"])+",")

	_, err = Fit(context.Background(), m, newAdam(m, 0.01), blobs(100, 1), Config{Quiet: true, Callbacks: []Callback{&EarlyStopping{Monitor: "val_nope"}}})
	require.ErrorContains(t, err, `"val_nope"`)
}

// recorder counts hook calls and can fail one of them.
type recorder struct {
	failAt string // hook name to fail in
	calls  map[string]int
	endErr error
}

var errHook = errors.New("hook failed")

func (r *recorder) hook(name string) error {
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[name]++
	if name == r.failAt {
		return errHook
	}
	return nil
}

func (r *recorder) OnTrainBegin(*State) error { return r.hook("TrainBegin") }
func (r *recorder) OnTrainEnd(s *State) error {
	r.endErr = s.Err
	return r.hook("TrainEnd")
}
func (r *recorder) OnEpochBegin(s *State) error {
	if s.Epoch == 1 {
		return r.hook("EpochBegin")
	}
	return nil
}
func (r *recorder) OnEpochEnd(s *State, _ Logs) error {
	if s.Epoch == 1 {
		return r.hook("EpochEnd")
	}
	return nil
}
func (r *recorder) OnBatchBegin(s *State) error {
	if s.Epoch == 1 && s.Step == 2 {
		return r.hook("BatchBegin")
	}
	return nil
}
func (r *recorder) OnBatchEnd(s *State, _ Logs) error {
	if s.Epoch == 1 && s.Step == 2 {
		return r.hook("BatchEnd")
	}
	return nil
}

// TestTrainEndRunsOnEveryExit fails Fit in each possible place and checks
// that the callbacks that began also end: the CSV file is closed and the
// best weights are restored.
func TestTrainEndRunsOnEveryExit(t *testing.T) {
	for _, failAt := range []string{"EpochBegin", "BatchBegin", "BatchEnd", "EpochEnd", "nan", "cancel", "panic", "validation", ""} {
		t.Run(failAt, func(t *testing.T) {
			dir := t.TempDir()
			m := newMLP(2, 8, 2, 1)
			ds := blobs(96, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rec := &recorder{failAt: failAt}
			csv := &CSVLogger{Path: filepath.Join(dir, "log.csv")}
			es := &EarlyStopping{Monitor: "loss", Patience: 100, RestoreBestWeights: true}
			snaps := &snapshots{}
			cfg := Config{Epochs: 3, BatchSize: 16, Quiet: true, ValidationSplit: 0.25, Callbacks: []Callback{rec, snaps, csv, es}}
			pm := &panicky{mlp: m, at: -1}
			switch failAt {
			case "nan", "panic", "validation":
				// Fail in epoch 2 after its first training steps.
				cfg.Callbacks = append(cfg.Callbacks, LambdaCallback{BatchEnd: func(s *State, _ Logs) error {
					if s.Epoch == 1 && s.Step == 2 {
						switch failAt {
						case "nan":
							m.w2.Value().Data()[0] = float32(math.Inf(1))
							m.b2.Value().Data()[0] = float32(math.Inf(-1))
						case "panic":
							pm.at = pm.calls + 1
						}
					}
					return nil
				}})
				if failAt == "validation" {
					made := 0
					cfg.Metrics = []func() metrics.Metric{func() metrics.Metric {
						made++ // the training metric first, then the validation one
						return &failingMetric{validation: made == 2}
					}}
				}
			case "cancel":
				cfg.Callbacks = append(cfg.Callbacks, LambdaCallback{BatchEnd: func(s *State, _ Logs) error {
					if s.Epoch == 1 && s.Step == 2 {
						cancel()
					}
					return nil
				}})
			}
			hist, err := Fit(ctx, pm, newAdam(m, 0.05), ds, cfg)
			if failAt == "" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			require.Equal(t, 1, rec.calls["TrainEnd"])
			require.Equal(t, err, rec.endErr)
			ents, derr := os.ReadDir(dir)
			require.NoError(t, derr)
			require.Len(t, ents, 1, "only log.csv, no temporary file left")
			b, rerr := os.ReadFile(csv.Path)
			require.NoError(t, rerr)
			require.True(t, len(b) == 0 || b[len(b)-1] == '\n', "the CSV file holds whole rows")
			require.NotEmpty(t, snaps.epochs)
			best := argmin(hist.Series("loss"))
			requireState(t, snaps.epochs[best], m)
		})
	}
}

// failingMetric, made for validation, fails on the second epoch's first
// validation batch.
type failingMetric struct {
	validation bool
	updates    int
}

func (f *failingMetric) Name() string { return "fails" }
func (f *failingMetric) Update([]int, []float32, int) error {
	f.updates++
	if f.validation && f.updates == 3 {
		return errHook
	}
	return nil
}
func (f *failingMetric) Result() (float64, error) { return 0, nil }
func (f *failingMetric) Reset()                   {}

// TestTrainEndOnlyForBegunCallbacks: when a callback's OnTrainBegin fails,
// the callbacks before it end and those after it never began.
func TestTrainEndOnlyForBegunCallbacks(t *testing.T) {
	m := newMLP(2, 4, 2, 1)
	first, failing, last := &recorder{}, &recorder{failAt: "TrainBegin"}, &recorder{}
	_, err := Fit(context.Background(), m, newAdam(m, 0.01), blobs(32, 1), Config{Quiet: true, Callbacks: []Callback{first, failing, last}})
	require.ErrorIs(t, err, errHook)
	require.Equal(t, 1, first.calls["TrainEnd"])
	require.Equal(t, 0, failing.calls["TrainEnd"])
	require.Equal(t, 0, last.calls["TrainBegin"]+last.calls["TrainEnd"])
}

func strconvG(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

// TestCSVLoggerAppend continues a log across two runs, as a resumed run
// does, keeping the first run's columns.
func TestCSVLoggerAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.csv")
	m := newMLP(2, 4, 2, 1)
	_, err := Fit(context.Background(), m, newAdam(m, 0.01), blobs(40, 1), Config{
		Epochs: 2, Quiet: true, Callbacks: []Callback{&CSVLogger{Path: path}},
	})
	require.NoError(t, err)
	_, err = Fit(context.Background(), m, newAdam(m, 0.01), blobs(40, 1), Config{
		Epochs: 4, InitialEpoch: 2, Quiet: true, ValidationSplit: 0.25, Callbacks: []Callback{&CSVLogger{Path: path, Append: true}},
	})
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 5)
	require.Equal(t, "epoch,loss,accuracy", lines[0])
	for i, l := range lines[1:] {
		require.True(t, strings.HasPrefix(l, strconv.Itoa(i+1)+","), l)
		require.Len(t, strings.Split(l, ","), 3, l)
	}

	// Appending to a new file writes the header; to a file that is not
	// one of ours fails.
	fresh := filepath.Join(t.TempDir(), "new.csv")
	_, err = Fit(context.Background(), m, newAdam(m, 0.01), blobs(40, 1), Config{Quiet: true, Callbacks: []Callback{&CSVLogger{Path: fresh, Append: true}}})
	require.NoError(t, err)
	b, err = os.ReadFile(fresh)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "epoch,loss,accuracy\n1,"))
	require.NoError(t, os.WriteFile(fresh, []byte("time,value\n"), 0o644))
	_, err = Fit(context.Background(), m, newAdam(m, 0.01), blobs(40, 1), Config{Quiet: true, Callbacks: []Callback{&CSVLogger{Path: fresh, Append: true}}})
	require.ErrorContains(t, err, "does not start with a header")
}
