package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chewxy/math32"
	"github.com/stretchr/testify/require"
)

func TestBroadcastShape(t *testing.T) {
	cases := []struct {
		a, b, want []int
		ok         bool
	}{
		{[]int{3, 1}, []int{1, 4}, []int{3, 4}, true},
		{[]int{2, 3, 4}, []int{4}, []int{2, 3, 4}, true},
		{[]int{2, 1, 4}, []int{3, 1}, []int{2, 3, 4}, true},
		{[]int{}, []int{2, 2}, []int{2, 2}, true},
		{[]int{}, []int{}, []int{}, true},
		{[]int{0, 3}, []int{1, 3}, []int{0, 3}, true},
		{[]int{2, 3}, []int{4}, nil, false},
		{[]int{2, 3}, []int{3, 3}, nil, false},
	}
	for _, c := range cases {
		got, ok := BroadcastShape(c.a, c.b)
		require.Equal(t, c.ok, ok, "%v %v", c.a, c.b)
		if ok {
			require.Equal(t, c.want, got, "%v %v", c.a, c.b)
		}
	}
}

func TestBinaryHandComputed(t *testing.T) {
	a := t32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	row := t32([]float32{10, 20, 30}, 3)
	col := t32([]float32{1, 2}, 2, 1)
	cases := []struct {
		name string
		f    func(a, b *Tensor) *Tensor
		a, b *Tensor
		want *Tensor
	}{
		{"Add same", Add, a, a, t32([]float32{2, 4, 6, 8, 10, 12}, 2, 3)},
		{"Add row", Add, a, row, t32([]float32{11, 22, 33, 14, 25, 36}, 2, 3)},
		{"Add row left", Add, row, a, t32([]float32{11, 22, 33, 14, 25, 36}, 2, 3)},
		{"Sub col", Sub, a, col, t32([]float32{0, 1, 2, 2, 3, 4}, 2, 3)},
		{"Sub col left", Sub, col, a, t32([]float32{0, -1, -2, -2, -3, -4}, 2, 3)},
		{"Mul scalar", Mul, a, Scalar(2), t32([]float32{2, 4, 6, 8, 10, 12}, 2, 3)},
		{"Div scalar left", Div, Scalar(12), a, t32([]float32{12, 6, 4, 3, 2.4, 2}, 2, 3)},
		{"Div row", Div, a, row, t32([]float32{0.1, 0.1, 0.1, 0.4, 0.25, 0.2}, 2, 3)},
		{"Maximum", Maximum, a, t32([]float32{3}, 1), t32([]float32{3, 3, 3, 4, 5, 6}, 2, 3)},
		{"Minimum", Minimum, a, t32([]float32{2, 5, 0}, 3), t32([]float32{1, 2, 0, 2, 5, 0}, 2, 3)},
		{"Greater", Greater, a, Scalar(3), t32([]float32{0, 0, 0, 1, 1, 1}, 2, 3)},
		{"GreaterEqual", GreaterEqual, a, Scalar(3), t32([]float32{0, 0, 1, 1, 1, 1}, 2, 3)},
		{"Less", Less, a, Scalar(3), t32([]float32{1, 1, 0, 0, 0, 0}, 2, 3)},
		{"LessEqual", LessEqual, a, Scalar(3), t32([]float32{1, 1, 1, 0, 0, 0}, 2, 3)},
		{"[3,1]+[1,4]", Add, t32([]float32{0, 10, 20}, 3, 1), t32([]float32{1, 2, 3, 4}, 1, 4),
			t32([]float32{1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24}, 3, 4)},
		{"scalar+scalar", Add, Scalar(1), Scalar(2), Scalar(3)},
		{"[2,1,4]*[3,1]", Mul, t32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 1, 4), t32([]float32{1, 10, 100}, 3, 1),
			t32([]float32{1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400, 5, 6, 7, 8, 50, 60, 70, 80, 500, 600, 700, 800}, 2, 3, 4)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { requireClose(t, c.want, c.f(c.a, c.b)) })
	}
}

// TestBinaryMatchesReference checks every broadcast layout against a slow
// per-element evaluation, including sizes that take the parallel paths.
func TestBinaryMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pairs := [][2][]int{
		{{3, 1}, {1, 4}},
		{{2, 3, 4}, {4}},
		{{2, 1, 4}, {3, 1}},
		{{4}, {2, 3, 4}},
		{{}, {2, 3}},
		{{2, 3}, {}},
		{{5, 1, 3, 1}, {1, 4, 1, 2}},
		{{2, 3, 4, 5}, {3, 1, 5}},
		{{2, 3, 4, 5}, {2, 3, 4, 5}},
		{{1, 1, 1}, {1}},
		{{0, 3}, {3}},
		{{300, 200}, {200}},
		{{300, 200}, {300, 1}},
		{{200, 1, 300}, {1, 2, 300}},
		{{1, 70000}, {70000}},
		{{70000}, {1}},
		{{1}, {70000}},
		{{300, 300}, {300, 300}},
	}
	ops := []struct {
		name string
		f    func(a, b *Tensor) *Tensor
		ref  func(x, y float32) float32
	}{
		{"Add", Add, func(x, y float32) float32 { return x + y }},
		{"Sub", Sub, func(x, y float32) float32 { return x - y }},
		{"Mul", Mul, func(x, y float32) float32 { return x * y }},
		{"Div", Div, func(x, y float32) float32 { return x / y }},
		{"Maximum", Maximum, func(x, y float32) float32 { return max(x, y) }},
		{"Minimum", Minimum, func(x, y float32) float32 { return min(x, y) }},
		{"Greater", Greater, func(x, y float32) float32 { return b2f(x > y) }},
	}
	for _, p := range pairs {
		a, b := randT(r, p[0]...), randT(r, p[1]...)
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s%v%v", op.name, p[0], p[1]), func(t *testing.T) {
				want := refBinary(a, b, op.ref)
				requireClose(t, want, op.f(a, b))
				dst := Full(math32.NaN(), want.Shape()...)
				binaryTo(binOpByName(op.name), op.name+"To", dst, a, b)
				requireClose(t, want, dst)
			})
		}
	}
}

func binOpByName(name string) binOp {
	for i, n := range binNames {
		if n == name {
			return binOp(i)
		}
	}
	panic(name)
}

func TestBinaryToVariants(t *testing.T) {
	a := t32([]float32{1, 2, 3, 4}, 2, 2)
	b := t32([]float32{1, 2}, 2)
	for _, c := range []struct {
		f    func(dst, a, b *Tensor)
		want []float32
	}{
		{AddTo, []float32{2, 4, 4, 6}},
		{SubTo, []float32{0, 0, 2, 2}},
		{MulTo, []float32{1, 4, 3, 8}},
		{DivTo, []float32{1, 1, 3, 2}},
		{MaximumTo, []float32{1, 2, 3, 4}},
		{MinimumTo, []float32{1, 2, 1, 2}},
	} {
		dst := Zeros(2, 2)
		c.f(dst, a, b)
		require.Equal(t, c.want, dst.Data())
	}
	// dst may be the full-shape operand.
	x := a.Clone()
	AddTo(x, x, b)
	require.Equal(t, []float32{2, 4, 4, 6}, x.Data())
}

func TestBinaryPanics(t *testing.T) {
	a, b := Zeros(2, 3), Zeros(4)
	require.PanicsWithValue(t, "tensor.Add: shapes [2 3] and [4] are not broadcastable", func() { Add(a, b) })
	require.PanicsWithValue(t, "tensor.Mul: shapes [2 3] and [4] are not broadcastable", func() { Mul(a, b) })
	require.PanicsWithValue(t, "tensor.AddTo: shapes [2 3] and [4] are not broadcastable", func() { AddTo(Zeros(2, 3), a, b) })
	require.PanicsWithValue(t, "tensor.SubTo: shapes [2 3] and [3] do not broadcast to dst shape [3 3]",
		func() { SubTo(Zeros(3, 3), a, Zeros(3)) })
}

func TestBroadcastToAndSumTo(t *testing.T) {
	x := t32([]float32{1, 2, 3}, 3, 1)
	bx := BroadcastTo(x, 2, 3, 2)
	require.Equal(t, []int{2, 3, 2}, bx.Shape())
	require.Equal(t, []float32{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, bx.Data())
	requireClose(t, t32([]float32{4, 8, 12}, 3, 1), SumTo(bx, 3, 1))
	requireClose(t, t32([]float32{12, 12}, 2), SumTo(bx, 2))
	requireClose(t, t32([]float32{2, 2, 4, 4, 6, 6}, 3, 2), SumTo(bx, 3, 2))
	requireClose(t, Scalar(24), SumTo(bx))
	requireClose(t, t32([]float32{24}, 1, 1, 1), SumTo(bx, 1, 1, 1))
	same := SumTo(bx, 2, 3, 2)
	requireClose(t, bx, same)
	same.Data()[0] = 100
	require.Equal(t, float32(1), bx.Data()[0], "SumTo must return a fresh tensor")

	require.PanicsWithValue(t, "tensor.BroadcastTo: shape [3 1] does not broadcast to [2 2]", func() { BroadcastTo(x, 2, 2) })
	require.PanicsWithValue(t, "tensor.SumTo: cannot reduce shape [2 3 2] to [3 3]", func() { SumTo(bx, 3, 3) })
	require.PanicsWithValue(t, "tensor.SumTo: cannot reduce shape [3 1] to [1 3 1]", func() { SumTo(x, 1, 3, 1) })

	// SumTo is the adjoint of BroadcastTo: <B(x), y> == <x, S(y)>.
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range [][2][]int{{{4, 1}, {3, 4, 5}}, {{5}, {2, 5}}, {{}, {3, 3}}, {{2, 1, 3}, {2, 4, 3}}} {
		xs, ys := randT(r, c[0]...), randT(r, c[1]...)
		lhs := SumAll(Mul(BroadcastTo(xs, c[1]...), ys))
		rhs := SumAll(Mul(xs, SumTo(ys, c[0]...)))
		require.InDelta(t, lhs, rhs, 1e-4, "%v", c)
	}
}
