package tensor

import (
	"testing"

	"github.com/chewxy/math32"
	"github.com/stretchr/testify/require"
)

func TestCompare(t *testing.T) {
	a := t32([]float32{1, 2, 3}, 3)
	b := t32([]float32{1, 2.001, 3}, 3)
	require.True(t, AllClose(a, b, 0, 1e-2))
	require.False(t, AllClose(a, b, 0, 1e-4))
	require.True(t, AllClose(a, b, 1e-3, 0))
	require.False(t, AllClose(a, a.Reshape(1, 3), 1, 1))
	inf := math32.Inf(1)
	require.True(t, AllClose(t32([]float32{inf}, 1), t32([]float32{inf}, 1), 0, 0))
	require.False(t, AllClose(t32([]float32{math32.NaN()}, 1), t32([]float32{math32.NaN()}, 1), 1, 1))
	require.True(t, Equal(a, a.Clone()))
	require.False(t, Equal(a, b))
	require.False(t, Equal(a, a.Reshape(3, 1)))
	require.InDelta(t, 0.001, MaxAbsDiff(a, b), 1e-6)
	require.Equal(t, float32(0), MaxAbsDiff(Zeros(0), Zeros(0)))
	require.True(t, math32.IsNaN(MaxAbsDiff(t32([]float32{1, math32.NaN()}, 2), Zeros(2))))
	require.PanicsWithValue(t, "tensor.MaxAbsDiff: shapes [3] and [3 1] differ", func() { MaxAbsDiff(a, a.Reshape(3, 1)) })
}
