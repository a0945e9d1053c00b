package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chewxy/math32"
	"github.com/stretchr/testify/require"
)

// These tests pin PyTorch's NaN semantics: max/min reductions, argmax and
// argmin, maximum/minimum, relu and clamp all propagate NaN.

var nan32 = math32.NaN()

// sameFloats reports whether a and b hold the same values, NaN matching NaN.
func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && (a[i] == a[i] || b[i] == b[i]) {
			return false
		}
	}
	return true
}

// nanMax and nanMin are the reference: NaN if either argument is NaN.
func nanMax(acc, v float32) float32 {
	if acc != acc || v != v {
		return nan32
	}
	return max(acc, v)
}

func nanMin(acc, v float32) float32 {
	if acc != acc || v != v {
		return nan32
	}
	return min(acc, v)
}

// TestMaxMinReductionsPropagateNaN places one NaN at a series of positions
// (every position of small inputs; first, last and scattered ones of large
// inputs that take the parallel paths) and compares every axis combination
// with a reference that propagates NaN.
func TestMaxMinReductionsPropagateNaN(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	shapes := [][]int{{1}, {7}, {8}, {17}, {33}, {3, 5}, {2, 3, 4}, {4, 9}, {1, 40000}, {300, 200}, {40000, 2}}
	for _, sh := range shapes {
		base := randT(r, sh...)
		n := base.Size()
		positions := make([]int, 0, n)
		if n <= 64 {
			for i := range n {
				positions = append(positions, i)
			}
		} else {
			positions = append(positions, 0, 17, n/2, n-1)
		}
		axesSets := [][]int{nil}
		for a := range sh {
			axesSets = append(axesSets, []int{a})
		}
		if len(sh) == 3 {
			axesSets = append(axesSets, []int{0, 2}, []int{1, 2}, []int{0, 1})
		}
		for _, pos := range positions {
			x := base.Clone()
			x.Data()[pos] = nan32
			require.True(t, math32.IsNaN(MaxAll(x)), "MaxAll %v NaN at %d", sh, pos)
			require.True(t, math32.IsNaN(MinAll(x)), "MinAll %v NaN at %d", sh, pos)
			for _, axes := range axesSets {
				for _, keep := range []bool{false, true} {
					name := fmt.Sprintf("%v axes %v keep %v NaN at %d", sh, axes, keep, pos)
					wantMax := refReduce(x, keep, axes, nanMax, math32.Inf(-1))
					wantMin := refReduce(x, keep, axes, nanMin, math32.Inf(1))
					gotMax, gotMin := Max(x, keep, axes...), Min(x, keep, axes...)
					require.True(t, sameFloats(wantMax.Data(), gotMax.Data()), "Max %s", name)
					require.True(t, sameFloats(wantMin.Data(), gotMin.Data()), "Min %s", name)
				}
			}
		}
	}
}

func TestArgMaxArgMinFirstNaN(t *testing.T) {
	cases := []struct {
		data []float32
		want int
	}{
		{[]float32{nan32, 1, 2}, 0},
		{[]float32{1, nan32, 2}, 1},
		{[]float32{1, 2, nan32}, 2},
		{[]float32{5, nan32, 9, nan32, -1}, 1},
		{[]float32{math32.Inf(1), nan32}, 1},
		{[]float32{math32.Inf(-1), nan32}, 1},
		{[]float32{nan32}, 0},
	}
	for _, c := range cases {
		x := t32(c.data, len(c.data))
		require.Equal(t, []int{c.want}, ArgMax(x, 0), "ArgMax %v", c.data)
		require.Equal(t, []int{c.want}, ArgMin(x, 0), "ArgMin %v", c.data)
	}
	// Along an inner axis and along an outer (strided) axis.
	x := t32([]float32{
		1, 9, 3,
		nan32, 2, 8,
		4, nan32, 7,
		0, 5, nan32,
	}, 4, 3)
	require.Equal(t, []int{1, 0, 1, 2}, ArgMax(x, 1))
	require.Equal(t, []int{0, 0, 1, 2}, ArgMin(x, 1))
	require.Equal(t, []int{1, 2, 3}, ArgMax(x, 0))
	require.Equal(t, []int{1, 2, 3}, ArgMin(x, 0))
	// Without NaN, ties still go to the first.
	y := t32([]float32{3, 1, 3, 1}, 4)
	require.Equal(t, []int{0}, ArgMax(y, 0))
	require.Equal(t, []int{1}, ArgMin(y, 0))
}

// TestMaximumMinimumPropagateNaN covers every loop of the binary ops: same
// shapes (small and parallel), scalar on either side, and broadcast rows, with
// the NaN in either argument.
func TestMaximumMinimumPropagateNaN(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	pairs := [][2][]int{
		{{9}, {9}}, {{70000}, {70000}}, {{9}, {}}, {{}, {9}}, {{70000}, {1}}, {{1}, {70000}},
		{{3, 4}, {4}}, {{3, 1}, {1, 4}}, {{300, 200}, {200}}, {{300, 200}, {300, 1}}, {{}, {}},
	}
	ops := []struct {
		name string
		f    func(a, b *Tensor) *Tensor
		to   func(dst, a, b *Tensor)
		ref  func(x, y float32) float32
	}{
		{"Maximum", Maximum, MaximumTo, nanMax},
		{"Minimum", Minimum, MinimumTo, nanMin},
	}
	for _, p := range pairs {
		for side := range 2 {
			a, b := randT(r, p[0]...), randT(r, p[1]...)
			nanIn := a
			if side == 1 {
				nanIn = b
			}
			d := nanIn.Data()
			for _, i := range []int{0, len(d) / 2, len(d) - 1} {
				d[i] = nan32
			}
			for _, op := range ops {
				name := fmt.Sprintf("%s%v%v NaN in arg %d", op.name, p[0], p[1], side)
				want := refBinary(a, b, op.ref)
				got := op.f(a, b)
				require.Equal(t, want.Shape(), got.Shape(), name)
				require.True(t, sameFloats(want.Data(), got.Data()), name)
				dst := Zeros(want.Shape()...)
				op.to(dst, a, b)
				require.True(t, sameFloats(want.Data(), dst.Data()), name+" (To)")
			}
		}
	}
}

func TestReLUClampPropagateNaN(t *testing.T) {
	inf := math32.Inf(1)
	for _, n := range []int{1, 7, 8, 15, 16, 17, 33, 70000} {
		for _, pos := range []int{0, n / 2, n - 1} {
			data := make([]float32, n)
			for i := range data {
				data[i] = float32(i%5) - 2
			}
			data[pos] = nan32
			x := t32(data, n)
			relu, clamp := ReLU(x), Clamp(x, -1, 1)
			dst := Zeros(n)
			ReLUTo(dst, x)
			for i, v := range data {
				if i == pos {
					require.True(t, math32.IsNaN(relu.Data()[i]), "ReLU n=%d NaN at %d", n, i)
					require.True(t, math32.IsNaN(dst.Data()[i]), "ReLUTo n=%d NaN at %d", n, i)
					require.True(t, math32.IsNaN(clamp.Data()[i]), "Clamp n=%d NaN at %d", n, i)
					continue
				}
				require.Equal(t, max(v, 0), relu.Data()[i])
				require.Equal(t, min(max(v, -1), 1), clamp.Data()[i])
			}
		}
	}
	c := Clamp(t32([]float32{nan32, inf, -inf}, 3), 0, 1).Data()
	require.True(t, math32.IsNaN(c[0]))
	require.Equal(t, []float32{1, 0}, c[1:])
}
