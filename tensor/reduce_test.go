package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chewxy/math32"
	"github.com/stretchr/testify/require"
)

func TestReduceHandComputed(t *testing.T) {
	// x[i][j][k] = 100i + 10j + k over [2,3,2].
	x := Zeros(2, 3, 2)
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 2; k++ {
				x.Set(float32(100*i+10*j+k), i, j, k)
			}
		}
	}
	cases := []struct {
		name string
		got  *Tensor
		want *Tensor
	}{
		{"Sum all", Sum(x, false), Scalar(726)},
		{"Sum all keep", Sum(x, true), t32([]float32{726}, 1, 1, 1)},
		{"Sum 0", Sum(x, false, 0), t32([]float32{100, 102, 120, 122, 140, 142}, 3, 2)},
		{"Sum -1 keep", Sum(x, true, -1), t32([]float32{1, 21, 41, 201, 221, 241}, 2, 3, 1)},
		{"Sum 0,2", Sum(x, false, 0, 2), t32([]float32{202, 242, 282}, 3)},
		{"Sum 2,0 keep", Sum(x, true, 2, 0), t32([]float32{202, 242, 282}, 1, 3, 1)},
		{"Sum 1", Sum(x, false, 1), t32([]float32{30, 33, 330, 333}, 2, 2)},
		{"Mean 1", Mean(x, false, 1), t32([]float32{10, 11, 110, 111}, 2, 2)},
		{"Mean all", Mean(x, false), Scalar(60.5)},
		{"Mean 0,1 keep", Mean(x, true, 0, 1), t32([]float32{60, 61}, 1, 1, 2)},
		{"Max 1", Max(x, false, 1), t32([]float32{20, 21, 120, 121}, 2, 2)},
		{"Max 0,2", Max(x, false, 0, 2), t32([]float32{101, 111, 121}, 3)},
		{"Min -1", Min(x, false, -1), t32([]float32{0, 10, 20, 100, 110, 120}, 2, 3)},
		{"Min all keep", Min(x, true), t32([]float32{0}, 1, 1, 1)},
		{"Sum scalar", Sum(Scalar(3), false), Scalar(3)},
		{"Sum size-1 axis", Sum(t32([]float32{1, 2}, 1, 2), false, 0), t32([]float32{1, 2}, 2)},
		{"Sum empty", Sum(Zeros(0, 3), false, 0), t32([]float32{0, 0, 0}, 3)},
		{"Max empty", Max(Zeros(0, 2), false, 0), t32([]float32{math32.Inf(-1), math32.Inf(-1)}, 2)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { requireClose(t, c.want, c.got) })
	}
	require.Equal(t, float32(726), SumAll(x))
	require.Equal(t, float32(60.5), MeanAll(x))
	require.Equal(t, float32(121), MaxAll(x))
	require.Equal(t, float32(0), MinAll(x))
	require.True(t, math32.IsNaN(MeanAll(Zeros(0))))
	require.True(t, math32.IsNaN(Mean(Zeros(0, 2), false, 0).Data()[0]))
}

// refReduce reduces by visiting every element and its output offset.
func refReduce(x *Tensor, keep bool, axes []int, f func(acc, v float32) float32, init float32) *Tensor {
	mask := make([]bool, x.Rank())
	for _, a := range axes {
		if a < 0 {
			a += x.Rank()
		}
		mask[a] = true
	}
	if len(axes) == 0 {
		for i := range mask {
			mask[i] = true
		}
	}
	var shape, keepShape []int
	for i, d := range x.Shape() {
		if mask[i] {
			keepShape = append(keepShape, 1)
			if keep {
				shape = append(shape, 1)
			}
		} else {
			keepShape = append(keepShape, d)
			shape = append(shape, d)
		}
	}
	out := Full(init, shape...)
	for i, v := range x.Data() {
		idx := unravel(i, x.Shape())
		off := 0
		for d, n := range keepShape {
			if mask[d] {
				idx[d] = 0
			}
			off = off*n + idx[d]
		}
		out.Data()[off] = f(out.Data()[off], v)
	}
	return out
}

func TestReduceMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		shape []int
		axes  []int
	}{
		{[]int{4, 5}, []int{0}},
		{[]int{4, 5}, []int{1}},
		{[]int{2, 3, 4, 5}, []int{1, 3}},
		{[]int{2, 3, 4, 5}, []int{0, 2}},
		{[]int{2, 3, 4, 5}, []int{-1, -2}},
		{[]int{2, 1, 4, 1, 3}, []int{1, 4}},
		{[]int{2, 3, 4, 5}, nil},
		{[]int{300, 400}, []int{0}},
		{[]int{300, 400}, []int{1}},
		{[]int{40, 30, 50}, []int{1}},
		{[]int{40, 30, 50}, []int{0, 2}},
		{[]int{70000}, []int{0}},
	}
	for _, c := range cases {
		x := randT(r, c.shape...)
		for _, keep := range []bool{false, true} {
			name := fmt.Sprintf("%v%v%v", c.shape, c.axes, keep)
			requireCloseTol(t, refReduce(x, keep, c.axes, func(a, v float32) float32 { return a + v }, 0),
				Sum(x, keep, c.axes...), 2e-3, name)
			requireCloseTol(t, refReduce(x, keep, c.axes, func(a, v float32) float32 { return max(a, v) }, math32.Inf(-1)),
				Max(x, keep, c.axes...), 0, name)
			requireCloseTol(t, refReduce(x, keep, c.axes, func(a, v float32) float32 { return min(a, v) }, math32.Inf(1)),
				Min(x, keep, c.axes...), 0, name)
		}
	}
}

func requireCloseTol(t *testing.T, want, got *Tensor, tol float64, msg string) {
	t.Helper()
	require.Equal(t, want.Shape(), got.Shape(), msg)
	require.InDeltaSlice(t, want.Data(), got.Data(), tol, msg)
}

func TestReducePanics(t *testing.T) {
	x := Zeros(2, 3)
	require.PanicsWithValue(t, "tensor.Sum: axis 2 out of range for rank 2", func() { Sum(x, false, 2) })
	require.PanicsWithValue(t, "tensor.Mean: axis -3 out of range for rank 2", func() { Mean(x, false, -3) })
	require.PanicsWithValue(t, "tensor.Max: axis -1 repeated in [1 -1] for shape [2 3]", func() { Max(x, false, 1, -1) })
	require.PanicsWithValue(t, "tensor.ArgMax: axis 0 of shape [0 3] is empty", func() { ArgMax(Zeros(0, 3), 0) })
}

func TestArgMaxArgMin(t *testing.T) {
	x := t32([]float32{
		1, 5, 3,
		7, 2, 7,
	}, 2, 3)
	require.Equal(t, []int{1, 0}, ArgMax(x, 1))
	require.Equal(t, []int{1, 0}, ArgMax(x, -1))
	require.Equal(t, []int{1, 0, 1}, ArgMax(x, 0))
	require.Equal(t, []int{0, 1}, ArgMin(x, 1))
	require.Equal(t, []int{0, 1, 0}, ArgMin(x, 0))
	// 3-D, middle axis: result is row-major over [2, 2].
	y := t32([]float32{0, 9, 5, 1, 2, 2, 8, 0, 3, 3, 1, 7}, 2, 3, 2)
	require.Equal(t, []int{1, 0, 0, 2}, ArgMax(y, 1))
	require.Equal(t, []int{0, 1, 2, 0}, ArgMin(y, 1))
}
