package main

import (
	"path/filepath"
	"testing"

	"github.com/shoshin-ml/shoshin/examples/internal/charlm/charlmtest"
)

// TestSmoke trains a tiny LSTM for a few dozen steps on the real corpus and
// checks what the program promises: the loss falls well below uniform
// guessing, the loss curve is a PNG, and the saved file (weights and
// tokenizer) reloads into a model that generates the very same sample.
func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	*steps, *every, *batch, *seqLen, *layers, *embed, *hidden, *val, *length = 60, 20, 8, 32, 1, 16, 48, 16, 60
	*lr, *warmup = 1e-2, 5
	*out, *plots = filepath.Join(dir, "m.safetensors"), dir
	charlmtest.Smoke(t, options(), newModel)
}
