package autograd

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

func TestVarVersion(t *testing.T) {
	v := NewVar(tensor.Zeros(2, 3))
	v0 := v.Version()
	v.MarkChanged()
	require.Equal(t, v0+1, v.Version())
	v.SetValue(tensor.Ones(2, 3))
	require.Equal(t, v0+2, v.Version(), "SetValue counts as a change")
	require.Panics(t, func() { v.SetValue(tensor.Ones(3, 2)) })
	require.Equal(t, v0+2, v.Version(), "a rejected SetValue changes nothing")
}

// TestLinearPackedMatchesLinear compares the inference op with Linear
// followed by ReLU, and checks it records nothing.
func TestLinearPackedMatchesLinear(t *testing.T) {
	x := tensor.New([]float32{1, -2, 3, 0.5, 0, -1}, 2, 3)
	w := NewVar(tensor.New([]float32{1, 2, 3, -1, 0, 1, 0.5, 0.5, -2, 4, 1, 0}, 4, 3))
	b := NewVar(tensor.New([]float32{0.5, -3, 1, 0}, 4))
	packed := tensor.PackB(w.Value(), true)
	for _, act := range []tensor.Act{tensor.ActNone, tensor.ActReLU, tensor.ActGELU} {
		want := Linear(Constant(x), w, b)
		switch act {
		case tensor.ActReLU:
			want = ReLU(want)
		case tensor.ActGELU:
			want = GELU(want)
		}
		got := LinearPacked(NoGrad(x), packed, b, act)
		require.False(t, got.RequiresGrad())
		require.InDeltaSlice(t, want.Value().Data(), got.Value().Data(), 1e-6)
		noBias := LinearPacked(NoGrad(x), packed, nil, tensor.ActNone)
		require.InDeltaSlice(t, Linear(Constant(x), w, nil).Value().Data(), noBias.Value().Data(), 1e-6)
	}
}

func TestLinearPackedPanics(t *testing.T) {
	w := tensor.PackB(tensor.Zeros(3, 4), true)
	require.PanicsWithValue(t, "autograd.LinearPacked: input [2 4] is not in inference mode (use Linear to train)", func() {
		LinearPacked(Constant(tensor.Zeros(2, 4)), w, nil, tensor.ActNone)
	})
	require.PanicsWithValue(t, "autograd.LinearPacked: input [2 5] does not match packed weight [4 3] (want [..., 4])", func() {
		LinearPacked(NoGrad(tensor.Zeros(2, 5)), w, nil, tensor.ActNone)
	})
	require.PanicsWithValue(t, "autograd.LinearPacked: bias [4] does not match packed weight [4 3] (want [3])", func() {
		LinearPacked(NoGrad(tensor.Zeros(2, 4)), w, Constant(tensor.Zeros(4)), tensor.ActNone)
	})
}
