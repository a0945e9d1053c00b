package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCellGradient checks the cell's gradients against central
// differences, as the program does at start-up.
func TestCellGradient(t *testing.T) {
	res, err := checkCell()
	require.NoError(t, err, "%v", res)
	require.Less(t, res.Excess, 1.0)
}

// TestTrainingLearns trains for a fixed number of steps (seeded) and
// expects the loss to fall well below both its start and the 0.17 of
// predicting the mean, on fresh test sequences too.
func TestTrainingLearns(t *testing.T) {
	steps := 300
	if testing.Short() {
		steps = 200
	}
	first, last, test := train(config{T: 10, batch: 32, hidden: 16, lr: 1e-2, steps: steps, seed: 3})
	require.Less(t, last, first/4, "training loss %v → %v", first, last)
	require.Less(t, test, 0.05, "test MSE %v", test)
}
