package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
)

// withWinograd runs f with the Winograd path, in inference and training,
// taken from minC channels and any number of tiles.
func withWinograd(minC int, f func()) {
	prevC, prevTC, prevT := winoMinChannels, winoTrainMinChannels, winoMinTiles
	winoMinChannels, winoTrainMinChannels, winoMinTiles = minC, minC, 1
	defer func() { winoMinChannels, winoTrainMinChannels, winoMinTiles = prevC, prevTC, prevT }()
	f()
}

// winoCases are 3×3, unit-stride shapes with odd and even planes (odd
// outputs leave half-used tiles at the edges), padding 0 and 1, batches of
// 1 and 3 (more than one pass when the tiles of one sample are few) and
// channel counts 1, 5, 33; paddings 2 and 3 for the input gradient (a
// convolution padded by 2 − padding).
var winoCases = []struct {
	x    []int
	oc   int
	pad  int
	padW int // added to pad across
	bias bool
}{
	{x: []int{1, 1, 5, 5}, oc: 1, bias: true},
	{x: []int{3, 5, 7, 6}, oc: 5, pad: 1, bias: true},
	{x: []int{1, 33, 13, 13}, oc: 5, pad: 0},
	{x: []int{3, 5, 9, 4}, oc: 33, pad: 1, bias: true},
	{x: []int{3, 2, 3, 3}, oc: 3, pad: 0, bias: true},
	{x: []int{2, 3, 30, 31}, oc: 4, pad: 1},
	{x: []int{2, 3, 5, 4}, oc: 2, pad: 2, bias: true},
	{x: []int{2, 2, 6, 5}, oc: 3, pad: 0, padW: 1},
	{x: []int{1, 3, 5, 5}, oc: 2, pad: 2, padW: -1, bias: true},
	{x: []int{1, 2, 4, 5}, oc: 3, pad: 3}, // the input gradient falls back to the GEMM
}

func TestWinogradMatchesReference(t *testing.T) {
	for i, tc := range winoCases {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprint(i, "/", workers), func(t *testing.T) {
				prev := parallel.SetWorkers(workers)
				defer parallel.SetWorkers(prev)
				x, w := convRand(uint64(i+1), tc.x...), convRand(uint64(i+50), tc.oc, tc.x[1], 3, 3)
				var b *tensor.Tensor
				var bv *Var
				if tc.bias {
					b = convRand(uint64(i+99), tc.oc)
					bv = Constant(b)
				}
				opt := Conv2DOptions{Padding: [2]int{tc.pad, tc.pad + tc.padW}}
				g := newConvGeom(x.Shape(), w.Shape(), opt)
				var got *tensor.Tensor
				withWinograd(1, func() {
					require.True(t, g.winograd())
					got = Conv2D(Constant(x), Constant(w), bv, opt).Value()
				})
				want := naiveConv2D(x, w, b, opt)
				require.Equal(t, want.Shape(), got.Shape())
				// Float32 rounding of sums over 9·C products of values in
				// [−1, 1]: relative to the scale of the terms.
				tol := 2e-6 * float32(9*tc.x[1])
				require.True(t, tensor.AllClose(want, got, tol, 1e-5), "max diff %v", tensor.MaxAbsDiff(want, got))
			})
		}
	}
}

func TestWinogradGrad(t *testing.T) {
	withWinograd(1, func() {
		for _, i := range []int{0, 1, 2, 6, 7, 8, 9} {
			tc := winoCases[i]
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				inputs := []*tensor.Tensor{convRand(uint64(i+1), tc.x...), convRand(uint64(i+50), tc.oc, tc.x[1], 3, 3)}
				if tc.bias {
					inputs = append(inputs, convRand(uint64(i+99), tc.oc))
				}
				res, err := CheckGrad(func(xs ...*Var) *Var {
					var b *Var
					if len(xs) == 3 {
						b = xs[2]
					}
					return Conv2D(xs[0], xs[1], b, Conv2DOptions{Padding: [2]int{tc.pad, tc.pad + tc.padW}})
				}, inputs, GradCheckOptions{})
				require.NoError(t, err, "%v", res)
			})
		}
	})
}

// TestWinogradFusedPoolMatchesUnfused checks Conv2DReLUMaxPool on the
// Winograd path (values, winners through the gradients) against
// Conv2D, ReLU and MaxPool2D run separately on the im2col path.
func TestWinogradFusedPoolMatchesUnfused(t *testing.T) {
	x, w, b := convRand(1, 3, 5, 9, 8), convRand(2, 6, 5, 3, 3), convRand(3, 6)
	gy := convRand(4, 3, 6, 4, 4)
	opt := Conv2DOptions{Padding: [2]int{1, 1}}
	pool := Pool2DOptions{Kernel: [2]int{2, 2}}
	run := func(fused bool) []*tensor.Tensor {
		xv, wv, bv := NewVar(x), NewVar(w), NewVar(b)
		var y *Var
		if fused {
			withWinograd(1, func() {
				y = Conv2DReLUMaxPool(xv, wv, bv, opt, pool)
				y.BackwardWith(gy)
			})
		} else {
			y = MaxPool2D(ReLU(Conv2D(xv, wv, bv, opt)), pool)
			y.BackwardWith(gy)
		}
		return []*tensor.Tensor{y.Value(), xv.Grad(), wv.Grad(), bv.Grad()}
	}
	want, got := run(false), run(true)
	for j := range want {
		require.Equal(t, want[j].Shape(), got[j].Shape())
		require.True(t, tensor.AllClose(want[j], got[j], 1e-4, 1e-5), "tensor %d: max diff %v", j, tensor.MaxAbsDiff(want[j], got[j]))
	}
}

// TestWinogradInferencePoolReLU checks Conv2DReLUMaxPool at inference on
// the Winograd path with a pooling other than 2×2 against the three ops
// run separately: the outputs are rectified.
func TestWinogradInferencePoolReLU(t *testing.T) {
	x, w, b := convRand(1, 2, 4, 9, 9), convRand(2, 8, 4, 3, 3), convRand(3, 8)
	pool := Pool2DOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}}
	var got *tensor.Tensor
	withWinograd(1, func() {
		got = Conv2DReLUMaxPool(Constant(x), Constant(w), Constant(b), Conv2DOptions{}, pool).Value()
	})
	want := MaxPool2D(ReLU(Conv2D(Constant(x), Constant(w), Constant(b), Conv2DOptions{})), pool).Value()
	require.True(t, tensor.AllClose(want, got, 1e-5, 1e-5), "max diff %v", tensor.MaxAbsDiff(want, got))
}

// TestWinogradArenaTraining trains one step under an arena, where the
// Winograd forward keeps no columns and the backward runs the Winograd
// passes, spread over workers, and checks the output and every gradient
// against the im2col path without an arena.
func TestWinogradArenaTraining(t *testing.T) {
	prev := parallel.SetWorkers(3)
	defer parallel.SetWorkers(prev)
	x, w, b := convRand(1, 5, 5, 7, 6), convRand(2, 6, 5, 3, 3), convRand(3, 6)
	gy := convRand(4, 5, 6, 7, 6)
	opt := Conv2DOptions{Padding: [2]int{1, 1}, ReLU: true}
	run := func(a *Arena) []*tensor.Tensor {
		xv, wv, bv := NewVar(x), NewVar(w), NewVar(b)
		in := xv
		if a != nil {
			a.Reset()
			in = a.Constant(x)
			in.SetRequiresGrad(true)
		}
		y := Conv2D(in, wv, bv, opt)
		y.BackwardWith(gy)
		return []*tensor.Tensor{y.Value().Clone(), in.Grad().Clone(), wv.Grad(), bv.Grad()}
	}
	want := run(nil)
	a := NewArena()
	for step := range 2 { // the second step reuses the arena's buffers
		var got []*tensor.Tensor
		withWinograd(1, func() { got = run(a) })
		for j := range want {
			require.True(t, tensor.AllClose(want[j], got[j], 1e-4, 1e-5), "step %d, tensor %d: max diff %v", step, j, tensor.MaxAbsDiff(want[j], got[j]))
		}
	}
}

// TestWinogradInferenceAllocatesNothing checks that the Winograd path,
// plain and fused with pooling, allocates nothing under an arena once its
// scratch buffers are warm.
func TestWinogradInferenceAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	prev := parallel.SetWorkers(1)
	defer parallel.SetWorkers(prev)
	x := convRand(1, 2, 4, 13, 13)
	w, b := NewVar(convRand(2, 8, 4, 3, 3)), NewVar(convRand(3, 8))
	a := NewArena()
	withWinograd(1, func() {
		run := func() {
			a.Reset()
			Conv2D(a.Input(x), w, b, Conv2DOptions{ReLU: true})
			Conv2DReLUMaxPool(a.Input(x), w, b, Conv2DOptions{}, Pool2DOptions{Kernel: [2]int{2, 2}})
		}
		run()
		require.Zero(t, testalloc.PerRun(20, run))
	})
}

// TestWinogradDispatch checks which layers take the Winograd path at the
// default thresholds.
func TestWinogradDispatch(t *testing.T) {
	for _, tc := range []struct {
		x, w []int
		opt  Conv2DOptions
		want bool
	}{
		{x: []int{4, 64, 13, 13}, w: []int{64, 64, 3, 3}, want: true},
		{x: []int{1, 64, 28, 28}, w: []int{128, 64, 3, 3}, opt: Conv2DOptions{Padding: [2]int{1, 1}}, want: true},
		{x: []int{1, 64, 13, 13}, w: []int{64, 64, 3, 3}},  // 36 tiles: too few
		{x: []int{64, 32, 13, 13}, w: []int{64, 32, 3, 3}}, // the Keras convnet's second layer
		{x: []int{4, 64, 13, 13}, w: []int{64, 64, 3, 3}, opt: Conv2DOptions{Stride: [2]int{2, 1}}},
		{x: []int{4, 64, 13, 13}, w: []int{64, 64, 3, 3}, opt: Conv2DOptions{Dilation: [2]int{1, 2}}},
		{x: []int{4, 64, 13, 13}, w: []int{64, 32, 3, 3}, opt: Conv2DOptions{Groups: 2}},
		{x: []int{4, 64, 13, 13}, w: []int{64, 64, 3, 2}},
	} {
		g := newConvGeom(tc.x, tc.w, tc.opt)
		require.Equal(t, tc.want, g.winograd(), "input %v, weight %v, %+v", tc.x, tc.w, tc.opt)
	}
}
