package nn

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSetTrainingReachesNestedLayers(t *testing.T) {
	drop := NewDropout(0.5)
	bn := NewBatchNorm1D(4)
	inner := NewSequential(NewDense(4, 4), bn)
	m := NewSequential(NewDense(4, 4), NewResidual(NewSequential(drop, inner)))
	require.True(t, drop.Training(), "layers start in training mode")
	require.True(t, IsTraining(m))
	Eval(m)
	require.False(t, drop.Training())
	require.False(t, bn.Training())
	require.False(t, IsTraining(m))
	Train(m)
	require.True(t, drop.Training())
	require.True(t, bn.Training())
	SetTraining(m, false)
	require.False(t, bn.Training())

	var seen int
	Walk(m, func(Module) { seen++ })
	require.Equal(t, 8, seen) // m, Dense, Residual, Sequential, Dropout, inner, Dense, BatchNorm
	require.True(t, IsTraining(NewDense(1, 1)), "a model without mode-dependent layers counts as training")
}
