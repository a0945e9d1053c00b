package tensor

import (
	"testing"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/stretchr/testify/require"
)

func TestInPlace(t *testing.T) {
	x := t32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	row := t32([]float32{1, 2, 3}, 3)
	AddInPlace(x, row)
	require.Equal(t, []float32{2, 4, 6, 5, 7, 9}, x.Data())
	SubInPlace(x, t32([]float32{1, 2}, 2, 1))
	require.Equal(t, []float32{1, 3, 5, 3, 5, 7}, x.Data())
	MulInPlace(x, Scalar(2))
	require.Equal(t, []float32{2, 6, 10, 6, 10, 14}, x.Data())
	DivInPlace(x, row)
	require.Equal(t, []float32{2, 3, 10.0 / 3, 6, 5, 14.0 / 3}, x.Data())
	Copy(x, t32([]float32{1, 1, 1, 1, 1, 1}, 2, 3))
	AddScaled(x, -0.5, t32([]float32{2, 4, 6, 8, 10, 12}, 2, 3))
	require.Equal(t, []float32{0, -1, -2, -3, -4, -5}, x.Data())
	ScaleInPlace(x, -2)
	require.Equal(t, []float32{0, 2, 4, 6, 8, 10}, x.Data())
	AddScalarInPlace(x, 1)
	require.Equal(t, []float32{1, 3, 5, 7, 9, 11}, x.Data())
	Fill(x, 7)
	require.Equal(t, []float32{7, 7, 7, 7, 7, 7}, x.Data())
	Zero(x)
	require.Equal(t, []float32{0, 0, 0, 0, 0, 0}, x.Data())

	require.PanicsWithValue(t, "tensor.AddInPlace: shape [2 1 3] does not broadcast to dst shape [2 3]",
		func() { AddInPlace(x, Zeros(2, 1, 3)) })
	require.PanicsWithValue(t, "tensor.MulInPlace: shape [2] does not broadcast to dst shape [2 3]",
		func() { MulInPlace(x, Zeros(2)) })
	require.PanicsWithValue(t, "tensor.AddScaled: shapes [2 3] and [5] differ in size",
		func() { AddScaled(x, 1, Zeros(5)) })
	require.PanicsWithValue(t, "tensor.Copy: dst shape [2 3] does not match src shape [3 2]",
		func() { Copy(x, Zeros(3, 2)) })
}

func TestInPlaceLarge(t *testing.T) {
	x := Ones(300, 400)
	b := Arange(0, 400, 1)
	AddInPlace(x, b)
	require.Equal(t, float32(400), x.At(299, 399))
	AddScaled(x, 2, Ones(300, 400))
	require.Equal(t, float32(3), x.At(5, 0))
	ScaleInPlace(x, 0.5)
	require.Equal(t, float32(1.5), x.At(7, 0))
}

func TestInPlaceDoesNotAllocate(t *testing.T) {
	dst := Zeros(64, 128)
	same := Ones(64, 128)
	row := Ones(128)
	col := Ones(64, 1)
	s := Scalar(2)
	grad := Ones(16, 32)
	small, smallOut := Ones(16, 32), Zeros(16, 32)
	rows, src := []int{3, 1, 3}, Ones(3, 32)
	cases := []struct {
		name string
		f    func()
	}{
		{"AddInPlace same", func() { AddInPlace(dst, same) }},
		{"AddInPlace row", func() { AddInPlace(dst, row) }},
		{"SubInPlace col", func() { SubInPlace(dst, col) }},
		{"MulInPlace scalar", func() { MulInPlace(dst, s) }},
		{"DivInPlace same", func() { DivInPlace(dst, same) }},
		{"AddScaled", func() { AddScaled(dst, 0.1, same) }},
		{"ScaleInPlace", func() { ScaleInPlace(dst, 0.5) }},
		{"AddScalarInPlace", func() { AddScalarInPlace(dst, 0.5) }},
		{"Fill", func() { Fill(dst, 1) }},
		{"Zero", func() { Zero(dst) }},
		{"Copy", func() { Copy(dst, same) }},
		{"AddTo", func() { AddTo(dst, same, row) }},
		{"MulTo", func() { MulTo(dst, same, col) }},
		{"ExpTo", func() { ExpTo(smallOut, small) }},
		{"ReLUTo", func() { ReLUTo(dst, dst) }},
		{"SoftmaxTo", func() { SoftmaxTo(smallOut, small, -1) }},
		{"LogSoftmaxTo", func() { LogSoftmaxTo(smallOut, smallOut, 1) }},
		{"IndexAdd", func() { IndexAdd(grad, rows, src) }},
	}
	for _, c := range cases {
		require.Zero(t, testalloc.PerRun(20, c.f), c.name)
	}
}
