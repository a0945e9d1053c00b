package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/examples/internal/mnistdir"
)

// TestRun runs the PyTorch-exported convnet on the 10,000 MNIST test
// images and checks that it scores exactly what PyTorch scored when it
// exported the model, with the same prediction for every image.
func TestRun(t *testing.T) {
	if _, err := mnistdir.Dir(""); err != nil {
		t.Skip(err)
	}
	*timed = 10
	res, err := run()
	require.NoError(t, err)
	t.Logf("accuracy %d/%d, PyTorch %d/%d, %d predictions agree, %v per image", res.correct, res.total, res.torch.TestCorrect, res.torch.TestTotal, res.agree, res.perImage)
	require.Equal(t, 10000, res.total)
	require.Greater(t, res.correct, 9700)
	require.Equal(t, res.torch.TestCorrect, res.correct)
	require.Equal(t, res.total, res.agree)
	require.Positive(t, res.perImage)
}
