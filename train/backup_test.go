package train

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
)

// resumable is a training run with every kind of state a resume must
// carry: shuffling, augmentation, a validation split, Dropout draws,
// BatchNorm statistics, Adam's moments, a step schedule and early
// stopping with its best weights.
type resumable struct {
	model *nn.Sequential
	opt   optim.Optimizer
	cfg   Config
}

func newResumable(callbacks ...Callback) *resumable {
	m := nn.NewSequential(
		nn.NewDense(2, 16, nn.WithSeed(1)),
		nn.NewBatchNorm1D(16),
		nn.NewReLU(),
		nn.NewDropout(0.3, nn.WithSeed(2)),
		nn.NewDense(16, 2, nn.WithSeed(3)),
	)
	opt := optim.NewAdam(m.Params(), optim.AdamConfig{LR: 0.02})
	jitter := data.TransformFunc(func(b *data.Batch, r *rand.Rand) {
		for i := range b.X.Data() {
			b.X.Data()[i] += float32(r.NormFloat64()) * 0.05
		}
	})
	cbs := append([]Callback{
		&LRScheduler{Schedule: optim.NewStepLR(opt, 1, 0.7)},
		&EarlyStopping{Monitor: "val_loss", Patience: 100, RestoreBestWeights: true},
	}, callbacks...)
	return &resumable{model: m, opt: opt, cfg: Config{
		Epochs: 5, BatchSize: 16, Seed: 9, ValidationSplit: 0.2, Quiet: true,
		Transform: jitter, Callbacks: cbs,
	}}
}

func (r *resumable) fit() (*History, error) {
	return Fit(context.Background(), r.model, r.opt, blobs(160, 4), r.cfg)
}

// crashAt ends the process when epoch n begins, as a kill would.
type crashAt struct {
	BaseCallback
	n int
}

func (c crashAt) OnEpochBegin(s *State) error {
	if s.Epoch == c.n {
		os.Exit(3)
	}
	return nil
}

const resumeEnv = "SHOSHIN_TRAIN_RESUME_DIR"

// TestBackupAndRestoreResumesBitForBit runs a training in a child process
// that dies at the start of epoch 3, starts it again in a second process,
// and compares its final weights and history with an uninterrupted run's,
// bit for bit.
func TestBackupAndRestoreResumesBitForBit(t *testing.T) {
	if dir := os.Getenv(resumeEnv); dir != "" {
		resumeChild(t, dir)
		return
	}
	dir := t.TempDir()
	child := func(crash int) error {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBackupAndRestoreResumesBitForBit$", "-test.count=1")
		cmd.Env = append(os.Environ(), resumeEnv+"="+dir, "SHOSHIN_TRAIN_CRASH="+strconv.Itoa(crash))
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	err := child(3)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 3, exit.ExitCode(), "the first run should die at epoch 3: %v", err)
	require.FileExists(t, filepath.Join(dir, BackupFile))
	require.NoError(t, child(-1))
	require.NoFileExists(t, filepath.Join(dir, BackupFile), "a completed run deletes its backup")
	started, err := os.ReadFile(filepath.Join(dir, "started"))
	require.NoError(t, err)
	require.Equal(t, "[3 4]", string(started), "the second run did not resume")

	whole := newResumable()
	hist, err := whole.fit()
	require.NoError(t, err)
	resumed := newResumable()
	require.NoError(t, nn.LoadFile(filepath.Join(dir, "final.safetensors"), resumed.model))
	requireState(t, nn.StateDict(whole.model), resumed.model)
	b, err := os.ReadFile(filepath.Join(dir, "history.gob"))
	require.NoError(t, err)
	var got []Logs
	require.NoError(t, gob.NewDecoder(bytes.NewReader(b)).Decode(&got))
	require.Equal(t, hist.Epochs, got)
}

// resumeChild is the child process's side: train (dying at the epoch
// SHOSHIN_TRAIN_CRASH) and save the final weights and history.
func resumeChild(t *testing.T, dir string) {
	crash, err := strconv.Atoi(os.Getenv("SHOSHIN_TRAIN_CRASH"))
	require.NoError(t, err)
	var started []int
	begin := LambdaCallback{EpochBegin: func(s *State) error { started = append(started, s.Epoch); return nil }}
	r := newResumable(crashAt{n: crash}, begin, &BackupAndRestore{Dir: dir})
	hist, err := r.fit()
	require.NoError(t, err)
	require.NoError(t, nn.SaveFile(filepath.Join(dir, "final.safetensors"), r.model))
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(hist.Epochs))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "history.gob"), buf.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "started"), fmt.Append(nil, started), 0o644))
}

// TestBackupAndRestoreAfterError: an error keeps the backup, and the next
// run resumes from it in the same process.
func TestBackupAndRestoreAfterError(t *testing.T) {
	dir := t.TempDir()
	fail := LambdaCallback{EpochBegin: func(s *State) error {
		if s.Epoch == 2 {
			return errHook
		}
		return nil
	}}
	first := newResumable(fail, &BackupAndRestore{Dir: dir})
	hist, err := first.fit()
	require.ErrorIs(t, err, errHook)
	require.Len(t, hist.Epochs, 2)
	require.FileExists(t, filepath.Join(dir, BackupFile))

	var started []int
	again := newResumable(LambdaCallback{EpochBegin: func(s *State) error { started = append(started, s.Epoch); return nil }}, &BackupAndRestore{Dir: dir})
	hist, err = again.fit()
	require.NoError(t, err)
	require.Equal(t, []int{2, 3, 4}, started)
	require.Len(t, hist.Epochs, 5)

	whole := newResumable()
	want, err := whole.fit()
	require.NoError(t, err)
	require.Equal(t, want.Epochs, hist.Epochs)
	requireState(t, nn.StateDict(whole.model), again.model)
}

func TestBackupAndRestoreChecks(t *testing.T) {
	dir := t.TempDir()
	r := newResumable(&BackupAndRestore{Dir: dir}, LambdaCallback{})
	_, err := r.fit()
	require.ErrorContains(t, err, "must be the last callback")
	r = newResumable(&BackupAndRestore{})
	_, err = r.fit()
	require.ErrorContains(t, err, "needs a Dir")

	// A damaged backup is an error naming the file, not a fresh start.
	path := filepath.Join(dir, BackupFile)
	require.NoError(t, os.WriteFile(path, []byte("PK\x03\x04 not a zip"), 0o644))
	r = newResumable(&BackupAndRestore{Dir: dir})
	_, err = r.fit()
	require.ErrorContains(t, err, path)

	// A backup of another model is refused.
	require.NoError(t, os.Remove(path))
	m := newMLP(2, 4, 2, 1)
	_, err = Fit(context.Background(), m, newAdam(m, 0.01), blobs(32, 1), Config{Epochs: 2, Quiet: true,
		Callbacks: []Callback{LambdaCallback{EpochBegin: func(s *State) error {
			if s.Epoch == 1 {
				return errHook
			}
			return nil
		}}, &BackupAndRestore{Dir: dir}}})
	require.ErrorIs(t, err, errHook)
	r = newResumable(&BackupAndRestore{Dir: dir})
	_, err = r.fit()
	require.ErrorContains(t, err, "restoring")
}

// TestInitialEpochContinuesARun: two Fit calls, the second starting at
// InitialEpoch, train exactly as one call over all the epochs: the
// shuffling of epoch k is that of epoch k, not a replay of epoch 0.
func TestInitialEpochContinuesARun(t *testing.T) {
	run := func(splits ...int) []nn.NamedTensor {
		m := newMLP(2, 8, 2, 3)
		opt := newAdam(m, 0.01)
		sched := &LRScheduler{Schedule: optim.NewStepLR(opt, 1, 0.5)}
		start := 0
		for _, end := range splits {
			_, err := Fit(context.Background(), m, opt, blobs(64, 2), Config{
				Epochs: end, InitialEpoch: start, BatchSize: 8, Seed: 4, Quiet: true, Callbacks: []Callback{sched},
			})
			require.NoError(t, err)
			start = end
		}
		return nn.StateDict(m)
	}
	whole := run(4)
	split := newMLP(2, 8, 2, 3)
	require.NoError(t, nn.LoadStateDict(split, run(2, 4)))
	requireState(t, whole, split)
}

// FuzzReadBackup: no file makes the backup reader panic or allocate more
// than the file's size.
func FuzzReadBackup(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, BackupFile)
	require.NoError(f, writeBackup(path, map[string][]byte{"a": []byte("hello"), "progress.json": []byte(`{"epoch":1}`)}))
	b, err := os.ReadFile(path)
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := readBackupFrom(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		total := 0
		for _, e := range entries {
			total += len(e)
		}
		if total > len(b) {
			t.Fatalf("entries hold %d bytes from a file of %d", total, len(b))
		}
	})
}

// TestCallbackStatesRoundTrip: each stateful callback, restored into a
// fresh one, carries on exactly as the original.
func TestCallbackStatesRoundTrip(t *testing.T) {
	newPlateau := func() (*ReduceLROnPlateau, *State) {
		m := newMLP(2, 4, 2, 1)
		opt := newAdam(m, 0.1)
		cb := &ReduceLROnPlateau{Monitor: "v", Plateau: optim.NewReduceLROnPlateau(opt, optim.PlateauConfig{Patience: 1, Factor: 0.5})}
		return cb, &State{Model: m, Optimizer: opt}
	}
	feed := func(cb Callback, s *State, vs ...float64) []float32 {
		var lrs []float32
		for _, v := range vs {
			require.NoError(t, cb.OnEpochEnd(s, Logs{"v": v}))
			if s.Optimizer != nil {
				lrs = append(lrs, s.Optimizer.LR())
			}
		}
		return lrs
	}
	a, sa := newPlateau()
	feed(a, sa, 3, 2, 2.5)
	state, err := a.MarshalBinary()
	require.NoError(t, err)
	b, sb := newPlateau()
	require.NoError(t, b.UnmarshalBinary(state))
	require.NoError(t, sb.Optimizer.LoadStateDict(must(sa.Optimizer.StateDict())))
	require.Equal(t, feed(a, sa, 2.6, 2.7, 1, 1.5), feed(b, sb, 2.6, 2.7, 1, 1.5))

	es := &EarlyStopping{Monitor: "v", Patience: 2, RestoreBestWeights: true}
	m := newMLP(2, 4, 2, 1)
	s := &State{Model: m}
	require.NoError(t, es.OnTrainBegin(s))
	feed(es, s, 3, 2, 2.5)
	state, err = es.MarshalBinary()
	require.NoError(t, err)
	es2 := &EarlyStopping{Monitor: "v", Patience: 2, RestoreBestWeights: true}
	require.NoError(t, es2.OnTrainBegin(s))
	require.NoError(t, es2.UnmarshalBinary(state))
	s2 := &State{Model: m}
	feed(es, s, 2.4, 2.3)
	feed(es2, s2, 2.4, 2.3)
	require.True(t, s.StopTraining)
	require.True(t, s2.StopTraining, "the restored callback lost its wait count")
	require.Len(t, es2.best, len(es.best))
	for i, want := range es.best {
		require.Equal(t, want.Name, es2.best[i].Name)
		require.Equal(t, want.Value.Data(), es2.best[i].Value.Data())
	}
	require.Error(t, es2.UnmarshalBinary([]byte("junk")))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
