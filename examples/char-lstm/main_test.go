package main

import (
	"context"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/examples/internal/charlm"
)

// TestSmoke trains a tiny LSTM for a few dozen steps on the real corpus and
// checks what the program promises: the loss falls well below uniform
// guessing, the loss curve is a PNG, and the saved file (weights and
// tokenizer) reloads into a model that generates the very same sample.
func TestSmoke(t *testing.T) {
	if _, err := charlm.Corpus(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	*steps, *every, *batch, *seqLen, *layers, *embed, *hidden, *val, *length = 60, 20, 8, 32, 1, 16, 48, 16, 60
	*lr, *warmup = 1e-2, 5
	*out, *plots = filepath.Join(dir, "m.safetensors"), dir
	o := options()
	o.Progress = testWriter{t}
	res, err := charlm.Run(context.Background(), o, newModel)
	require.NoError(t, err)
	h := res.Hist.Epochs
	require.Len(t, h, 3)
	require.Less(t, h[2]["loss"], h[0]["loss"]-0.3, "%v", h)
	require.Less(t, res.ValLoss, math.Log(80)-1, "nats/char well below uniform guessing among ~80 characters")
	require.Len(t, []rune(res.Sample), 60)
	require.Equal(t, res.Sample, res.ReloadedSample)
	f, err := os.Open(res.Plot)
	require.NoError(t, err)
	defer f.Close()
	_, err = png.Decode(f)
	require.NoError(t, err)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
