package main

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/examples/internal/mnistdir"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestModel checks the network's output shape and that a saved model
// loads into a fresh one with the same logits, batch statistics included.
func TestModel(t *testing.T) {
	nn.SetSeed(3)
	m := newModel()
	x := tensor.Zeros(4, 1, 28, 28)
	for i := range x.Data() {
		x.Data()[i] = float32(i%29) / 29
	}
	nn.Train(m)
	m.Forward(autograd.Constant(x)) // moves the running statistics
	nn.Eval(m)
	y := m.Forward(autograd.NoGrad(x)).Value()
	require.Equal(t, []int{4, 10}, y.Shape())

	path := filepath.Join(t.TempDir(), "cnn.safetensors")
	require.NoError(t, nn.SaveFile(path, m))
	m2 := newModel()
	require.NoError(t, nn.LoadFile(path, m2))
	nn.Eval(m2)
	require.Equal(t, y.Data(), m2.Forward(autograd.NoGrad(x)).Value().Data())
}

// TestRun trains the CNN for one epoch on the first 3,000 MNIST images
// (a quick run) and checks that it learned: accuracy on 3,000 test images
// far above chance, training curves drawn, and a saved model that loads
// back with the very same logits.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	if _, err := mnistdir.Dir(""); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	*epochs, *quiet, *limit = 1, true, 3000
	*out, *plots = filepath.Join(dir, "m.safetensors"), filepath.Join(dir, "plots")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := run(ctx, cancel)
	require.NoError(t, err)
	t.Logf("test accuracy after one epoch on 3,000 images: %.4f", res.testAccuracy)
	require.Greater(t, res.testAccuracy, 0.75) // 0.86 here; chance is 0.1
	require.Greater(t, res.hist.Last()["val_accuracy"], 0.75)
	require.Zero(t, res.logitDiff)
	require.Len(t, res.plots, 2)
	for _, p := range res.plots {
		f, err := os.Open(p)
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, p)
		require.Greater(t, img.Bounds().Dx(), 100, p)
	}
}
