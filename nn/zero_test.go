package nn

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// panicText runs f and returns what it panicked with, or "" when it did
// not panic.
func panicText(f func()) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// TestZeroValuesUnusable checks that layers whose zero value cannot work
// panic in Forward with a message naming the constructor to use, and that
// their other methods do not crash.
func TestZeroValuesUnusable(t *testing.T) {
	x := autograd.Constant(tensor.Ones(2, 3, 4, 4))
	for _, c := range []struct {
		m    Module
		want string
	}{
		{&Dense{}, "nn.Dense.Forward: the zero value Dense has no parameters; build it with nn.NewDense"},
		{&Conv2D{}, "build it with nn.NewConv2D"},
		{&BatchNorm{}, "build it with nn.NewBatchNorm1D or nn.NewBatchNorm2D"},
		{&LayerNorm{}, "build it with nn.NewLayerNorm or nn.NewLayerNormShape"},
		{&MaxPool2D{}, "nn.MaxPool2D.Forward: the zero value has no kernel size; build it with nn.NewMaxPool2D"},
		{&AvgPool2D{}, "build it with nn.NewAvgPool2D"},
		{&Residual{}, "build it with nn.NewResidual(f)"},
		{&Dropout{P: 0.5}, "build it with nn.NewDropout"},
	} {
		name := fmt.Sprintf("%T", c.m)
		require.Contains(t, panicText(func() { c.m.Forward(x) }), c.want, name)
		require.Empty(t, panicText(func() {
			require.Empty(t, c.m.Params(), name)
			if s, ok := c.m.(fmt.Stringer); ok {
				require.NotEmpty(t, s.String(), name)
			}
			if b, ok := c.m.(BufferOwner); ok {
				require.Empty(t, b.Buffers(), name)
			}
			require.Empty(t, StateDict(NewSequential(c.m)), name)
		}), name)
	}
	require.Equal(t, "Dense(unbuilt)", (&Dense{}).String())
	require.Equal(t, "BatchNorm(unbuilt)", (&BatchNorm{}).String())
	require.Contains(t, panicText(func() { NewResidual(nil) }), "nn.NewResidual: nil module")
	require.Contains(t, panicText(func() { NewSequential(NewReLU(), nil) }), "nil layer at index 1")
}

// TestZeroValuesCorrect checks the layers whose zero value works: it must
// do what the constructor's layer does. Softmax{} used to normalise over
// axis 0, the batch.
func TestZeroValuesCorrect(t *testing.T) {
	logits := tensor.New([]float32{1, 2, 3, 0, 0, 5}, 2, 3)
	x := autograd.Constant(logits)
	sm := Softmax{}.Forward(x).Value()
	require.Equal(t, NewSoftmax().Forward(x).Value().Data(), sm.Data())
	require.InDelta(t, 1, sm.At(0, 0)+sm.At(0, 1)+sm.At(0, 2), 1e-6, "rows sum to one")
	require.Equal(t, NewLogSoftmax().Forward(x).Value().Data(), LogSoftmax{}.Forward(x).Value().Data())
	// An explicit axis is still honoured.
	col := Softmax{Axis: -2}.Forward(x).Value()
	require.InDelta(t, 1, col.At(0, 0)+col.At(1, 0), 1e-6)

	require.Equal(t, logits.Data(), (&Dropout{}).Forward(x).Value().Data(), "P = 0 drops nothing")
	require.Equal(t, logits.Data(), (&Sequential{}).Forward(x).Value().Data())
	require.Equal(t, NewReLU().Forward(x).Value().Data(), LeakyReLU{}.Forward(x).Value().Data(), "slope 0")
	for _, m := range []Module{ReLU{}, GELU{}, Sigmoid{}, Tanh{}, Flatten{}} {
		require.NotNil(t, m.Forward(x), "%T", m)
	}
	require.NotNil(t, GlobalAvgPool2D{}.Forward(autograd.Constant(tensor.Ones(1, 2, 3, 3))))
}
