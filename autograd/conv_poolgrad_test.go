package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// poolWgradCases are Conv2DReLUMaxPool geometries whose weight gradient,
// without an input gradient, is summed over the winners: the 3×3 one-
// channel kernel (unit stride, 2×2 windows) and the general loop (other
// filters, strides, dilations, two channels, overlapping and padded
// windows), on batches of 1, 7, 17 and 33 and odd planes.
var poolWgradCases = []struct {
	x, w []int
	opt  Conv2DOptions
	pool Pool2DOptions
}{
	{x: []int{1, 1, 28, 28}, w: []int{32, 1, 3, 3}, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
	{x: []int{7, 1, 13, 11}, w: []int{5, 1, 3, 3}, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
	{x: []int{17, 1, 9, 14}, w: []int{3, 1, 3, 3}, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
	{x: []int{33, 1, 8, 8}, w: []int{4, 1, 3, 3}, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
	{x: []int{7, 2, 9, 10}, w: []int{3, 2, 2, 2}, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
	{x: []int{17, 1, 15, 13}, w: []int{3, 1, 3, 3}, opt: Conv2DOptions{Stride: [2]int{2, 1}}, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
	{x: []int{7, 1, 15, 15}, w: []int{2, 1, 3, 3}, opt: Conv2DOptions{Dilation: [2]int{2, 2}}, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
	{x: []int{7, 1, 12, 12}, w: []int{3, 1, 3, 3}, pool: Pool2DOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}}},
	{x: []int{7, 1, 11, 11}, w: []int{3, 1, 3, 3}, pool: Pool2DOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}}},
	{x: []int{1, 1, 5, 5}, w: []int{2, 1, 1, 3}, pool: Pool2DOptions{Kernel: [2]int{2, 1}}},
}

// TestConvPoolWinnersWeightGrad checks the weight and bias gradients of
// Conv2DReLUMaxPool summed over the winners (no input gradient) against
// the dense path's (the same op with an input gradient wanted), with and
// without a bias, and that they are bit-identical on one, two and three
// workers.
func TestConvPoolWinnersWeightGrad(t *testing.T) {
	for i, tc := range poolWgradCases {
		for _, bias := range []bool{true, false} {
			t.Run(fmt.Sprint(tc.x, tc.w, tc.opt, tc.pool, bias), func(t *testing.T) {
				g := newConvGeom(tc.x, tc.w, tc.opt)
				require.True(t, g.poolWgradGeom())
				x, w, b := convRand(uint64(i+1), tc.x...), convRand(uint64(i+2), tc.w...), convRand(uint64(i+3), tc.w[0])
				run := func(workers int, inputGrad bool) []*tensor.Tensor {
					prev := parallel.SetWorkers(workers)
					defer parallel.SetWorkers(prev)
					xv, wv := Constant(x), NewVar(w)
					if inputGrad {
						xv = NewVar(x)
					}
					var bv *Var
					if bias {
						bv = NewVar(b)
					}
					y := Conv2DReLUMaxPool(xv, wv, bv, tc.opt, tc.pool)
					y.BackwardWith(convRand(uint64(i+4), y.Shape()...))
					out := []*tensor.Tensor{y.Value(), wv.Grad()}
					if bias {
						out = append(out, bv.Grad())
					}
					return out
				}
				want, got := run(1, true), run(1, false)
				require.Equal(t, want[0].Data(), got[0].Data(), "forward")
				for j := 1; j < len(want); j++ {
					for k, v := range want[j].Data() {
						require.InDelta(t, v, got[j].Data()[k], 1e-4*float64(max(abs32(v), 1)), "tensor %d at %d", j, k)
					}
				}
				for _, workers := range []int{2, 3} {
					again := run(workers, false)
					for j := range got {
						require.Equal(t, got[j].Data(), again[j].Data(), "tensor %d on %d workers", j, workers)
					}
				}
			})
		}
	}
}

// TestConvPoolWinnersGradCheck checks the winners' weight and bias
// gradients numerically, the input a constant, on two samples of each
// geometry (a weight moves every output, so larger batches put a kink of
// the ReLU or a tie of the max within every step).
func TestConvPoolWinnersGradCheck(t *testing.T) {
	for i, tc := range poolWgradCases[1:] {
		xs := append([]int{min(tc.x[0], 2)}, tc.x[1:]...)
		x := convRand(uint64(i+1), xs...)
		res, err := CheckGrad(func(xs ...*Var) *Var {
			return Conv2DReLUMaxPool(Constant(x), xs[0], xs[1], tc.opt, tc.pool)
		}, []*tensor.Tensor{convRand(uint64(i+2), tc.w...), convRand(uint64(i+3), tc.w[0])}, GradCheckOptions{})
		require.NoError(t, err, "case %d: %v", i+1, res)
	}
}
