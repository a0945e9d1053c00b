package train

import (
	"archive/zip"
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"

	"github.com/shoshin-ml/shoshin/internal/atomicfile"
	"github.com/shoshin-ml/shoshin/nn"
)

// BackupFile is the name of the file BackupAndRestore keeps in its Dir.
const BackupFile = "backup.zip"

// maxBackupEntry bounds one entry of a backup file read back (a model of
// a few hundred million parameters).
const maxBackupEntry = 4 << 30

// BackupAndRestore makes a Fit run resumable, like Keras' callback of the
// same name. At the end of every epoch it saves, atomically, all a run's
// state to Dir/backup.zip: the model (parameters and buffers, such as
// BatchNorm's running statistics), the optimizer's state, the random state
// of the model's Dropout layers (nn.RNGState), the state of every other
// callback that implements encoding.BinaryMarshaler and
// encoding.BinaryUnmarshaler (LRScheduler, ReduceLROnPlateau,
// EarlyStopping, ModelCheckpoint), the epoch and the history. When Fit
// starts and a backup exists, it restores all of that and training
// continues with the next epoch (the data order and augmentation depend
// only on Seed and the epoch), so an interrupted run that is started again
// with the same code ends with the same weights, bit for bit, as one that
// was never interrupted.
//
//	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 1e-3})
//	sched := optim.NewStepLR(opt, 1, 0.5)
//	hist, err := train.Fit(ctx, model, opt, trainSet, train.Config{
//		Epochs: 10,
//		Callbacks: []train.Callback{
//			&train.LRScheduler{Schedule: sched},
//			&train.BackupAndRestore{Dir: "run1"}, // last
//		},
//	})
//
// It must be the last callback, so that it saves the others' state after
// their epoch-end work; Fit fails otherwise. When training completes
// (including a stop by EarlyStopping) the backup is deleted, unless Keep
// is set; after an error or a cancelled context it stays for the next
// run. The History Fit returns then holds the restored epochs too.
type BackupAndRestore struct {
	BaseCallback
	// Dir is the folder of the backup; it is created if needed.
	Dir string
	// Keep keeps the backup when training completes.
	Keep bool
}

// backupProgress is the JSON entry of the epoch and history.
type backupProgress struct {
	// Epoch is the last completed epoch, from 0.
	Epoch int `json:"epoch"`
	// History holds the logs of every completed epoch, values as text so
	// that NaN and infinities survive.
	History []map[string]string `json:"history"`
	// Callbacks names the type of each callback whose state is saved,
	// by its position.
	Callbacks map[string]string `json:"callbacks"`
}

func (c *BackupAndRestore) path() string { return filepath.Join(c.Dir, BackupFile) }

// OnTrainBegin restores the backup, if there is one.
func (c *BackupAndRestore) OnTrainBegin(s *State) error {
	if c.Dir == "" {
		return errors.New("train: BackupAndRestore needs a Dir")
	}
	if n := len(s.Callbacks); n == 0 || s.Callbacks[n-1] != Callback(c) {
		return errors.New("train: BackupAndRestore must be the last callback, so that it saves the other callbacks' state after they ran")
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("train: BackupAndRestore: %w", err)
	}
	entries, err := readBackup(c.path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.restore(s, entries); err != nil {
		return fmt.Errorf("train: BackupAndRestore: restoring %s: %w", c.path(), err)
	}
	return nil
}

// restore loads every entry into the model, optimizer, callbacks and s.
func (c *BackupAndRestore) restore(s *State, entries map[string][]byte) error {
	need := func(name string) ([]byte, error) {
		b, ok := entries[name]
		if !ok {
			return nil, fmt.Errorf("entry %q is missing", name)
		}
		return b, nil
	}
	b, err := need("progress.json")
	if err != nil {
		return err
	}
	var p backupProgress
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("progress.json: %w", err)
	}
	if p.Epoch < 0 {
		return fmt.Errorf("progress.json: epoch %d is negative", p.Epoch)
	}
	hist := make([]Logs, len(p.History))
	for i, h := range p.History {
		hist[i] = Logs{}
		for k, v := range h {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("progress.json: epoch %d, %q: %w", i+1, k, err)
			}
			hist[i][k] = f
		}
	}
	if b, err = need("model.safetensors"); err != nil {
		return err
	}
	if err := nn.Load(bytes.NewReader(b), s.Model); err != nil {
		return err
	}
	if b, err = need("optimizer.safetensors"); err != nil {
		return err
	}
	if err := s.Optimizer.LoadState(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("optimizer: %w", err)
	}
	if b, err = need("rng"); err != nil {
		return err
	}
	if err := nn.SetRNGState(s.Model, b); err != nil {
		return err
	}
	for i, cb := range s.Callbacks {
		u, ok := cb.(encoding.BinaryUnmarshaler)
		if !ok || cb == Callback(c) {
			continue
		}
		key := strconv.Itoa(i)
		if got, want := p.Callbacks[key], typeName(cb); got != want {
			return fmt.Errorf("callback %d is a %s, the backup holds the state of a %q there", i, want, got)
		}
		if b, err = need("callbacks/" + key); err != nil {
			return err
		}
		if err := u.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("callback %d (%s): %w", i, typeName(cb), err)
		}
	}
	s.StartEpoch = p.Epoch + 1
	s.History.Epochs = hist
	return nil
}

// OnEpochEnd saves the backup.
func (c *BackupAndRestore) OnEpochEnd(s *State, logs Logs) error {
	entries := map[string][]byte{}
	var buf bytes.Buffer
	if err := nn.Save(&buf, s.Model); err != nil {
		return fmt.Errorf("train: BackupAndRestore: %w", err)
	}
	entries["model.safetensors"] = bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := s.Optimizer.SaveState(&buf); err != nil {
		return fmt.Errorf("train: BackupAndRestore: optimizer: %w", err)
	}
	entries["optimizer.safetensors"] = bytes.Clone(buf.Bytes())
	rng, err := nn.RNGState(s.Model)
	if err != nil {
		return fmt.Errorf("train: BackupAndRestore: %w", err)
	}
	entries["rng"] = rng
	p := backupProgress{Epoch: s.Epoch, Callbacks: map[string]string{}}
	for _, l := range append(append([]Logs(nil), s.History.Epochs...), logs) {
		h := map[string]string{}
		for k, v := range l {
			h[k] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		p.History = append(p.History, h)
	}
	for i, cb := range s.Callbacks {
		m, ok := cb.(encoding.BinaryMarshaler)
		if !ok || cb == Callback(c) {
			continue
		}
		if _, ok := cb.(encoding.BinaryUnmarshaler); !ok {
			continue
		}
		b, err := m.MarshalBinary()
		if err != nil {
			return fmt.Errorf("train: BackupAndRestore: callback %d (%s): %w", i, typeName(cb), err)
		}
		key := strconv.Itoa(i)
		entries["callbacks/"+key] = b
		p.Callbacks[key] = typeName(cb)
	}
	if entries["progress.json"], err = json.Marshal(p); err != nil {
		return fmt.Errorf("train: BackupAndRestore: %w", err)
	}
	if err := writeBackup(c.path(), entries); err != nil {
		return fmt.Errorf("train: BackupAndRestore: %w", err)
	}
	return nil
}

// OnTrainEnd deletes the backup when training completed.
func (c *BackupAndRestore) OnTrainEnd(s *State) error {
	if s.Err != nil || c.Keep {
		return nil
	}
	if err := os.Remove(c.path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("train: BackupAndRestore: %w", err)
	}
	return nil
}

func typeName(v any) string { return reflect.TypeOf(v).String() }

// writeBackup writes entries as an uncompressed zip file, atomically (see
// internal/atomicfile): to a temporary file in the same folder, synced,
// then renamed over path.
func writeBackup(path string, entries map[string][]byte) error {
	return atomicfile.WriteFile(path, 0o600, func(f io.Writer) error {
		zw := zip.NewWriter(f)
		for _, name := range sortedKeys(entries) {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			if err != nil {
				return err
			}
			if _, err := w.Write(entries[name]); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}

// readBackup reads every entry of a backup file. Entries must be stored
// uncompressed and fit in the file, so a damaged or hostile file cannot
// make it allocate more than the file's size.
func readBackup(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	entries, err := readBackupFrom(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("train: BackupAndRestore: %s: %w", path, err)
	}
	return entries, nil
}

func readBackupFrom(r io.ReaderAt, size int64) (map[string][]byte, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	entries := map[string][]byte{}
	for _, zf := range zr.File {
		if zf.Method != zip.Store {
			return nil, fmt.Errorf("entry %q is compressed (method %d); backups are stored", zf.Name, zf.Method)
		}
		if zf.UncompressedSize64 > uint64(size) || zf.UncompressedSize64 > maxBackupEntry {
			return nil, fmt.Errorf("entry %q claims %d bytes in a file of %d", zf.Name, zf.UncompressedSize64, size)
		}
		if _, dup := entries[zf.Name]; dup {
			return nil, fmt.Errorf("entry %q appears twice", zf.Name)
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", zf.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, int64(zf.UncompressedSize64)+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", zf.Name, err)
		}
		entries[zf.Name] = b
	}
	return entries, nil
}

// sortedKeys returns m's keys in increasing order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
