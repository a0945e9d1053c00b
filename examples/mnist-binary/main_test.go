package main

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/examples/internal/mnistdir"
)

// TestRun trains the "is it a 0?" detector for one epoch on the real
// MNIST and checks that it detects: accuracy well above always answering
// "no", high precision, recall and ROC AUC, real PNG charts, and a saved
// model that loads back with the very same probabilities.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST for an epoch")
	}
	if _, err := mnistdir.Dir(""); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	*epochs, *quiet = 1, true
	*out, *plots = filepath.Join(dir, "m.safetensors"), filepath.Join(dir, "plots")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := run(ctx, cancel)
	require.NoError(t, err)
	sc := res.scores
	t.Logf("after one epoch: %+v", sc)
	require.InDelta(t, 0.902, sc.baseline, 0.001) // 980 zeros among 10,000
	require.Greater(t, sc.accuracy, 0.98)
	require.Greater(t, sc.precision, 0.9)
	require.Greater(t, sc.recall, 0.9)
	require.Greater(t, sc.f1, 0.9)
	require.Greater(t, sc.auc, 0.99)
	require.Greater(t, res.hist.Last()["val_roc_auc"], 0.99)
	require.Zero(t, res.probDiff)
	require.Len(t, res.plots, 4)
	for _, p := range res.plots {
		f, err := os.Open(p)
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, p)
		require.Greater(t, img.Bounds().Dx(), 100, p)
	}
}
