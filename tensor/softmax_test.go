package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/chewxy/math32"
	"github.com/stretchr/testify/require"
)

func refSoftmaxRow(x []float64) []float64 {
	var s float64
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Exp(v)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func TestSoftmaxHandComputed(t *testing.T) {
	x := t32([]float32{1, 2, 3, 1, 1, 1}, 2, 3)
	want := refSoftmaxRow([]float64{1, 2, 3})
	got := Softmax(x, -1)
	require.InDeltaSlice(t, []float64{want[0], want[1], want[2], 1.0 / 3, 1.0 / 3, 1.0 / 3}, toF64(got.Data()), 1e-6)
	lsm := LogSoftmax(x, 1)
	for i, v := range got.Data() {
		require.InDelta(t, math.Log(float64(v)), lsm.Data()[i], 1e-6)
	}
	// Along axis 0: each column of two.
	col := Softmax(x, 0)
	w, w2 := refSoftmaxRow([]float64{2, 1}), refSoftmaxRow([]float64{3, 1})
	require.InDeltaSlice(t, []float64{0.5, w[0], w2[0], 0.5, w[1], w2[1]}, toF64(col.Data()), 1e-6)
	lse := LogSumExp(x, 1, false)
	require.Equal(t, []int{2}, lse.Shape())
	require.InDeltaSlice(t, []float64{math.Log(math.Exp(1) + math.Exp(2) + math.Exp(3)), 1 + math.Log(3)}, toF64(lse.Data()), 1e-6)
	require.Equal(t, []int{1, 3}, LogSumExp(x, 0, true).Shape())
	require.InDelta(t, 2+math.Log(1+math.Exp(-1)), LogSumExp(x, 0, true).Data()[1], 1e-6)
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func TestSoftmaxStable(t *testing.T) {
	x := t32([]float32{1000, 1001, -1000, -1e30}, 1, 4)
	got := Softmax(x, 1).Data()
	for _, v := range got {
		require.False(t, math32.IsNaN(v))
	}
	require.InDelta(t, 1, got[0]+got[1], 1e-6)
	lsm := LogSoftmax(x, 1).Data()
	require.InDelta(t, -2000-math.Log(1+math.Exp(-1))-1, lsm[2], 1e-2)
	require.InDelta(t, 1001+math.Log(1+math.Exp(-1)), LogSumExp(x, 1, false).Item(), 1e-3)
	inf := float32(math.Inf(-1))
	require.Equal(t, inf, LogSumExp(t32([]float32{inf, inf}, 2), 0, false).Item())
}

func TestSoftmaxLargeAndInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	x := randT(r, 1000, 10)
	got := Softmax(x, -1)
	sums := Sum(got, false, 1)
	for _, s := range sums.Data() {
		require.InDelta(t, 1, s, 1e-5)
	}
	in := x.Clone()
	SoftmaxTo(in, in, 1)
	requireClose(t, got, in)
	in = x.Clone()
	LogSoftmaxTo(in, in, 1)
	requireCloseTol(t, LogSoftmax(x, 1), in, 1e-5, "aliased log-softmax")
	requireCloseTol(t, Log(got), in, 1e-5, "log of softmax")
	require.PanicsWithValue(t, "tensor.SoftmaxTo: dst shape [2] does not match input shape [1000 10]",
		func() { SoftmaxTo(Zeros(2), x, 1) })
	require.PanicsWithValue(t, "tensor.Softmax: axis 2 out of range for rank 2", func() { Softmax(x, 2) })
}

func TestSoftmaxInfinities(t *testing.T) {
	inf := math32.Inf(-1)
	x := t32([]float32{inf, inf, 0, inf, 1, 1}, 3, 2)
	for _, axisLast := range []int{1, -1} {
		p := Softmax(x, axisLast).Data()
		require.True(t, math32.IsNaN(p[0]) && math32.IsNaN(p[1]), "a row of -Inf has no distribution")
		require.Equal(t, []float32{1, 0, 0.5, 0.5}, p[2:])
		lp := LogSoftmax(x, axisLast).Data()
		require.Equal(t, float32(0), lp[2])
		require.Equal(t, inf, lp[3])
		in := x.Clone()
		LogSoftmaxTo(in, in, axisLast)
		require.Equal(t, lp[2:], in.Data()[2:])
	}
	// Strided path (axis 0) agrees with the contiguous one.
	requireCloseTol(t, Transpose(Softmax(x, 1)), Softmax(Transpose(x), 0), 0, "axis 0")
}
