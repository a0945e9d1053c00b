package plot

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/train"
)

// decode opens a PNG and returns its size.
func decode(t *testing.T, path string) (w, h int) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	return b.Dx(), b.Dy()
}

func TestCurves(t *testing.T) {
	tests := []struct {
		name   string
		series map[string][]float64
	}{
		{"train and validation", map[string][]float64{
			"loss":     {0.9, 0.5, 0.3, 0.25},
			"val_loss": {0.8, 0.55, 0.4, 0.41},
		}},
		{"one epoch", map[string][]float64{"accuracy": {0.93}}},
		{"NaN skipped", map[string][]float64{"loss": {1, nanValue(), 0.25}, "val_loss": {0.9, 0.6}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "curves.png")
			require.NoError(t, Curves(path, "loss", tc.series))
			w, h := decode(t, path)
			require.Equal(t, 768, w)
			require.Equal(t, 480, h)
			tmps, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp"))
			require.NoError(t, err)
			require.Empty(t, tmps, "temporary files left behind")
		})
	}
}

func TestCurvesErrors(t *testing.T) {
	dir := t.TempDir()
	require.ErrorContains(t, Curves(filepath.Join(dir, "a.png"), "x", nil), "no data")
	require.ErrorContains(t, Curves(filepath.Join(dir, "a.png"), "x", map[string][]float64{"a": {}}), "no data")
	require.ErrorContains(t, Curves(filepath.Join(dir, "a.png"), "x", map[string][]float64{"a": {nanValue()}}), "NaN")
	require.ErrorContains(t, Curves(filepath.Join(dir, "a.svg"), "x", map[string][]float64{"a": {1}}), ".png")
	require.NoError(t, Curves(filepath.Join(dir, "new", "a.png"), "x", map[string][]float64{"a": {1}}))
	require.FileExists(t, filepath.Join(dir, "new", "a.png"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o644))
	require.Error(t, Curves(filepath.Join(dir, "file", "a.png"), "x", map[string][]float64{"a": {1}}))
}

func TestROC(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roc.png")
	require.NoError(t, ROC(path, []float64{0, 0, 0.1, 1}, []float64{0, 0.7, 0.95, 1}, 0.97))
	w, h := decode(t, path)
	require.Equal(t, 768, w)
	require.Equal(t, 480, h)

	require.ErrorContains(t, ROC(path, []float64{0, 1}, []float64{0}, 0.5), "2 false positive rates but 1")
	require.ErrorContains(t, ROC(path, []float64{0}, []float64{0}, 0.5), "at least 2 points")
	require.ErrorContains(t, ROC(path, []float64{0, 2}, []float64{0, 1}, 0.5), "outside")
}

func TestHistory(t *testing.T) {
	dir := t.TempDir()
	h := &train.History{Epochs: []train.Logs{
		{"loss": 0.5, "accuracy": 0.85, "val_loss": 0.4, "val_accuracy": 0.88},
		{"loss": 0.3, "accuracy": 0.91, "val_loss": 0.35, "val_accuracy": 0.9},
	}}
	paths, err := History(dir, "run", h, "loss", "accuracy", "auc")
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "run-loss.png"), filepath.Join(dir, "run-accuracy.png")}, paths)
	for _, p := range paths {
		decode(t, p)
	}
	_, err = History(dir, "run", h, "auc")
	require.ErrorContains(t, err, "none of")
}

func TestEpochTicks(t *testing.T) {
	ticks := epochTicks{}.Ticks(0.5, 3.5)
	require.Len(t, ticks, 3)
	require.Equal(t, "1", ticks[0].Label)
	require.Len(t, epochTicks{}.Ticks(1, 40), 10)
	require.Empty(t, epochTicks{}.Ticks(1.2, 1.8))
}

func TestRising(t *testing.T) {
	require.True(t, rising(map[string][]float64{"accuracy": {0.9, nanValue(), 0.95}}, []string{"accuracy"}))
	require.False(t, rising(map[string][]float64{"loss": {0.5, 0.2}}, []string{"loss"}))
	require.False(t, rising(map[string][]float64{"loss": {0.5}}, []string{"loss"}))
}

func TestYLabel(t *testing.T) {
	require.Equal(t, "loss", yLabel([]string{"loss", "val_loss"}))
	require.Equal(t, "", yLabel([]string{"accuracy", "loss"}))
	require.Equal(t, "auc", yLabel([]string{"val_auc"}))
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}

func ExampleCurves() {
	dir, err := os.MkdirTemp("", "plot")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	err = Curves(filepath.Join(dir, "loss.png"), "loss", map[string][]float64{
		"loss":     {0.42, 0.19, 0.13},
		"val_loss": {0.23, 0.16, 0.12},
	})
	fmt.Println(err)
	// Output: <nil>
}
