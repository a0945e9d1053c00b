package nn

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSummary(t *testing.T) {
	bn := NewBatchNorm1D(16)
	drop := NewDropout(0.5)
	m := NewSequential(
		NewDense(8, 16, WithActivation(ActReLU)),
		NewSequential(bn, drop),
		NewResidual(NewDense(16, 16)),
		NewDense(16, 3, WithActivation(ActSoftmax)),
	)
	m.Params()[0].SetRequiresGrad(false) // freeze 0.weight
	want := "" +
		"Layer (type)        Output Shape   Activation   Param #\n" +
		"=======================================================\n" +
		"0 (Dense)           (None, 16)     ReLU         144\n" +
		"1.0 (BatchNorm1D)   (None, 16)     -            65\n" +
		"1.1 (Dropout)       (None, 16)     -            0\n" +
		"2 (Residual)        (None, 16)     -            272\n" +
		"3 (Dense)           (None, 3)      Softmax      51\n" +
		"=======================================================\n" +
		"Total params: 532\n" +
		"Trainable params: 371\n" + // 0.weight (128) is frozen
		"Non-trainable params: 161\n" // 128 frozen + 33 BatchNorm buffers
	rng, err := RNGState(m)
	require.NoError(t, err)
	got := Summary(m, 8)
	require.Equal(t, want, got, "got:\n%s", got)
	require.True(t, bn.Training(), "Summary leaves the mode alone")
	require.Zero(t, bn.NumBatchesTracked.Value().Item(), "Summary leaves BatchNorm statistics alone")
	after, err := RNGState(m)
	require.NoError(t, err)
	require.Equal(t, rng, after, "Summary draws no dropout mask")

	Eval(drop)
	Summary(m, 8)
	require.False(t, drop.Training())
	require.True(t, bn.Training())

	single := Summary(NewConv2D(3, 8, 3), 3, 10, 10)
	require.Contains(t, single, "Conv2D         (None, 8, 8, 8)   -            224\n")
	require.Contains(t, single, "Total params: 224\n")
	require.Equal(t, "1,234,567", group(1234567))
	require.Equal(t, "999", group(999))
}
