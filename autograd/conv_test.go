package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
)

func convRand(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandU(rand.New(rand.NewPCG(seed, 11)), -1, 1, shape...)
}

// naiveConv2D is the textbook definition, used as the reference.
func naiveConv2D(x, w, b *tensor.Tensor, o Conv2DOptions) *tensor.Tensor {
	xs, ws := x.Shape(), w.Shape()
	n, h, wd := xs[0], xs[2], xs[3]
	oc, cg, kh, kw := ws[0], ws[1], ws[2], ws[3]
	groups := max(o.Groups, 1)
	sh, sw := def1(o.Stride[0]), def1(o.Stride[1])
	dh, dw := def1(o.Dilation[0]), def1(o.Dilation[1])
	ph, pw := o.Padding[0], o.Padding[1]
	oh := (h+2*ph-dh*(kh-1)-1)/sh + 1
	ow := (wd+2*pw-dw*(kw-1)-1)/sw + 1
	ocg := oc / groups
	y := tensor.Zeros(n, oc, oh, ow)
	for s := range n {
		for o := range oc {
			gi := o / ocg
			for i := range oh {
				for j := range ow {
					var acc float64
					if b != nil {
						acc = float64(b.At(o))
					}
					for ci := range cg {
						for ki := range kh {
							for kj := range kw {
								ih, iw := i*sh-ph+ki*dh, j*sw-pw+kj*dw
								if ih < 0 || ih >= h || iw < 0 || iw >= wd {
									continue
								}
								acc += float64(x.At(s, gi*cg+ci, ih, iw)) * float64(w.At(o, ci, ki, kj))
							}
						}
					}
					y.Set(float32(acc), s, o, i, j)
				}
			}
		}
	}
	return y
}

type convCase struct {
	x, w []int
	bias bool
	opt  Conv2DOptions
}

var convCases = []convCase{
	{x: []int{2, 1, 5, 5}, w: []int{2, 1, 3, 3}, bias: true},
	{x: []int{2, 3, 6, 5}, w: []int{4, 3, 3, 3}, bias: true, opt: Conv2DOptions{Padding: [2]int{1, 1}}},
	{x: []int{1, 2, 7, 7}, w: []int{3, 2, 3, 2}, bias: true, opt: Conv2DOptions{Stride: [2]int{2, 3}, Padding: [2]int{1, 2}}},
	{x: []int{2, 2, 7, 8}, w: []int{2, 2, 3, 3}, opt: Conv2DOptions{Dilation: [2]int{2, 2}, Padding: [2]int{2, 1}}},
	{x: []int{2, 4, 5, 5}, w: []int{6, 2, 3, 3}, bias: true, opt: Conv2DOptions{Groups: 2, Padding: [2]int{1, 1}, Stride: [2]int{2, 2}}},
	{x: []int{3, 4, 3, 4}, w: []int{4, 1, 1, 1}, bias: true, opt: Conv2DOptions{Groups: 4}},
	{x: []int{2, 3, 4, 4}, w: []int{5, 3, 1, 1}, bias: true},
	{x: []int{1, 1, 4, 4}, w: []int{1, 1, 3, 3}, opt: Conv2DOptions{Padding: [2]int{3, 3}}},
}

func TestConv2DForwardMatchesReference(t *testing.T) {
	for i, tc := range convCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			x, w := convRand(uint64(i+1), tc.x...), convRand(uint64(i+50), tc.w...)
			var b *tensor.Tensor
			var bv *Var
			if tc.bias {
				b = convRand(uint64(i+99), tc.w[0])
				bv = Constant(b)
			}
			got := Conv2D(Constant(x), Constant(w), bv, tc.opt).Value()
			want := naiveConv2D(x, w, b, tc.opt)
			require.Equal(t, want.Shape(), got.Shape())
			require.True(t, tensor.AllClose(want, got, 1e-5, 1e-5), "max diff %v", tensor.MaxAbsDiff(want, got))
		})
	}
}

func TestConv2DHandComputed(t *testing.T) {
	// 1×1×3×3 input 1..9, 2×2 kernel of ones, bias 0.5: window sums.
	x := tensor.New([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3)
	w := tensor.Ones(1, 1, 2, 2)
	y := Conv2D(Constant(x), Constant(w), Constant(tensor.New([]float32{0.5}, 1)), Conv2DOptions{})
	require.Equal(t, []float32{12.5, 16.5, 24.5, 28.5}, y.Value().Data())
}

func TestConv2DGrad(t *testing.T) {
	for i, tc := range convCases {
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
				return Conv2D(xs[0], xs[1], b, tc.opt)
			}, inputs, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
	}
}

func TestConv2DParallelMatchesSerial(t *testing.T) {
	x, w, b := convRand(1, 9, 3, 8, 8), convRand(2, 4, 3, 3, 3), convRand(3, 4)
	opt := Conv2DOptions{Padding: [2]int{1, 1}}
	run := func() (y, gx, gw *tensor.Tensor) {
		xv, wv := NewVar(x.Clone()), NewVar(w.Clone())
		out := Conv2D(xv, wv, Constant(b), opt)
		SumAll(Square(out)).Backward()
		return out.Value(), xv.Grad(), wv.Grad()
	}
	prev := parallel.SetWorkers(1)
	y1, gx1, gw1 := run()
	parallel.SetWorkers(3)
	y2, gx2, gw2 := run()
	parallel.SetWorkers(prev)
	require.True(t, tensor.AllClose(y1, y2, 1e-5, 1e-5))
	require.True(t, tensor.AllClose(gx1, gx2, 1e-5, 1e-5))
	require.True(t, tensor.AllClose(gw1, gw2, 1e-4, 1e-4))
}

func TestConv2DPanicsOnMismatch(t *testing.T) {
	x := Constant(tensor.Zeros(1, 3, 5, 5))
	require.PanicsWithValue(t,
		"autograd.Conv2D: input [1 3 5 5] and weight [2 2 3 3] do not match with 1 groups (want weight [outC, C/groups, kh, kw], C and outC divisible by groups)",
		func() { Conv2D(x, Constant(tensor.Zeros(2, 2, 3, 3)), nil, Conv2DOptions{}) })
	require.Panics(t, func() { Conv2D(x, Constant(tensor.Zeros(2, 3, 7, 7)), nil, Conv2DOptions{}) })
	require.Panics(t, func() { Conv2D(x, Constant(tensor.Zeros(2, 3, 3, 3)), Constant(tensor.Zeros(3)), Conv2DOptions{}) })
	require.Panics(t, func() {
		Conv2D(Constant(tensor.Zeros(3, 5, 5)), Constant(tensor.Zeros(2, 3, 3, 3)), nil, Conv2DOptions{})
	})
}

// TestArenaInferenceAllocationsDoNotScale checks that a no-grad pass
// through the convolution, pooling and normalisation ops with an arena makes
// no per-sample or per-element allocations: the count is the same for a
// batch of 1 and of 16 (the remaining few come from shape bookkeeping
// outside these ops).
func TestArenaInferenceAllocationsDoNotScale(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	prev := parallel.SetWorkers(1)
	defer parallel.SetWorkers(prev)
	w, b := NewVar(convRand(2, 4, 3, 3, 3)), NewVar(convRand(3, 4))
	count := func(batch int) float64 {
		x := convRand(1, batch, 3, 8, 8)
		a := NewArena()
		run := func() {
			a.Reset()
			y := Conv2D(a.Input(x), w, b, Conv2DOptions{Padding: [2]int{1, 1}})
			y = MaxPool2D(y, Pool2DOptions{Kernel: [2]int{2, 2}})
			y = AvgPool2D(y, Pool2DOptions{Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}})
			y = BatchNormWithStats(y, w2, b2, m2, v2, 1e-5)
			y = LayerNorm(y, nil, nil, 2, 1e-5)
			_ = GlobalAvgPool2D(y)
		}
		run()
		return testalloc.PerRun(10, run)
	}
	// The GEMM kernel is called once per sample; discount whatever it
	// allocates itself (nothing once it is warm, ideally).
	ga, gb, gc := make([]float32, 4*27), make([]float32, 27*64), make([]float32, 4*64)
	gemm := testalloc.PerRun(10, func() { kernel.Gemm(false, false, 4, 64, 27, 1, ga, 27, gb, 64, 0, gc, 64) })
	one, many := count(1), count(16)
	require.Equal(t, one+15*gemm, many, "per-sample allocations (GEMM kernel: %v per call)", gemm)
	require.LessOrEqual(t, one-gemm, 12.0)
}

var (
	w2 = NewVar(tensor.Ones(4))
	b2 = NewVar(tensor.Zeros(4))
	m2 = tensor.Zeros(4)
	v2 = tensor.Ones(4)
)

func benchConv(b *testing.B, xs, ws []int, pad int, inputGrad bool) {
	x := Constant(convRand(1, xs...))
	passes := 2.0 // forward and weight gradient
	if inputGrad {
		x = NewVar(x.Value())
		passes = 3
	}
	w := NewVar(convRand(2, ws...))
	bias := NewVar(convRand(3, ws[0]))
	opt := Conv2DOptions{Padding: [2]int{pad, pad}}
	y := Conv2D(x, w, bias, opt)
	g := tensor.Ones(y.Shape()...)
	oh, ow := y.Shape()[2], y.Shape()[3]
	flops := passes * 2 * float64(xs[0]*ws[0]*oh*ow*ws[1]*ws[2]*ws[3])
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		y := Conv2D(x, w, bias, opt)
		y.BackwardWith(g)
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv2DForwardBackward times one forward and backward pass: the
// first layer of an MNIST CNN (no input gradient) and a hidden layer.
func BenchmarkConv2DForwardBackward(b *testing.B) {
	b.Run("64x1x28x28-32c3x3", func(b *testing.B) { benchConv(b, []int{64, 1, 28, 28}, []int{32, 1, 3, 3}, 1, false) })
	b.Run("64x32x14x14-64c3x3", func(b *testing.B) { benchConv(b, []int{64, 32, 14, 14}, []int{64, 32, 3, 3}, 1, true) })
}

// BenchmarkConv2DInference times a no-grad forward drawing its output from
// an arena.
func BenchmarkConv2DInference(b *testing.B) {
	x := convRand(1, 64, 32, 14, 14)
	w, bias := NewVar(convRand(2, 64, 32, 3, 3)), NewVar(convRand(3, 64))
	a := NewArena()
	opt := Conv2DOptions{Padding: [2]int{1, 1}}
	b.ReportAllocs()
	for b.Loop() {
		a.Reset()
		Conv2D(a.Input(x), w, bias, opt)
	}
	b.ReportMetric(2*float64(64*64*14*14*32*9)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func TestArenaCNNStepMatchesPlain(t *testing.T) {
	// A small convnet step (Conv2D+ReLU, BatchNorm, MaxPool2D, Dropout, Linear,
	// cross-entropy) through an arena, repeated so that every buffer is
	// reused (also by a short batch), gives bit for bit the loss and
	// parameter gradients of the same step without an arena. Catches a
	// gradient buffer that is not cleared before accumulation (Conv2D's
	// input and weight gradients, max-pooling's scatter) and stale
	// argmax or mask buffers.
	params := []*Var{
		NewVar(convRand(1, 4, 2, 3, 3)), NewVar(convRand(2, 4)),
		NewVar(convRand(3, 3, 4*3*3)), NewVar(convRand(4, 3)),
	}
	opt := Conv2DOptions{Padding: [2]int{1, 1}}
	step := func(in *Var, n int, seed uint64) (float32, []*tensor.Tensor) {
		r := rand.New(rand.NewPCG(seed, 3))
		h := ReLU(Conv2D(in, params[0], params[1], opt))
		h, _, _ = BatchNorm(h, nil, nil, 1e-5)
		h = MaxPool2D(h, Pool2DOptions{Kernel: [2]int{2, 2}})
		h = Dropout(Reshape(h, n, -1), 0.3, r)
		labels := make([]int, n)
		for i := range labels {
			labels[i] = i % 3
		}
		loss := SoftmaxCrossEntropy(Linear(h, params[2], params[3]), labels, 0, ReduceMean)
		loss.Backward()
		var g []*tensor.Tensor
		for _, p := range params {
			g = append(g, p.Grad().Clone())
			p.ZeroGrad()
		}
		return loss.Value().Item(), g
	}
	a := NewArena()
	for i, n := range []int{5, 5, 2, 5} {
		x := convRand(uint64(10+i), n, 2, 6, 6)
		wantL, wantG := step(Constant(x), n, uint64(i))
		a.Reset()
		gotL, gotG := step(a.Constant(x), n, uint64(i))
		require.Equal(t, wantL, gotL, "step %d", i)
		for j := range wantG {
			require.True(t, tensor.AllClose(wantG[j], gotG[j], 0, 0), "step %d, gradient %d", i, j)
		}
	}
}

func TestConv2DFusedReLU(t *testing.T) {
	// The fused ReLU gives the values and gradients of ReLU after the op,
	// for a case run serially (one sample) and one spread over workers,
	// and with a NaN input (NaN passes forward and lets its gradient
	// through, as ReLU does).
	for i, xs := range [][]int{{1, 2, 6, 5}, {6, 2, 6, 5}} {
		x, w, b := convRand(uint64(i+1), xs...), convRand(7, 3, 2, 3, 3), convRand(8, 3)
		if i == 1 {
			x.Data()[7] = float32(math.NaN())
		}
		gy := convRand(9, xs[0], 3, 6, 5)
		run := func(fused bool) []*tensor.Tensor {
			xv, wv, bv := NewVar(x), NewVar(w), NewVar(b)
			opt := Conv2DOptions{Padding: [2]int{1, 1}, ReLU: fused}
			y := Conv2D(xv, wv, bv, opt)
			if !fused {
				y = ReLU(y)
			}
			y.BackwardWith(gy)
			return []*tensor.Tensor{y.Value(), xv.Grad(), wv.Grad(), bv.Grad()}
		}
		want, got := run(false), run(true)
		for j := range want {
			require.Equal(t, fmt.Sprint(want[j].Data()), fmt.Sprint(got[j].Data()), "case %d, tensor %d", i, j)
		}
	}
	res, err := CheckGrad(func(v ...*Var) *Var {
		return Conv2D(v[0], v[1], v[2], Conv2DOptions{Padding: [2]int{1, 1}, ReLU: true})
	}, []*tensor.Tensor{convRand(11, 2, 2, 5, 5), convRand(12, 3, 2, 3, 3), convRand(13, 3)}, GradCheckOptions{})
	require.NoError(t, err, "%v", res)
}

// TestConv2DArenaKeepsColumns checks the weight and bias gradients of
// Conv2D trained under an arena, where the forward pass keeps its column
// matrices for the backward, against the same op without an arena (which
// unfolds the input again): with and without a bias, a bias that takes no
// gradient (its row is kept but not used), a 1×1 kernel (whose columns
// are the input itself unless there is a bias) and groups, spread over
// workers, with the arena's buffers reused.
func TestConv2DArenaKeepsColumns(t *testing.T) {
	prev := parallel.SetWorkers(3)
	defer parallel.SetWorkers(prev)
	cases := []struct {
		x, w       []int
		bias, bReq bool
		opt        Conv2DOptions
	}{
		{x: []int{5, 3, 7, 6}, w: []int{4, 3, 3, 3}, bias: true, bReq: true, opt: Conv2DOptions{Padding: [2]int{1, 1}}},
		{x: []int{5, 3, 7, 6}, w: []int{4, 3, 3, 3}, bias: true, bReq: false, opt: Conv2DOptions{Stride: [2]int{2, 1}}},
		{x: []int{4, 3, 5, 5}, w: []int{2, 3, 3, 2}},
		{x: []int{4, 4, 6, 5}, w: []int{6, 2, 3, 3}, bias: true, bReq: false, opt: Conv2DOptions{Groups: 2}},
		{x: []int{4, 4, 5, 5}, w: []int{6, 2, 1, 1}, bias: true, bReq: true, opt: Conv2DOptions{Groups: 2}},
		{x: []int{4, 4, 5, 5}, w: []int{6, 4, 1, 1}},
	}
	for i, tc := range cases {
		x, w := convRand(uint64(i+1), tc.x...), convRand(uint64(i+2), tc.w...)
		var b *tensor.Tensor
		if tc.bias {
			b = convRand(uint64(i+3), tc.w[0])
		}
		run := func(a *Arena, relu bool) []*tensor.Tensor {
			wv := NewVar(w)
			var bv *Var
			if b != nil {
				bv = Constant(b)
				if tc.bReq {
					bv = NewVar(b)
				}
			}
			in := Constant(x)
			if a != nil {
				a.Reset()
				in = a.Constant(x)
			}
			opt := tc.opt
			opt.ReLU = relu
			y := Conv2D(in, wv, bv, opt)
			y.BackwardWith(convRand(uint64(i+4), y.Shape()...))
			out := []*tensor.Tensor{wv.Grad()}
			if bv != nil && tc.bReq {
				out = append(out, bv.Grad())
			}
			return out
		}
		for _, relu := range []bool{false, true} {
			want := run(nil, relu)
			a := NewArena()
			for rep := range 2 {
				got := run(a, relu)
				for j := range want {
					require.Equal(t, want[j].Data(), got[j].Data(), "case %d relu %v rep %d gradient %d", i, relu, rep, j)
				}
			}
		}
	}
}
