package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// withWinoTrain runs f with the Winograd training passes taken by every
// 3×3 unit-stride layer (on) or by none (off, the im2col passes).
func withWinoTrain(on bool, f func()) {
	prevTC, prevC, prevT := winoTrainMinChannels, winoMinChannels, winoMinTiles
	defer func() { winoTrainMinChannels, winoMinChannels, winoMinTiles = prevTC, prevC, prevT }()
	if on {
		winoTrainMinChannels, winoMinTiles = 1, 1
	} else {
		winoTrainMinChannels, winoMinChannels = 1<<30, 1<<30
	}
	f()
}

// winoTrainCase is one training step of a 3×3 layer: Conv2D (with or
// without the fused ReLU) or, with pool set, Conv2DReLUMaxPool.
type winoTrainCase struct {
	x        []int // [N, C, H, W]
	oc       int
	pad      [2]int
	relu     bool
	pool     *Pool2DOptions
	noBias   bool
	gradOnly bool // no input gradient (a first layer)
}

var (
	pool2x2 = &Pool2DOptions{Kernel: [2]int{2, 2}}
	pool3s2 = &Pool2DOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}}
	pool2p1 = &Pool2DOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}}
)

// winoTrainCases cover batches 1, 7 and 17 (one pass, several passes per
// group, more groups than workers), odd and even planes (a last output
// row or column the 2×2 pooling leaves out, half-used tiles at the edges
// without pooling), paddings 0 and 1 (and unequal), channel counts below,
// at and past the 8 lanes of the transforms' assembly, the 2×2 pooling
// (tiles under its windows) and other poolings (tiles over the whole
// output, pooled afterwards), and planes of a single tile.
var winoTrainCases = []winoTrainCase{
	{x: []int{1, 5, 13, 13}, oc: 9, pool: pool2x2},
	{x: []int{7, 5, 12, 10}, oc: 9, pad: [2]int{1, 1}, pool: pool2x2},
	{x: []int{17, 3, 9, 14}, oc: 16, pool: pool2x2},
	{x: []int{7, 8, 11, 8}, oc: 7, pad: [2]int{0, 1}, pool: pool2x2, noBias: true},
	{x: []int{7, 6, 13, 13}, oc: 4, pad: [2]int{1, 1}, relu: true},
	{x: []int{1, 9, 8, 11}, oc: 17, noBias: true},
	{x: []int{17, 5, 11, 12}, oc: 9, pad: [2]int{1, 0}, relu: true},
	{x: []int{7, 5, 12, 13}, oc: 8, pool: pool3s2},
	{x: []int{1, 8, 10, 10}, oc: 8, pad: [2]int{1, 1}, pool: pool2p1},
	{x: []int{7, 4, 7, 6}, oc: 5, pool: pool2x2, gradOnly: true},
	{x: []int{5, 1, 8, 8}, oc: 4, pool: pool2x2, gradOnly: true},   // a first layer's few taps
	{x: []int{3, 4, 4, 5}, oc: 5, pool: pool2x2},                   // one window, a column left out
	{x: []int{2, 5, 3, 3}, oc: 6, relu: true},                      // one output, in one tile
	{x: []int{4, 3, 1, 2}, oc: 9, pad: [2]int{1, 1}, noBias: true}, // a 1×2 input, padded
}

// run returns the output and the gradients of the input, the filters and
// the bias of one training step.
func (tc winoTrainCase) run(seed uint64) []*tensor.Tensor {
	x, w, b := convRand(seed, tc.x...), convRand(seed+1, tc.oc, tc.x[1], 3, 3), convRand(seed+2, tc.oc)
	xv, wv := NewVar(x), NewVar(w)
	if tc.gradOnly {
		xv = Constant(x)
	}
	var bv *Var
	if !tc.noBias {
		bv = NewVar(b)
	}
	opt := Conv2DOptions{Padding: tc.pad, ReLU: tc.relu}
	var y *Var
	if tc.pool != nil {
		y = Conv2DReLUMaxPool(xv, wv, bv, opt, *tc.pool)
	} else {
		y = Conv2D(xv, wv, bv, opt)
	}
	y.BackwardWith(convRand(seed+3, y.Shape()...))
	out := []*tensor.Tensor{y.Value(), wv.Grad()}
	if !tc.gradOnly {
		out = append(out, xv.Grad())
	}
	if bv != nil {
		out = append(out, bv.Grad())
	}
	return out
}

// TestWinogradTrainMatchesIm2col checks a training step on the Winograd
// passes against the im2col passes: the output and every gradient agree
// to float32 rounding, on one worker and on two.
func TestWinogradTrainMatchesIm2col(t *testing.T) {
	for i, tc := range winoTrainCases {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprint(i, "/", workers), func(t *testing.T) {
				prev := parallel.SetWorkers(workers)
				defer parallel.SetWorkers(prev)
				var want, got []*tensor.Tensor
				withWinoTrain(false, func() {
					g := newConvGeom(tc.x, []int{tc.oc, tc.x[1], 3, 3}, Conv2DOptions{Padding: tc.pad})
					require.False(t, g.winoTrain())
					want = tc.run(uint64(10 * i))
				})
				withWinoTrain(true, func() {
					g := newConvGeom(tc.x, []int{tc.oc, tc.x[1], 3, 3}, Conv2DOptions{Padding: tc.pad})
					require.True(t, g.winoTrain())
					got = tc.run(uint64(10 * i))
				})
				require.Len(t, got, len(want))
				for j := range want {
					require.Equal(t, want[j].Shape(), got[j].Shape(), "tensor %d", j)
					// Sums of 9·C (output, input gradient) or of
					// N·oh·ow (weight gradient) products of values in
					// [−1, 1].
					require.True(t, tensor.AllClose(want[j], got[j], 1e-4, 2e-5), "tensor %d: max diff %v", j, tensor.MaxAbsDiff(want[j], got[j]))
				}
			})
		}
	}
}

// TestWinogradTrainGrad checks the Winograd training passes against
// numerical gradients, fused with the ReLU and the 2×2 pooling, with
// another pooling and plain.
func TestWinogradTrainGrad(t *testing.T) {
	cases := []struct {
		x    []int
		oc   int
		pad  [2]int
		pool *Pool2DOptions
	}{
		{x: []int{2, 3, 6, 7}, oc: 4, pad: [2]int{1, 1}, pool: pool2x2},
		{x: []int{1, 9, 5, 5}, oc: 3, pool: pool2x2},
		{x: []int{2, 2, 7, 6}, oc: 3, pool: pool3s2},
		{x: []int{3, 2, 5, 6}, oc: 9, pad: [2]int{0, 1}},
	}
	withWinoTrain(true, func() {
		for i, tc := range cases {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				inputs := []*tensor.Tensor{convRand(uint64(i+1), tc.x...), convRand(uint64(i+50), tc.oc, tc.x[1], 3, 3), convRand(uint64(i+99), tc.oc)}
				res, err := CheckGrad(func(xs ...*Var) *Var {
					opt := Conv2DOptions{Padding: tc.pad}
					if tc.pool != nil {
						return Conv2DReLUMaxPool(xs[0], xs[1], xs[2], opt, *tc.pool)
					}
					return Conv2D(xs[0], xs[1], xs[2], opt)
				}, inputs, GradCheckOptions{})
				require.NoError(t, err, "%v", res)
			})
		}
	})
}

// TestWinogradTrainIndependentOfWorkers checks that the Winograd training
// passes give the same output and gradients, bit for bit, on one, two and
// three workers: the weight gradient is summed over fixed groups of
// passes, added in group order.
func TestWinogradTrainIndependentOfWorkers(t *testing.T) {
	for _, tc := range []winoTrainCase{
		{x: []int{33, 5, 13, 13}, oc: 9, pool: pool2x2},
		{x: []int{33, 4, 9, 8}, oc: 6, pad: [2]int{1, 1}, relu: true},
		// 16·40·16 partial weight gradients: their sum and the filters'
		// gradient are spread over the workers too.
		{x: []int{9, 16, 6, 6}, oc: 40, pool: pool2x2},
		// 33·32 filters: their transforms are spread over the workers.
		{x: []int{3, 32, 6, 6}, oc: 33, pool: pool2x2},
	} {
		withWinoTrain(true, func() {
			run := func(workers int) []*tensor.Tensor {
				prev := parallel.SetWorkers(workers)
				defer parallel.SetWorkers(prev)
				return tc.run(7)
			}
			want := run(1)
			for _, workers := range []int{2, 3} {
				got := run(workers)
				for j := range want {
					require.Equal(t, want[j].Data(), got[j].Data(), "%v: workers %d tensor %d", tc.x, workers, j)
				}
			}
		})
	}
}

// TestWinogradTrainDispatch checks which layers train on the Winograd
// passes at the default thresholds.
func TestWinogradTrainDispatch(t *testing.T) {
	for _, tc := range []struct {
		x, w []int
		opt  Conv2DOptions
		want bool
	}{
		{x: []int{128, 32, 13, 13}, w: []int{64, 32, 3, 3}, want: true}, // the Keras convnet's second layer
		{x: []int{16, 32, 13, 13}, w: []int{64, 32, 3, 3}, opt: Conv2DOptions{Padding: [2]int{1, 1}}, want: true},
		{x: []int{4, 64, 13, 13}, w: []int{64, 64, 3, 3}, want: true},
		{x: []int{1, 32, 13, 13}, w: []int{64, 32, 3, 3}},   // 36 tiles: too few
		{x: []int{128, 1, 28, 28}, w: []int{32, 1, 3, 3}},   // the first layer
		{x: []int{128, 8, 13, 13}, w: []int{64, 8, 3, 3}},   // too few channels
		{x: []int{128, 32, 13, 13}, w: []int{64, 32, 5, 5}}, // not 3×3
		{x: []int{128, 32, 13, 13}, w: []int{64, 32, 3, 3}, opt: Conv2DOptions{Stride: [2]int{2, 2}}},
		{x: []int{128, 32, 13, 13}, w: []int{64, 32, 3, 3}, opt: Conv2DOptions{Dilation: [2]int{2, 1}}},
		{x: []int{128, 32, 13, 13}, w: []int{64, 16, 3, 3}, opt: Conv2DOptions{Groups: 2}},
	} {
		g := newConvGeom(tc.x, tc.w, tc.opt)
		require.Equal(t, tc.want, g.winoTrain(), "input %v, weight %v, %+v", tc.x, tc.w, tc.opt)
	}
}

// TestWinogradTrainPlanBalanced checks that the passes of the Winograd
// training path cover the batch in order with at most per samples each,
// and that the groups of passes the workers take hold as many samples,
// give or take one.
func TestWinogradTrainPlanBalanced(t *testing.T) {
	for _, n := range []int{1, 7, 9, 33, 100, 128, 131} {
		g := newConvGeom([]int{n, 32, 13, 13}, []int{64, 32, 3, 3}, Conv2DOptions{})
		pool := newPoolGeom("MaxPool2D", []int{n, 64, 11, 11}, Pool2DOptions{Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}})
		require.True(t, pool.is2x2())
		p := g.winoTrainPlan(&pool)
		next := 0
		for i := range p.passes {
			s0, sc := p.span(i, n)
			require.Equal(t, next, s0, "n %d pass %d", n, i)
			require.True(t, sc >= 1 && sc <= p.per, "n %d pass %d: %d samples, per %d", n, i, sc, p.per)
			next = s0 + sc
		}
		require.Equal(t, n, next, "n %d", n)
		groups := chunkGroups(p.passes)
		lo, hi := n, 0
		for gi := range groups {
			i0, i1 := groupSpan(gi, groups, p.passes)
			s0, _ := p.span(i0, n)
			s1, sc := p.span(i1-1, n)
			lo, hi = min(lo, s1+sc-s0), max(hi, s1+sc-s0)
		}
		require.LessOrEqual(t, hi-lo, 1, "n %d: %d passes in %d groups of %d to %d samples", n, p.passes, groups, lo, hi)
	}
}

// TestWinoTrainWeightsIndependentOfWorkers checks that the transformed
// filters and their transposed planes, spread over two and three workers
// in uneven ranges (1073 filters), are winoWeights' values, bit for bit,
// and that without ut only u is written.
func TestWinoTrainWeightsIndependentOfWorkers(t *testing.T) {
	const oc, c = 37, 29
	plane := oc * c
	w := rnd(3, -1, 1, oc*c*9).Data()
	want := make([]float32, 16*plane)
	winoWeights(want, w, oc, c)
	wantT := make([]float32, 16*plane)
	for xi := range 16 {
		for o := range oc {
			for ci := range c {
				wantT[xi*plane+ci*oc+o] = want[xi*plane+o*c+ci]
			}
		}
	}
	for _, workers := range []int{1, 2, 3} {
		prev := parallel.SetWorkers(workers)
		u, ut := make([]float32, 16*plane), make([]float32, 16*plane)
		winoTrainWeights(u, ut, w, oc, c)
		u2 := make([]float32, 16*plane)
		winoTrainWeights(u2, nil, w, oc, c)
		parallel.SetWorkers(prev)
		require.Equal(t, want, u, "workers %d", workers)
		require.Equal(t, wantT, ut, "workers %d", workers)
		require.Equal(t, want, u2, "workers %d, no ut", workers)
	}
}
