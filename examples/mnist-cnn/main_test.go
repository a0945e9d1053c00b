package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
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
