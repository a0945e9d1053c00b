package tensor

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIndexAndIndexAdd(t *testing.T) {
	x := t32([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	got := Index(x, []int{2, 0, 2})
	requireClose(t, t32([]float32{5, 6, 1, 2, 5, 6}, 3, 2), got)
	require.Equal(t, []int{0, 2}, Index(x, nil).Shape())
	require.Equal(t, []float32{3}, Index(t32([]float32{1, 2, 3}, 3), []int{2}).Data())
	require.PanicsWithValue(t, "tensor.Index: row 3 (position 1) out of range [0, 3) for shape [3 2]", func() { Index(x, []int{0, 3}) })
	require.PanicsWithValue(t, "tensor.Index: row -1 (position 0) out of range [0, 3) for shape [3 2]", func() { Index(x, []int{-1}) })

	dst := Zeros(3, 2)
	IndexAdd(dst, []int{2, 0, 2}, got)
	require.Equal(t, []float32{1, 2, 0, 0, 10, 12}, dst.Data())
	require.PanicsWithValue(t, "tensor.IndexAdd: src shape [2 2] does not fit dst shape [3 2] with 3 rows",
		func() { IndexAdd(dst, []int{0, 1, 2}, Zeros(2, 2)) })
	require.PanicsWithValue(t, "tensor.IndexAdd: row 5 (position 0) out of range [0, 3) for shape [3 2]",
		func() { IndexAdd(dst, []int{5}, Zeros(1, 2)) })
}

func TestOneHot(t *testing.T) {
	requireClose(t, t32([]float32{0, 1, 0, 1, 0, 0, 0, 0, 1}, 3, 3), OneHot([]int{1, 0, 2}, 3))
	require.Equal(t, []int{0, 4}, OneHot(nil, 4).Shape())
	require.PanicsWithValue(t, "tensor.OneHot: label 3 (position 1) out of range [0, 3)", func() { OneHot([]int{0, 3}, 3) })
}

func TestGatherScatterAdd(t *testing.T) {
	x := t32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	requireClose(t, t32([]float32{3, 4}, 2), Gather(x, -1, []int{2, 0}))
	requireClose(t, t32([]float32{4, 2, 6}, 3), Gather(x, 0, []int{1, 0, 1}))
	// Gather with ArgMax's indices gives the maxima.
	requireClose(t, Max(x, false, 1), Gather(x, 1, ArgMax(x, 1)))
	dst := Zeros(2, 3)
	ScatterAdd(dst, 1, []int{2, 0}, t32([]float32{1, 2}, 2))
	ScatterAdd(dst, 1, []int{2, 2}, t32([]float32{1, 1}, 2))
	require.Equal(t, []float32{0, 0, 2, 2, 0, 1}, dst.Data())
	require.PanicsWithValue(t, "tensor.Gather: index 3 (position 1) out of range [0, 3) for axis 1 of shape [2 3]",
		func() { Gather(x, 1, []int{0, 3}) })
	require.PanicsWithValue(t, "tensor.Gather: 1 indices for shape [2 3] along axis 1, want 2",
		func() { Gather(x, 1, []int{0}) })
	require.PanicsWithValue(t, "tensor.ScatterAdd: src shape [3] does not fit dst shape [2 3] without axis 1",
		func() { ScatterAdd(dst, 1, []int{0, 1}, Zeros(3)) })
}
