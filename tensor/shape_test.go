package tensor

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTranspose(t *testing.T) {
	a := t32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	requireClose(t, t32([]float32{1, 4, 2, 5, 3, 6}, 3, 2), Transpose(a))
	b := t32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2)
	requireClose(t, t32([]float32{1, 3, 2, 4, 5, 7, 6, 8}, 2, 2, 2), Transpose(b))
	r := rand.New(rand.NewPCG(13, 14))
	big := randT(r, 3, 130, 300) // large enough to split across goroutines
	tb := Transpose(big)
	for i := 0; i < 3; i++ {
		requireClose(t, naiveT(Index(big, []int{i}).Reshape(130, 300)), Index(tb, []int{i}).Reshape(300, 130))
	}
	require.PanicsWithValue(t, "tensor.Transpose: shape [3] has fewer than 2 dimensions", func() { Transpose(Zeros(3)) })
}

func TestPermute(t *testing.T) {
	x := Arange(0, 24, 1).Reshape(2, 3, 4)
	p := Permute(x, 2, 0, 1)
	require.Equal(t, []int{4, 2, 3}, p.Shape())
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				require.Equal(t, x.At(i, j, k), p.At(k, i, j))
			}
		}
	}
	q := Permute(x, 1, -1, 0)
	require.Equal(t, []int{3, 4, 2}, q.Shape())
	require.Equal(t, x.At(1, 2, 3), q.At(2, 3, 1))
	requireClose(t, x, Permute(x, 0, 1, 2))
	requireClose(t, Transpose(x), Permute(x, 0, 2, 1))
	requireClose(t, Scalar(3), Permute(Scalar(3)))
	require.PanicsWithValue(t, "tensor.Permute: axes [0 0 1] are not a permutation for shape [2 3 4]", func() { Permute(x, 0, 0, 1) })
	require.PanicsWithValue(t, "tensor.Permute: axes [0 1] do not match shape [2 3 4]", func() { Permute(x, 0, 1) })
}

func TestConcatStack(t *testing.T) {
	a := t32([]float32{1, 2, 3, 4}, 2, 2)
	b := t32([]float32{5, 6}, 1, 2)
	c := t32([]float32{7, 8}, 2, 1)
	requireClose(t, t32([]float32{1, 2, 3, 4, 5, 6}, 3, 2), Concat(0, a, b))
	requireClose(t, t32([]float32{1, 2, 7, 3, 4, 8}, 2, 3), Concat(-1, a, c))
	requireClose(t, a, Concat(1, a))
	requireClose(t, t32([]float32{1, 2, 3, 4, 1, 2, 3, 4}, 2, 2, 2), Stack(0, a, a))
	requireClose(t, t32([]float32{1, 2, 10, 20, 3, 4, 30, 40}, 2, 2, 2), Stack(1, a, MulScalar(a, 10)))
	requireClose(t, t32([]float32{1, 10, 2, 20, 3, 30, 4, 40}, 2, 2, 2), Stack(-1, a, MulScalar(a, 10)))
	require.PanicsWithValue(t, "tensor.Concat: shapes [2 2] and [1 2] differ outside axis 1", func() { Concat(1, a, b) })
	require.PanicsWithValue(t, "tensor.Concat: shapes [2 2] and [2] differ in rank", func() { Concat(0, a, Zeros(2)) })
	require.PanicsWithValue(t, "tensor.Stack: shapes [2 2] and [1 2] differ", func() { Stack(0, a, b) })
	require.PanicsWithValue(t, "tensor.Concat: no tensors", func() { Concat(0) })
}

func TestSliceSqueeze(t *testing.T) {
	x := Arange(0, 24, 1).Reshape(2, 3, 4)
	s := Slice(x, 1, 1, 3)
	require.Equal(t, []int{2, 2, 4}, s.Shape())
	require.Equal(t, []float32{4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23}, s.Data())
	require.Equal(t, []float32{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22}, Slice(x, -1, 1, 3).Data())
	require.Equal(t, []int{0, 3, 4}, Slice(x, 0, 1, 1).Shape())
	s.Data()[0] = 100
	require.Equal(t, float32(4), x.At(0, 1, 0), "Slice copies")
	require.PanicsWithValue(t, "tensor.Slice: range [2, 4) out of bounds for axis 1 of shape [2 3 4]", func() { Slice(x, 1, 2, 4) })

	u := Unsqueeze(x, 1)
	require.Equal(t, []int{2, 1, 3, 4}, u.Shape())
	require.Equal(t, []int{2, 3, 4, 1}, Unsqueeze(x, -1).Shape())
	require.Equal(t, []int{2, 3, 4}, Squeeze(u).Shape())
	require.Equal(t, []int{2, 3, 4}, Squeeze(u, 1).Shape())
	require.Equal(t, []int{}, Squeeze(t32([]float32{1}, 1, 1)).Shape())
	require.PanicsWithValue(t, "tensor.Squeeze: axis 0 of shape [2 1 3 4] is not 1", func() { Squeeze(u, 0) })
	require.Equal(t, []int{2, 12}, Flatten(x).Shape())
}
