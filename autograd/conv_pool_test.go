package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
)

type convPoolCase struct {
	x, w []int
	bias bool
	opt  Conv2DOptions
	pool Pool2DOptions
}

var convPoolCases = []convPoolCase{
	// The Keras convnet's second layer at a small batch: odd plane (11×11
	// pooled to 5×5, last row and column unused).
	{x: []int{3, 4, 13, 13}, w: []int{5, 4, 3, 3}, bias: true, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
	// Padding, stride, rectangular kernel; overlapping 3×3 windows, stride 2.
	{x: []int{2, 3, 9, 8}, w: []int{4, 3, 3, 2}, bias: true,
		opt:  Conv2DOptions{Stride: [2]int{1, 2}, Padding: [2]int{1, 1}},
		pool: Pool2DOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}}},
	// 1×1 convolution (no unfolding) without bias, pooling with padding.
	{x: []int{2, 3, 5, 7}, w: []int{2, 3, 1, 1},
		pool: Pool2DOptions{Kernel: [2]int{2, 3}, Padding: [2]int{1, 1}, Stride: [2]int{1, 2}}},
	// Groups and dilation, dilated pooling.
	{x: []int{4, 4, 8, 8}, w: []int{6, 2, 3, 3}, bias: true,
		opt:  Conv2DOptions{Groups: 2, Dilation: [2]int{2, 1}, Padding: [2]int{2, 1}},
		pool: Pool2DOptions{Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}, Dilation: [2]int{2, 2}}},
	// One sample, one channel in.
	{x: []int{1, 1, 7, 7}, w: []int{3, 1, 3, 3}, bias: true, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
	// Pooled rows 9 wide: the eight-window pooling kernels, their last
	// step overlapping.
	{x: []int{2, 2, 20, 20}, w: []int{3, 2, 3, 3}, bias: true, pool: Pool2DOptions{Kernel: [2]int{2, 2}}},
}

// TestConv2DReLUMaxPoolMatchesUnfused checks values and every gradient
// against Conv2D with ReLU followed by MaxPool2D, bit for bit, serially and
// spread over workers, with and without an arena, and with a NaN and a
// run of negative inputs (windows whose maximum is not positive).
func TestConv2DReLUMaxPoolMatchesUnfused(t *testing.T) {
	for i, tc := range convPoolCases {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%d/workers=%d", i, workers), func(t *testing.T) {
				prev := parallel.SetWorkers(workers)
				defer parallel.SetWorkers(prev)
				x, w := convRand(uint64(i+1), tc.x...), convRand(uint64(i+50), tc.w...)
				var b *tensor.Tensor
				if tc.bias {
					b = convRand(uint64(i+99), tc.w[0])
				}
				x.Data()[len(x.Data())/2] = float32(math.NaN())
				clear(x.Data()[:len(x.Data())/4]) // with the bias alone some windows stay ≤ 0
				run := func(fused bool, a *Arena) []*tensor.Tensor {
					xv, wv := NewVar(x), NewVar(w)
					var bv *Var
					if b != nil {
						bv = NewVar(b)
					}
					in := xv
					if a != nil {
						a.Reset()
						in = Add(a.Constant(tensor.Zeros(tc.x...)), xv)
					}
					var y *Var
					if fused {
						y = Conv2DReLUMaxPool(in, wv, bv, tc.opt, tc.pool)
					} else {
						opt := tc.opt
						opt.ReLU = true
						y = MaxPool2D(Conv2D(in, wv, bv, opt), tc.pool)
					}
					gy := convRand(uint64(i+7), y.Shape()...)
					y.BackwardWith(gy)
					out := []*tensor.Tensor{y.Value().Clone(), xv.Grad(), wv.Grad()}
					if bv != nil {
						out = append(out, bv.Grad())
					}
					return out
				}
				want := run(false, nil)
				for _, a := range []*Arena{nil, NewArena()} {
					got := run(true, a)
					if a != nil {
						got = run(true, a) // reused buffers
					}
					for j := range want {
						require.Equal(t, want[j].Shape(), got[j].Shape(), "tensor %d", j)
						require.Equal(t, fmt.Sprint(want[j].Data()), fmt.Sprint(got[j].Data()), "tensor %d (arena %v)", j, a != nil)
					}
				}
			})
		}
	}
}

func TestConv2DReLUMaxPoolGrad(t *testing.T) {
	for i, tc := range convPoolCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			inputs := []*tensor.Tensor{convRand(uint64(i+1), tc.x...), convRand(uint64(i+50), tc.w...)}
			if tc.bias {
				inputs = append(inputs, convRand(uint64(i+99), tc.w[0]))
			}
			res, err := CheckGrad(func(xs ...*Var) *Var {
				var b *Var
				if len(xs) == 3 {
					b = xs[2]
				}
				return Conv2DReLUMaxPool(xs[0], xs[1], b, tc.opt, tc.pool)
			}, inputs, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
	}
}

func TestConv2DReLUMaxPoolInference(t *testing.T) {
	// Without gradients the op records nothing and gives the same values
	// (the 2×2 window has a path of its own that keeps no winners).
	for i, tc := range convPoolCases {
		x, w, b := convRand(uint64(i+1), tc.x...), convRand(uint64(i+2), tc.w...), convRand(uint64(i+3), tc.w[0])
		x.Data()[1] = float32(math.NaN())
		opt := tc.opt
		opt.ReLU = true
		want := MaxPool2D(Conv2D(Constant(x), Constant(w), Constant(b), opt), tc.pool).Value()
		a := NewArena()
		got := Conv2DReLUMaxPool(a.Input(x), NewVar(w), NewVar(b), tc.opt, tc.pool)
		require.True(t, got.Inference())
		require.Equal(t, fmt.Sprint(want.Data()), fmt.Sprint(got.Value().Data()), "case %d", i)
	}
}

func TestConv2DReLUMaxPoolPanics(t *testing.T) {
	x, w := Constant(tensor.Zeros(1, 2, 4, 4)), Constant(tensor.Zeros(3, 2, 3, 3))
	require.PanicsWithValue(t, "autograd.Conv2DReLUMaxPool: bias [2] does not match weight [3 2 3 3] (want [3])", func() {
		Conv2DReLUMaxPool(x, w, Constant(tensor.Zeros(2)), Conv2DOptions{}, Pool2DOptions{Kernel: [2]int{2, 2}})
	})
	require.Panics(t, func() { // a 2×2 output cannot hold a 3×3 window
		Conv2DReLUMaxPool(x, w, nil, Conv2DOptions{}, Pool2DOptions{Kernel: [2]int{3, 3}})
	})
}

// TestConv2DReLUMaxPoolInferenceAllocatesNothing checks that, once warm, a
// no-grad call through an arena allocates nothing on one worker, for the
// 2×2 window and a general one (the pooling geometry and the input shape
// it is checked against stay off the heap).
func TestConv2DReLUMaxPoolInferenceAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	prev := parallel.SetWorkers(1)
	defer parallel.SetWorkers(prev)
	x := convRand(1, 1, 4, 13, 13)
	w, b := NewVar(convRand(2, 8, 4, 3, 3)), NewVar(convRand(3, 8))
	a := NewArena()
	for _, pool := range []Pool2DOptions{{Kernel: [2]int{2, 2}}, {Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}}} {
		run := func() {
			a.Reset()
			Conv2DReLUMaxPool(a.Input(x), w, b, Conv2DOptions{}, pool)
		}
		run()
		require.Zero(t, testalloc.PerRun(20, run), "window %v", pool.Kernel)
	}
}

// TestConv2DReLUMaxPoolDirectMatchesUnfused checks the single-channel 3×3
// layers that take the direct kernel (the Keras convnet's first layer,
// with an input that needs no gradient) against Conv2D with ReLU and
// MaxPool2D on the GEMM path: values, winners (through the weight and bias
// gradients) and inference outputs bit for bit, with and without a bias,
// with ties (a run of zeros) and a NaN. The gradients are compared with
// the same op on the GEMM path (the unfused ops' backward sums in another
// order).
func TestConv2DReLUMaxPoolDirectMatchesUnfused(t *testing.T) {
	for i, tc := range []struct {
		x, w []int
		bias bool
	}{
		{x: []int{5, 1, 28, 28}, w: []int{32, 1, 3, 3}, bias: true},
		{x: []int{3, 1, 29, 21}, w: []int{7, 1, 3, 3}},
		{x: []int{2, 1, 6, 40}, w: []int{3, 1, 3, 3}, bias: true},
	} {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%d/workers=%d", i, workers), func(t *testing.T) {
				prev := parallel.SetWorkers(workers)
				defer parallel.SetWorkers(prev)
				x, w := convRand(uint64(i+1), tc.x...), convRand(uint64(i+50), tc.w...)
				var b *tensor.Tensor
				if tc.bias {
					b = convRand(uint64(i+99), tc.w[0])
				}
				x.Data()[len(x.Data())/2] = float32(math.NaN())
				clear(x.Data()[:len(x.Data())/4])
				pool := Pool2DOptions{Kernel: [2]int{2, 2}}
				run := func(fused, grad bool) []*tensor.Tensor {
					directConv = fused
					defer func() { directConv = true }()
					mk := Constant
					if grad {
						mk = NewVar
					}
					xv, wv := Constant(x), mk(w)
					var bv *Var
					if b != nil {
						bv = mk(b)
					}
					y := Conv2DReLUMaxPool(xv, wv, bv, Conv2DOptions{}, pool)
					out := []*tensor.Tensor{y.Value().Clone()}
					if fused {
						unfused := MaxPool2D(Conv2D(xv, wv, bv, Conv2DOptions{ReLU: true}), pool)
						out = append(out, unfused.Value().Clone())
					}
					if grad {
						y.BackwardWith(convRand(uint64(i+7), y.Shape()...))
						out = append(out, wv.Grad())
						if bv != nil {
							out = append(out, bv.Grad())
						}
					}
					return out
				}
				for _, grad := range []bool{false, true} {
					want, got := run(false, grad), run(true, grad)
					require.Len(t, got, len(want)+1)
					// The unfused ops' values, after the fused op's.
					want = append([]*tensor.Tensor{want[0], want[0]}, want[1:]...)
					for j := range want {
						require.Equal(t, want[j].Shape(), got[j].Shape(), "tensor %d", j)
						for k, v := range want[j].Data() {
							require.Equal(t, math.Float32bits(v), math.Float32bits(got[j].Data()[k]), "grad %v tensor %d element %d", grad, j, k)
						}
					}
				}
			})
		}
	}
}
