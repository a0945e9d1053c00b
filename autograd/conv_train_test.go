package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestConvChunksMatchPerSample checks the training passes, which unfold
// and multiply several samples at once (chunks of 2, 5 and 9 samples with
// a shorter last chunk at batches 7, 17 and 33), against the same ops run
// on each sample alone (one-sample chunks): values, input gradients, and
// weight and bias gradients summed over the samples, for Conv2D with and
// without the fused ReLU and for Conv2DReLUMaxPool, with padding, stride,
// a rectangular kernel, groups, dilation, a 1×1 kernel, no bias and both
// orientations of the weight gradient's product, with
// and without an arena (saved columns), on one worker and three.
func TestConvChunksMatchPerSample(t *testing.T) {
	cases := []struct {
		x, w []int
		bias bool
		opt  Conv2DOptions
		pool *Pool2DOptions
	}{
		{x: []int{7, 1, 12, 12}, w: []int{5, 1, 3, 3}, bias: true, pool: &Pool2DOptions{Kernel: [2]int{2, 2}}},
		{x: []int{17, 3, 9, 8}, w: []int{4, 3, 3, 2}, bias: true, opt: Conv2DOptions{Stride: [2]int{1, 2}, Padding: [2]int{1, 1}}},
		{x: []int{33, 4, 7, 7}, w: []int{6, 2, 3, 3}, bias: true, opt: Conv2DOptions{Groups: 2, Dilation: [2]int{2, 1}, Padding: [2]int{2, 1}},
			pool: &Pool2DOptions{Kernel: [2]int{3, 2}, Stride: [2]int{1, 2}}},
		{x: []int{17, 3, 5, 6}, w: []int{2, 3, 1, 1}},
		{x: []int{7, 2, 6, 6}, w: []int{3, 2, 2, 2}, opt: Conv2DOptions{Stride: [2]int{2, 2}}, pool: &Pool2DOptions{Kernel: [2]int{1, 1}}},
		// More output channels than the 18 unfolded rows: the weight
		// gradient's product is not transposed.
		{x: []int{7, 2, 6, 6}, w: []int{20, 2, 3, 3}, bias: true},
	}
	for i, tc := range cases {
		x, w := convRand(uint64(i+1), tc.x...), convRand(uint64(i+2), tc.w...)
		var b *tensor.Tensor
		if tc.bias {
			b = convRand(uint64(i+3), tc.w[0])
		}
		n, inSz := tc.x[0], x.Size()/tc.x[0]
		for _, relu := range []bool{false, true} {
			if tc.pool != nil && !relu {
				continue
			}
			// run trains on samples [s0, s1) and returns y, gx, gw, gb.
			run := func(a *Arena, s0, s1 int, gyAll *tensor.Tensor) []*tensor.Tensor {
				shape := append([]int{s1 - s0}, tc.x[1:]...)
				xs := tensor.New(x.Data()[s0*inSz:s1*inSz], shape...)
				xv, wv := NewVar(xs), NewVar(w)
				var bv *Var
				if b != nil {
					bv = NewVar(b)
				}
				in := xv
				if a != nil {
					a.Reset()
					in = Add(a.Constant(tensor.Zeros(shape...)), xv)
				}
				opt := tc.opt
				opt.ReLU = relu
				var y *Var
				if tc.pool != nil {
					y = Conv2DReLUMaxPool(in, wv, bv, opt, *tc.pool)
				} else {
					y = Conv2D(in, wv, bv, opt)
				}
				per := y.Value().Size() / y.Shape()[0]
				y.BackwardWith(tensor.New(gyAll.Data()[s0*per:s1*per], y.Shape()...))
				out := []*tensor.Tensor{y.Value().Clone(), xv.Grad(), wv.Grad()}
				if bv != nil {
					out = append(out, bv.Grad())
				}
				return out
			}
			// The output's shape, from one sample.
			probe := run(nil, 0, 1, tensor.Zeros(1<<16))
			yShape := append([]int{n}, probe[0].Shape()[1:]...)
			gy := convRand(uint64(i+4), yShape...)
			// The reference: one sample at a time, serially.
			prev := parallel.SetWorkers(1)
			want := make([][]float32, len(probe))
			for s := range n {
				one := run(nil, s, s+1, gy)
				want[0] = append(want[0], one[0].Data()...)
				want[1] = append(want[1], one[1].Data()...)
				for j := 2; j < len(one); j++ {
					if want[j] == nil {
						want[j] = make([]float32, one[j].Size())
					}
					for k, v := range one[j].Data() {
						want[j][k] += v
					}
				}
			}
			parallel.SetWorkers(prev)
			for _, workers := range []int{1, 3} {
				for _, a := range []*Arena{nil, NewArena()} {
					name := fmt.Sprintf("case %d relu %v workers %d arena %v", i, relu, workers, a != nil)
					prev := parallel.SetWorkers(workers)
					got := run(a, 0, n, gy)
					if a != nil {
						got = run(a, 0, n, gy) // reused buffers
					}
					parallel.SetWorkers(prev)
					for j := range want {
						require.Len(t, got[j].Data(), len(want[j]), "%s tensor %d", name, j)
						for k, v := range want[j] {
							require.InDelta(t, v, got[j].Data()[k], 1e-4*(1+float64(abs32(v))), "%s tensor %d at %d", name, j, k)
						}
					}
				}
			}
		}
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// TestConvTapInputGrad checks the input gradient computed by the tap
// GEMMs (tapInputGrad) against the column path (GEMM and col2im) on
// unit-stride layers with padding (a padded scratch plane, cropped),
// dilation, groups, a rectangular kernel and a 1×1 kernel, alone and fused
// with pooling, at batches of 1, 7 and 17, on one worker and three; and its
// gradient numerically.
func TestConvTapInputGrad(t *testing.T) {
	defer func(v int) { tapMinChannels = v }(tapMinChannels)
	cases := []struct {
		x, w []int
		opt  Conv2DOptions
		pool bool
	}{
		{x: []int{7, 4, 13, 13}, w: []int{5, 4, 3, 3}, pool: true},
		{x: []int{1, 3, 9, 8}, w: []int{4, 3, 3, 2}, opt: Conv2DOptions{Padding: [2]int{1, 2}}},
		{x: []int{17, 4, 7, 9}, w: []int{6, 2, 3, 3}, opt: Conv2DOptions{Groups: 2, Dilation: [2]int{2, 1}, Padding: [2]int{2, 0}}},
		{x: []int{7, 3, 5, 6}, w: []int{2, 3, 1, 1}},
		{x: []int{7, 2, 6, 5}, w: []int{3, 2, 5, 5}, opt: Conv2DOptions{Padding: [2]int{2, 2}}, pool: true},
	}
	for i, tc := range cases {
		x, w, b := convRand(uint64(i+1), tc.x...), convRand(uint64(i+2), tc.w...), convRand(uint64(i+3), tc.w[0])
		run := func(tap bool) *tensor.Tensor {
			tapMinChannels = 1 << 30
			if tap {
				tapMinChannels = 1
			}
			xv := NewVar(x)
			opt := tc.opt
			opt.ReLU = true
			var y *Var
			if tc.pool {
				y = Conv2DReLUMaxPool(xv, Constant(w), Constant(b), opt, Pool2DOptions{Kernel: [2]int{2, 2}})
			} else {
				y = Conv2D(xv, Constant(w), Constant(b), opt)
			}
			y.BackwardWith(convRand(uint64(i+4), y.Shape()...))
			return xv.Grad()
		}
		for _, workers := range []int{1, 3} {
			prev := parallel.SetWorkers(workers)
			want, got := run(false), run(true)
			parallel.SetWorkers(prev)
			for k, v := range want.Data() {
				require.InDelta(t, v, got.Data()[k], 1e-4*(1+float64(abs32(v))), "case %d workers %d at %d", i, workers, k)
			}
		}
		tapMinChannels = 1
		res, err := CheckGrad(func(xs ...*Var) *Var {
			return Conv2D(xs[0], xs[1], xs[2], tc.opt)
		}, []*tensor.Tensor{convRand(uint64(i+1), append([]int{2}, tc.x[1:]...)...), w, b}, GradCheckOptions{})
		require.NoError(t, err, "case %d: %v", i, res)
	}
}

// TestConv2DWeightGradOrientations checks the weight and bias gradients
// numerically for each orientation of their product: output channels
// outnumbering 16+ unfolded rows (the columns are packed), a single input
// channel (10 rows with the bias: the output gradient is packed), and more
// unfolded rows than output channels.
func TestConv2DWeightGradOrientations(t *testing.T) {
	for _, ws := range [][]int{{20, 2, 3, 3}, {5, 1, 3, 3}, {3, 4, 3, 3}} {
		x := convRand(1, 5, ws[1], 6, 6)
		w, b := convRand(2, ws...), convRand(3, ws[0])
		res, err := CheckGrad(func(xs ...*Var) *Var {
			return Conv2D(xs[0], xs[1], xs[2], Conv2DOptions{})
		}, []*tensor.Tensor{x, w, b}, GradCheckOptions{})
		require.NoError(t, err, "weight %v: %v", ws, res)
	}
}

// TestIm2colLd checks the unfolding of several samples side by side
// against its definition, element by element, for output widths below,
// at and above the fixed-size moves (1 to 33 columns: the 16- and
// 32-value paths, their edges and the plain copies), with padding, stride,
// dilation and groups; the bias rows (one per group) are left alone.
func TestIm2colLd(t *testing.T) {
	cases := []struct {
		x, w []int
		opt  Conv2DOptions
	}{
		{x: []int{3, 2, 13, 13}, w: []int{4, 2, 3, 3}},
		{x: []int{3, 1, 28, 28}, w: []int{2, 1, 3, 3}},
		{x: []int{2, 2, 3, 1}, w: []int{2, 2, 3, 1}},
		{x: []int{2, 1, 9, 9}, w: []int{1, 1, 3, 3}, opt: Conv2DOptions{Padding: [2]int{1, 1}}},
		{x: []int{2, 2, 9, 12}, w: []int{1, 2, 3, 3}, opt: Conv2DOptions{Padding: [2]int{2, 0}}},
		{x: []int{2, 2, 10, 10}, w: []int{1, 2, 3, 3}},
		{x: []int{2, 1, 18, 18}, w: []int{1, 1, 3, 3}, opt: Conv2DOptions{Padding: [2]int{0, 1}}},
		{x: []int{2, 1, 7, 35}, w: []int{1, 1, 3, 3}},
		{x: []int{2, 1, 7, 34}, w: []int{1, 1, 2, 3}, opt: Conv2DOptions{Dilation: [2]int{2, 1}}},
		{x: []int{2, 4, 9, 40}, w: []int{4, 2, 3, 3}, opt: Conv2DOptions{Stride: [2]int{2, 1}, Groups: 2, Padding: [2]int{1, 0}}},
		{x: []int{2, 1, 9, 40}, w: []int{1, 1, 3, 3}, opt: Conv2DOptions{Stride: [2]int{1, 2}}},
		// Padded at unit horizontal stride: through a zero-bordered plane.
		{x: []int{2, 1, 28, 28}, w: []int{2, 1, 3, 3}, opt: Conv2DOptions{Padding: [2]int{1, 1}}},
		{x: []int{3, 3, 14, 14}, w: []int{2, 3, 3, 3}, opt: Conv2DOptions{Padding: [2]int{1, 1}}},
		{x: []int{2, 2, 7, 5}, w: []int{2, 2, 3, 3}, opt: Conv2DOptions{Padding: [2]int{2, 3}}},
		{x: []int{2, 1, 11, 33}, w: []int{1, 1, 3, 3}, opt: Conv2DOptions{Padding: [2]int{1, 1}, Dilation: [2]int{2, 2}}},
		{x: []int{2, 2, 13, 31}, w: []int{2, 1, 3, 3}, opt: Conv2DOptions{Padding: [2]int{1, 1}, Stride: [2]int{2, 1}, Groups: 2}},
		{x: []int{1, 1, 1, 1}, w: []int{1, 1, 3, 3}, opt: Conv2DOptions{Padding: [2]int{1, 1}}},
	}
	sentinel := float32(math.Inf(-1))
	for i, tc := range cases {
		g := newConvGeom(tc.x, tc.w, tc.opt)
		x := convRand(uint64(i+1), tc.x...).Data()
		rows := g.ckk + 1 // a bias row per group
		ld := g.n * g.l
		dst := make([]float32, g.groups*rows*ld)
		for k := range dst {
			dst[k] = sentinel
		}
		for s := range g.n {
			g.im2colLd(dst[s*g.l:], x[s*g.inSize:(s+1)*g.inSize], rows, ld)
		}
		for s := range g.n {
			for gi := range g.groups {
				for r := range rows {
					for p := range g.l {
						got := dst[(gi*rows+r)*ld+s*g.l+p]
						if r == g.ckk {
							require.Equal(t, sentinel, got, "case %d: bias row written", i)
							continue
						}
						c := gi*g.cg + r/(g.kh*g.kw)
						ki, kj := r%(g.kh*g.kw)/g.kw, r%g.kw
						ih := p/g.ow*g.sh - g.ph + ki*g.dh
						iw := p%g.ow*g.sw - g.pw + kj*g.dw
						var want float32
						if ih >= 0 && ih < g.h && iw >= 0 && iw < g.w {
							want = x[s*g.inSize+(c*g.h+ih)*g.w+iw]
						}
						require.Equal(t, want, got, "case %d sample %d group %d row %d position %d", i, s, gi, r, p)
					}
				}
			}
		}
	}
}

// TestConvnetTrainingStepAllocations is a small Keras-convnet training
// step (two Conv2DReLUMaxPool layers, Flatten, Dropout, Linear, softmax
// cross-entropy, Backward) through an arena, on one worker and on two:
// once warm, the step allocates only a few records per op and pass (25
// on one worker, 35–38 on two), none per sample or chunk.
func TestConvnetTrainingStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const n = 16
	x := convRand(1, n, 1, 28, 28)
	w1, b1 := NewVar(convRand(2, 32, 1, 3, 3)), NewVar(convRand(3, 32))
	w2, b2 := NewVar(convRand(4, 64, 32, 3, 3)), NewVar(convRand(5, 64))
	wd, bd := NewVar(convRand(6, 10, 64*5*5)), NewVar(convRand(7, 10))
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 10
	}
	pool := Pool2DOptions{Kernel: [2]int{2, 2}}
	r := rand.New(rand.NewPCG(1, 2))
	a := NewArena()
	params := []*Var{w1, b1, w2, b2, wd, bd}
	run := func() {
		a.Reset()
		h := Conv2DReLUMaxPool(a.Constant(x), w1, b1, Conv2DOptions{}, pool)
		h = Conv2DReLUMaxPool(h, w2, b2, Conv2DOptions{}, pool)
		h = Dropout(Flatten(h), 0.5, r)
		SoftmaxCrossEntropy(Linear(h, wd, bd), labels, 0, ReduceMean).Backward()
		for _, p := range params {
			p.ZeroGrad()
		}
	}
	for _, workers := range []int{1, 2} {
		prev := parallel.SetWorkers(workers)
		run()
		allocs := testalloc.PerRun(10, run)
		parallel.SetWorkers(prev)
		t.Logf("workers %d: %v allocations per step", workers, allocs)
		require.LessOrEqual(t, allocs, float64(30+5*workers), "workers %d", workers)
	}
}

// TestConvGradientsIndependentOfWorkers checks that the values and
// gradients of a training step are the same, bit for bit, on one, two and
// three workers: the weight gradient is summed over fixed groups of
// chunks, added in group order, whichever worker computed them.
func TestConvGradientsIndependentOfWorkers(t *testing.T) {
	x, w, b := convRand(1, 33, 4, 9, 9), convRand(2, 6, 4, 3, 3), convRand(3, 6)
	run := func(workers int) []*tensor.Tensor {
		prev := parallel.SetWorkers(workers)
		defer parallel.SetWorkers(prev)
		xv, wv, bv := NewVar(x), NewVar(w), NewVar(b)
		y := Conv2DReLUMaxPool(xv, wv, bv, Conv2DOptions{Padding: [2]int{1, 1}}, Pool2DOptions{Kernel: [2]int{2, 2}})
		y.BackwardWith(convRand(4, y.Shape()...))
		return []*tensor.Tensor{y.Value(), xv.Grad(), wv.Grad(), bv.Grad()}
	}
	want := run(1)
	for _, workers := range []int{2, 3} {
		got := run(workers)
		for j := range want {
			require.Equal(t, want[j].Data(), got[j].Data(), "workers %d tensor %d", workers, j)
		}
	}
}

// TestGroupSpan checks that the groups of a parallel pass cover the chunks
// in order, each chunk once, and differ in size by at most one chunk.
func TestGroupSpan(t *testing.T) {
	for _, chunks := range []int{1, 2, 7, 8, 9, 15, 43, 128} {
		groups := chunkGroups(chunks)
		require.Equal(t, min(chunks, convGroups), groups, "chunks %d", chunks)
		next, lo, hi := 0, chunks, 0
		for gi := range groups {
			c0, c1 := groupSpan(gi, groups, chunks)
			require.Equal(t, next, c0, "chunks %d group %d", chunks, gi)
			require.Less(t, c0, c1, "chunks %d group %d", chunks, gi)
			lo, hi = min(lo, c1-c0), max(hi, c1-c0)
			next = c1
		}
		require.Equal(t, chunks, next, "chunks %d", chunks)
		require.LessOrEqual(t, hi-lo, 1, "chunks %d: groups of %d to %d chunks", chunks, lo, hi)
	}
}
