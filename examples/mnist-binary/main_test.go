package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/examples/internal/mnistdir"
)

// TestRun trains for one epoch and checks that the program writes the
// model and its charts.
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
	require.NoError(t, run(ctx, cancel))
	require.FileExists(t, *out)
	require.FileExists(t, filepath.Join(*plots, "mnist-binary-loss.png"))
	require.FileExists(t, filepath.Join(*plots, "mnist-binary-roc_auc.png"))
	require.FileExists(t, filepath.Join(*plots, "roc.png"))
}
