package autograd

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/cputime"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// requireClose checks that got matches want to float32 rounding of sums
// of k products of values in [-1, 1]: |got − want| ≤ 1e-5·(1 + |want|)·√k
// elementwise (the inference path sums the same products tap by tap).
func requireClose(t *testing.T, want, got *tensor.Tensor, k int, msg string) {
	t.Helper()
	require.Equal(t, want.Shape(), got.Shape(), msg)
	tol := 1e-5 * math.Sqrt(float64(k))
	for i, w := range want.Data() {
		g := got.Data()[i]
		if math.IsNaN(float64(w)) || math.IsNaN(float64(g)) {
			require.True(t, math.IsNaN(float64(w)) && math.IsNaN(float64(g)), "%s: element %d: want %v, got %v", msg, i, w, g)
			continue
		}
		if d := math.Abs(float64(g - w)); d > tol*(1+math.Abs(float64(w))) {
			t.Fatalf("%s: element %d of %v: want %v, got %v (diff %g, tolerance %g)", msg, i, want.Shape(), w, g, d, tol*(1+math.Abs(float64(w))))
		}
	}
}

// convInferCase is one geometry for the inference path.
type convInferCase struct {
	n, c, h, w, oc, kh, kw int
	opt                    Conv2DOptions
	bias                   bool
}

func (c convInferCase) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_oc%d_k%dx%d_p%v_d%v_bias%v", c.n, c.c, c.h, c.w, c.oc, c.kh, c.kw, c.opt.Padding, c.opt.Dilation, c.bias)
}

var convInferCases = []convInferCase{
	{n: 1, c: 1, h: 28, w: 28, oc: 32, kh: 3, kw: 3, bias: true},  // Keras convnet conv1
	{n: 1, c: 32, h: 13, w: 13, oc: 64, kh: 3, kw: 3, bias: true}, // conv2
	{n: 1, c: 1, h: 7, w: 7, oc: 1, kh: 1, kw: 1},
	{n: 2, c: 7, h: 17, w: 9, oc: 17, kh: 3, kw: 2, bias: true, opt: Conv2DOptions{Padding: [2]int{1, 2}}},
	{n: 1, c: 8, h: 7, w: 33, oc: 7, kh: 2, kw: 3, bias: true, opt: Conv2DOptions{Dilation: [2]int{2, 3}}},
	{n: 3, c: 17, h: 12, w: 11, oc: 33, kh: 3, kw: 3, bias: true, opt: Conv2DOptions{Padding: [2]int{1, 1}}},
	{n: 1, c: 33, h: 6, w: 5, oc: 1, kh: 5, kw: 4, opt: Conv2DOptions{Padding: [2]int{2, 0}}},
	{n: 2, c: 3, h: 33, w: 17, oc: 64, kh: 7, kw: 7, bias: true, opt: Conv2DOptions{Padding: [2]int{3, 3}}},
	{n: 1, c: 8, h: 7, w: 9, oc: 7, kh: 3, kw: 3, bias: true, opt: Conv2DOptions{Padding: [2]int{1, 0}}},
	{n: 2, c: 33, h: 5, w: 6, oc: 17, kh: 3, kw: 3},
	{n: 1, c: 9, h: 4, w: 4, oc: 65, kh: 3, kw: 3, bias: true, opt: Conv2DOptions{Padding: [2]int{1, 1}}},
}

// TestConvCacheMatchesConv2D checks the packed inference path against
// the training path's forward on awkward sizes (1, 7, 17, 33 channels and
// planes, padding, dilation, both orientations, the Winograd form and the
// direct one, with and without the bias, ReLU and the 2×2 pooling), to
// float32 rounding.
func TestConvCacheMatchesConv2D(t *testing.T) {
	defer func() { winoInfer = true }()
	for _, tc := range convInferCases {
		for _, wino := range []bool{true, false} {
			winoInfer = wino
			t.Run(fmt.Sprintf("%v/wino%v", tc, wino), func(t *testing.T) { testConvCacheCase(t, tc) })
		}
	}
}

func testConvCacheCase(t *testing.T, tc convInferCase) {
	x := convRand(1, tc.n, tc.c, tc.h, tc.w)
	w := NewVar(convRand(2, tc.oc, tc.c, tc.kh, tc.kw))
	w.SetCacheable(true)
	var b *Var
	if tc.bias {
		b = NewVar(convRand(3, tc.oc))
	}
	k := tc.c*tc.kh*tc.kw + 1
	var cc ConvCache
	for _, relu := range []bool{false, true} {
		opt := tc.opt
		opt.ReLU = relu
		want := Conv2D(NoGrad(x), w, b, opt).Value()
		got := cc.Conv2D(NoGrad(x), w, b, opt).Value()
		requireClose(t, want, got, k, fmt.Sprintf("Conv2D relu=%v", relu))
	}
	require.NotNil(t, cc.p.Load(), "the fast path did not run")
	g := newConvGeom(x.Shape(), w.Value().Shape(), tc.opt)
	if g.oh >= 2 && g.ow >= 2 {
		pool := Pool2DOptions{Kernel: [2]int{2, 2}}
		want := Conv2DReLUMaxPool(NoGrad(x), w, b, tc.opt, pool).Value()
		got := cc.Conv2DReLUMaxPool(NoGrad(x), w, b, tc.opt, pool).Value()
		requireClose(t, want, got, k, "Conv2DReLUMaxPool")
	}
}

// TestConvCacheFallsBack checks that the cache serves only what its fast
// path computes: a weight that is not cacheable, an input that may
// record a gradient, a stride, groups or a window other than 2×2 run the
// package functions (and keep nothing), and their gradients still flow.
func TestConvCacheFallsBack(t *testing.T) {
	x := convRand(1, 2, 4, 9, 9)
	w := NewVar(convRand(2, 6, 4, 3, 3))
	b := NewVar(convRand(3, 6))
	var cc ConvCache
	// Not cacheable: the result is Conv2D's, bit for bit.
	want := Conv2D(NoGrad(x), w, b, Conv2DOptions{ReLU: true}).Value()
	require.Equal(t, want.Data(), cc.Conv2D(NoGrad(x), w, b, Conv2DOptions{ReLU: true}).Value().Data())
	require.Nil(t, cc.p.Load())
	w.SetCacheable(true)
	// Training: the op is recorded and the gradient reaches the weight.
	y := cc.Conv2DReLUMaxPool(NewVar(x), w, b, Conv2DOptions{}, Pool2DOptions{Kernel: [2]int{2, 2}})
	SumAll(y).Backward()
	require.NotNil(t, w.Grad())
	require.Nil(t, cc.p.Load())
	for _, opt := range []Conv2DOptions{{Stride: [2]int{2, 1}}, {Groups: 2}} {
		ww := w
		if opt.Groups == 2 {
			ww = NewVar(convRand(2, 6, 2, 3, 3))
			ww.SetCacheable(true)
		}
		want := Conv2D(NoGrad(x), ww, b, opt).Value()
		require.Equal(t, want.Data(), cc.Conv2D(NoGrad(x), ww, b, opt).Value().Data(), "%+v", opt)
	}
	pool := Pool2DOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}}
	want = Conv2DReLUMaxPool(NoGrad(x), w, b, Conv2DOptions{}, pool).Value()
	require.Equal(t, want.Data(), cc.Conv2DReLUMaxPool(NoGrad(x), w, b, Conv2DOptions{}, pool).Value().Data())
	require.Nil(t, cc.p.Load())

	// Where Conv2D takes its Winograd form (64 channels, 128 tiles), the
	// package functions run; under 2×2 pooling the cache's own Winograd
	// form replaces it unless Direct.
	x = convRand(4, 2, 64, 18, 18)
	w, b = NewVar(convRand(5, 64, 64, 3, 3)), NewVar(convRand(6, 64))
	w.SetCacheable(true)
	g := newConvGeom(x.Shape(), w.Value().Shape(), Conv2DOptions{})
	require.True(t, g.winograd())
	pool = Pool2DOptions{Kernel: [2]int{2, 2}}
	direct := ConvCache{Direct: true}
	require.Equal(t, Conv2D(NoGrad(x), w, b, Conv2DOptions{}).Value().Data(), direct.Conv2D(NoGrad(x), w, b, Conv2DOptions{}).Value().Data())
	want = Conv2DReLUMaxPool(NoGrad(x), w, b, Conv2DOptions{}, pool).Value()
	require.Equal(t, want.Data(), direct.Conv2DReLUMaxPool(NoGrad(x), w, b, Conv2DOptions{}, pool).Value().Data())
	require.Nil(t, direct.p.Load())
	requireClose(t, want, cc.Conv2DReLUMaxPool(NoGrad(x), w, b, Conv2DOptions{}, pool).Value(), 64*9+1, "Winograd under pooling")
	require.NotNil(t, cc.p.Load())
}

// TestConvCacheRepacks checks that the packed filters follow the weight:
// a write marked with MarkChanged, and a new tensor set with SetValue.
func TestConvCacheRepacks(t *testing.T) {
	x := NoGrad(convRand(1, 1, 9, 8, 8))
	w := NewVar(convRand(2, 5, 9, 3, 3))
	w.SetCacheable(true)
	var cc ConvCache
	first := cc.Conv2D(x, w, nil, Conv2DOptions{}).Value().Clone()
	w.Value().Data()[0] += 1
	w.MarkChanged()
	requireClose(t, Conv2D(x, w, nil, Conv2DOptions{}).Value(), cc.Conv2D(x, w, nil, Conv2DOptions{}).Value(), 81, "after MarkChanged")
	require.NotEqual(t, first.Data(), cc.Conv2D(x, w, nil, Conv2DOptions{}).Value().Data())
	w.SetValue(convRand(4, 5, 9, 3, 3))
	requireClose(t, Conv2D(x, w, nil, Conv2DOptions{}).Value(), cc.Conv2D(x, w, nil, Conv2DOptions{}).Value(), 81, "after SetValue")
}

// TestConvCacheInferenceAllocatesNothing checks that, once warm, the
// fast path through an arena allocates nothing on one worker, in both
// orientations, with and without the pooling.
func TestConvCacheInferenceAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	prev := parallel.SetWorkers(1)
	defer parallel.SetWorkers(prev)
	for _, c := range []int{1, 32} {
		x := convRand(1, 2, c, 13, 13)
		w, b := NewVar(convRand(2, 8, c, 3, 3)), NewVar(convRand(3, 8))
		w.SetCacheable(true)
		a := NewArena()
		var cc ConvCache
		run := func() {
			a.Reset()
			cc.Conv2DReLUMaxPool(a.Input(x), w, b, Conv2DOptions{}, Pool2DOptions{Kernel: [2]int{2, 2}})
			cc.Conv2D(a.Input(x), w, b, Conv2DOptions{ReLU: true, Padding: [2]int{1, 1}})
		}
		run()
		require.NotNil(t, cc.p.Load())
		require.Zero(t, testalloc.PerRun(20, run), "%d channels", c)
	}
}

func BenchmarkConvCacheKeras(b *testing.B) {
	prev := parallel.SetWorkers(1)
	defer parallel.SetWorkers(prev)
	for _, n := range []int{1, 64} {
		for _, l := range []struct {
			name   string
			xs, ws []int
		}{{"conv1", []int{n, 1, 28, 28}, []int{32, 1, 3, 3}}, {"conv2", []int{n, 32, 13, 13}, []int{64, 32, 3, 3}}} {
			x := convRand(1, l.xs...)
			w, bias := NewVar(convRand(2, l.ws...)), NewVar(convRand(3, l.ws[0]))
			w.SetCacheable(true)
			pool := Pool2DOptions{Kernel: [2]int{2, 2}}
			a := NewArena()
			var cc ConvCache
			b.Run(fmt.Sprintf("%s/b=%d/old", l.name, n), func(b *testing.B) {
				cputime.Loop(b, func() {
					a.Reset()
					Conv2DReLUMaxPool(a.Input(x), w, bias, Conv2DOptions{}, pool)
				})
			})
			b.Run(fmt.Sprintf("%s/b=%d/direct", l.name, n), func(b *testing.B) {
				winoInfer = false
				defer func() { winoInfer = true }()
				cputime.Loop(b, func() {
					a.Reset()
					cc.Conv2DReLUMaxPool(a.Input(x), w, bias, Conv2DOptions{}, pool)
				})
			})
			b.Run(fmt.Sprintf("%s/b=%d/packed", l.name, n), func(b *testing.B) {
				cputime.Loop(b, func() {
					a.Reset()
					cc.Conv2DReLUMaxPool(a.Input(x), w, bias, Conv2DOptions{}, pool)
				})
			})
		}
	}
}

// TestConvCacheConcurrent runs one cache from several goroutines, the
// first calls racing to pack, and checks every result (run with -race).
func TestConvCacheConcurrent(t *testing.T) {
	x := convRand(1, 3, 8, 10, 10)
	w, b := NewVar(convRand(2, 16, 8, 3, 3)), NewVar(convRand(3, 16))
	w.SetCacheable(true)
	pool := Pool2DOptions{Kernel: [2]int{2, 2}}
	want := Conv2DReLUMaxPool(NoGrad(x), w, b, Conv2DOptions{}, pool).Value()
	var cc ConvCache
	const goroutines = 4
	got := make([]*tensor.Tensor, goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				got[i] = cc.Conv2DReLUMaxPool(NoGrad(x), w, b, Conv2DOptions{}, pool).Value()
			}
		}()
	}
	wg.Wait()
	for _, g := range got {
		requireClose(t, want, g, 8*9+1, "concurrent")
	}
}

// TestConvCacheDirectMatchesSeparateOps checks that with Direct set the
// fused op computes what the cache's Conv2D with ReLU followed by
// MaxPool2D computes, bit for bit, in both orientations (with a 3×3
// filter over many channels, where the Winograd form would apply).
func TestConvCacheDirectMatchesSeparateOps(t *testing.T) {
	for _, c := range []int{1, 17} {
		x := NoGrad(convRand(1, 2, c, 11, 9))
		w, b := NewVar(convRand(2, 9, c, 3, 3)), NewVar(convRand(3, 9))
		w.SetCacheable(true)
		pool := Pool2DOptions{Kernel: [2]int{2, 2}}
		cc := ConvCache{Direct: true}
		want := MaxPool2D(cc.Conv2D(x, w, b, Conv2DOptions{ReLU: true}), pool).Value()
		got := cc.Conv2DReLUMaxPool(x, w, b, Conv2DOptions{}, pool).Value()
		require.Equal(t, want.Data(), got.Data(), "%d channels", c)
	}
}
