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

// TestRun trains for one epoch on the real MNIST and checks what the
// program promises: a test accuracy that only a trained model reaches,
// training curves that are real PNG images, and a saved model that loads
// back into a new one with the very same predictions.
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
	t.Logf("test accuracy after one epoch: %.4f", res.testAccuracy)
	require.Greater(t, res.testAccuracy, 0.93)
	require.Len(t, res.hist.Epochs, 1)
	require.Greater(t, res.hist.Last()["val_accuracy"], 0.93)
	require.Equal(t, res.testAccuracy, res.reloadedAccuracy)
	require.Zero(t, res.logitDiff)
	require.ElementsMatch(t, []string{filepath.Join(*plots, "mnist-loss.png"), filepath.Join(*plots, "mnist-accuracy.png")}, res.plots)
	for _, p := range res.plots {
		requirePNG(t, p)
	}
}

// requirePNG checks that path holds a decodable PNG image of a sensible
// size.
func requirePNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err, path)
	b := img.Bounds()
	require.Greater(t, b.Dx(), 100, path)
	require.Greater(t, b.Dy(), 100, path)
}
