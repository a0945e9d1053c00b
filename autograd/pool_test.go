package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// naivePool is the textbook definition of max and average pooling.
func naivePool(x *tensor.Tensor, o Pool2DOptions, avg bool) *tensor.Tensor {
	xs := x.Shape()
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	kh, kw := o.Kernel[0], o.Kernel[1]
	sh, sw := o.Stride[0], o.Stride[1]
	if sh == 0 {
		sh, sw = kh, kw
	}
	dh, dw := def1(o.Dilation[0]), def1(o.Dilation[1])
	ph, pw := o.Padding[0], o.Padding[1]
	oh := (h+2*ph-dh*(kh-1)-1)/sh + 1
	ow := (w+2*pw-dw*(kw-1)-1)/sw + 1
	y := tensor.Zeros(n, c, oh, ow)
	for s := range n {
		for ch := range c {
			for i := range oh {
				for j := range ow {
					best, sum := math.Inf(-1), 0.0
					for ki := range kh {
						for kj := range kw {
							ih, iw := i*sh-ph+ki*dh, j*sw-pw+kj*dw
							if ih < 0 || ih >= h || iw < 0 || iw >= w {
								continue
							}
							v := float64(x.At(s, ch, ih, iw))
							best = math.Max(best, v)
							sum += v
						}
					}
					if avg {
						y.Set(float32(sum/float64(kh*kw)), s, ch, i, j)
					} else {
						y.Set(float32(best), s, ch, i, j)
					}
				}
			}
		}
	}
	return y
}

var poolCases = []struct {
	x   []int
	opt Pool2DOptions
	max bool // max pooling only (dilation)
}{
	{x: []int{2, 3, 4, 4}, opt: Pool2DOptions{Kernel: [2]int{2, 2}}},
	{x: []int{1, 2, 5, 5}, opt: Pool2DOptions{Kernel: [2]int{2, 2}}},
	{x: []int{2, 2, 5, 6}, opt: Pool2DOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
	{x: []int{1, 2, 6, 7}, opt: Pool2DOptions{Kernel: [2]int{3, 2}, Stride: [2]int{1, 2}, Padding: [2]int{1, 0}}},
	{x: []int{2, 1, 7, 7}, opt: Pool2DOptions{Kernel: [2]int{2, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{2, 2}, Padding: [2]int{1, 1}}, max: true},
}

// distinct returns a tensor of distinct values in shuffled order so that
// max pooling has no ties for the finite difference to straddle.
func distinct(seed uint64, shape ...int) *tensor.Tensor {
	t := convRand(seed, shape...)
	d := t.Data()
	for i := range d {
		d[i] = float32(i%97)*0.05 + d[i]*0.01 + float32(i/97)*0.003
	}
	return t
}

func TestPoolMatchesReference(t *testing.T) {
	for i, tc := range poolCases {
		x := distinct(uint64(i+1), tc.x...)
		t.Run(fmt.Sprint("max", i), func(t *testing.T) {
			got := MaxPool2D(Constant(x), tc.opt).Value()
			want := naivePool(x, tc.opt, false)
			require.Equal(t, want.Shape(), got.Shape())
			require.True(t, tensor.AllClose(want, got, 1e-6, 1e-6))
		})
		if tc.max {
			continue
		}
		t.Run(fmt.Sprint("avg", i), func(t *testing.T) {
			got := AvgPool2D(Constant(x), tc.opt).Value()
			want := naivePool(x, tc.opt, true)
			require.Equal(t, want.Shape(), got.Shape())
			require.True(t, tensor.AllClose(want, got, 1e-5, 1e-6))
		})
	}
}

func TestPoolHandComputed(t *testing.T) {
	x := tensor.New([]float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
		13, 14, 15, 16}, 1, 1, 4, 4)
	mx := MaxPool2D(Constant(x), Pool2DOptions{Kernel: [2]int{2, 2}})
	require.Equal(t, []float32{6, 8, 14, 16}, mx.Value().Data())
	av := AvgPool2D(Constant(x), Pool2DOptions{Kernel: [2]int{2, 2}})
	require.Equal(t, []float32{3.5, 5.5, 11.5, 13.5}, av.Value().Data())
	// Padding counts as zeros in the average: corner window holds only 1.
	avp := AvgPool2D(Constant(x), Pool2DOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}})
	require.Equal(t, []int{1, 1, 3, 3}, avp.Shape())
	require.InDelta(t, 0.25, avp.Value().At(0, 0, 0, 0), 1e-6)
	gap := GlobalAvgPool2D(Constant(x))
	require.Equal(t, []int{1, 1}, gap.Shape())
	require.InDelta(t, 8.5, gap.Value().Item(), 1e-6)

	// The max-pool gradient reaches only the winners.
	xv := NewVar(x.Clone())
	SumAll(MaxPool2D(xv, Pool2DOptions{Kernel: [2]int{2, 2}})).Backward()
	require.Equal(t, []float32{0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1}, xv.Grad().Data())
}

func TestPoolGrad(t *testing.T) {
	for i, tc := range poolCases {
		x := distinct(uint64(i+1), tc.x...)
		t.Run(fmt.Sprint("max", i), func(t *testing.T) {
			res, err := CheckGrad(func(xs ...*Var) *Var { return MaxPool2D(xs[0], tc.opt) }, []*tensor.Tensor{x}, GradCheckOptions{Eps: 1e-3})
			require.NoError(t, err, "%v", res)
		})
		if tc.max {
			continue
		}
		t.Run(fmt.Sprint("avg", i), func(t *testing.T) {
			res, err := CheckGrad(func(xs ...*Var) *Var { return AvgPool2D(xs[0], tc.opt) }, []*tensor.Tensor{x}, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
	}
	res, err := CheckGrad(func(xs ...*Var) *Var { return GlobalAvgPool2D(xs[0]) }, []*tensor.Tensor{convRand(5, 2, 3, 4, 5)}, GradCheckOptions{})
	require.NoError(t, err, "%v", res)
}

func TestPoolPanics(t *testing.T) {
	x := Constant(tensor.Zeros(1, 1, 4, 4))
	require.Panics(t, func() { MaxPool2D(Constant(tensor.Zeros(4, 4)), Pool2DOptions{Kernel: [2]int{2, 2}}) })
	require.Panics(t, func() { MaxPool2D(x, Pool2DOptions{}) })
	require.Panics(t, func() { MaxPool2D(x, Pool2DOptions{Kernel: [2]int{2, 2}, Padding: [2]int{2, 2}}) })
	require.Panics(t, func() { MaxPool2D(x, Pool2DOptions{Kernel: [2]int{5, 5}}) })
	require.Panics(t, func() { AvgPool2D(x, Pool2DOptions{Kernel: [2]int{2, 2}, Dilation: [2]int{2, 2}}) })
	require.Panics(t, func() { GlobalAvgPool2D(Constant(tensor.Zeros(2, 3))) })
}

func BenchmarkMaxPool2D(b *testing.B) {
	x := NewVar(convRand(1, 64, 32, 28, 28))
	y := MaxPool2D(x, Pool2DOptions{Kernel: [2]int{2, 2}})
	g := tensor.Ones(y.Shape()...)
	b.ReportAllocs()
	for b.Loop() {
		MaxPool2D(x, Pool2DOptions{Kernel: [2]int{2, 2}}).BackwardWith(g)
	}
}

// TestMaxPoolPropagatesNaN puts one NaN at every input position of every
// max-pool case (and at a few positions of an input large enough for the
// parallel path): each window that holds it must output NaN, every other
// output must be unchanged, and the gradient of every NaN output must reach
// the NaN. The 2×2 stride-2 cases take the fast path.
func TestMaxPoolPropagatesNaN(t *testing.T) {
	nan := float32(math.NaN())
	cases := append([]struct {
		x   []int
		opt Pool2DOptions
		max bool
	}{{x: []int{4, 8, 32, 32}, opt: Pool2DOptions{Kernel: [2]int{2, 2}}}}, poolCases...)
	for ci, tc := range cases {
		base := distinct(uint64(ci+1), tc.x...)
		clean := naivePool(base, tc.opt, false)
		n := base.Size()
		positions := make([]int, 0, n)
		if n <= 400 {
			for p := range n {
				positions = append(positions, p)
			}
		} else {
			positions = append(positions, 0, 1, 33, n/2, n-2, n-1)
		}
		for _, p := range positions {
			x := base.Clone()
			x.Data()[p] = nan
			want := naivePool(x, tc.opt, false) // math.Max propagates NaN
			nanOut := 0
			for j, v := range want.Data() {
				if v != v {
					nanOut++
				} else {
					require.Equal(t, clean.Data()[j], v)
				}
			}
			got := MaxPool2D(Constant(x), tc.opt).Value()
			require.True(t, sameNaN(want.Data(), got.Data()), "case %d (no grad): NaN at %d", ci, p)
			xv := NewVar(x)
			y := MaxPool2D(xv, tc.opt)
			require.True(t, sameNaN(want.Data(), y.Value().Data()), "case %d: NaN at %d", ci, p)
			SumAll(y).Backward()
			require.Equal(t, float32(nanOut), xv.Grad().Data()[p], "case %d: gradient at the NaN %d", ci, p)
		}
	}
}

// TestMaxPool2x2FirstNaNWins checks, for every pair of positions in a 2×2
// window, that the output is NaN and the gradient goes to the first NaN in
// row-major order, on the fast path and on the general path (a 2×2 window
// with stride 1 in a 2×2 input), so both agree.
func TestMaxPool2x2FirstNaNWins(t *testing.T) {
	nan := float32(math.NaN())
	for _, opt := range []Pool2DOptions{{Kernel: [2]int{2, 2}}, {Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}}} {
		for a := range 4 {
			for b := a; b < 4; b++ {
				x := tensor.New([]float32{1, 4, 3, 2}, 1, 1, 2, 2)
				x.Data()[a], x.Data()[b] = nan, nan
				xv := NewVar(x)
				y := MaxPool2D(xv, opt)
				require.True(t, math.IsNaN(float64(y.Value().Item())), "stride %v NaN at %d,%d", opt.Stride, a, b)
				SumAll(y).Backward()
				want := make([]float32, 4)
				want[a] = 1
				require.Equal(t, want, xv.Grad().Data(), "stride %v NaN at %d,%d", opt.Stride, a, b)
			}
		}
	}
}

// sameNaN reports whether a and b hold the same values, NaN matching NaN.
func sameNaN(a, b []float32) bool {
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

// TestMaxPool2x2TiesAndZeros checks that the fast 2×2 path agrees with the
// general path, bit for bit in value and winner, on windows full of ties:
// every arrangement of values from {-1, -0, +0, 2} (the first of equal
// maxima wins, and a -0 before a +0 is kept as -0).
func TestMaxPool2x2TiesAndZeros(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	vals := []float32{-1, negZero, 0, 2}
	var data []float32
	for i := range 256 {
		x := make([]float32, 4)
		for j := range x {
			x[j] = vals[(i>>(2*j))&3]
		}
		// Each window is a 2×2 block of a 2×512 input.
		data = append(data, x...)
	}
	in := tensor.Zeros(1, 1, 2, 512)
	d := in.Data()
	for w := range 256 {
		d[2*w], d[2*w+1], d[512+2*w], d[512+2*w+1] = data[4*w], data[4*w+1], data[4*w+2], data[4*w+3]
	}
	fast := newPoolGeom("MaxPool2D", in.Shape(), Pool2DOptions{Kernel: [2]int{2, 2}})
	general := fast
	yf, yg := make([]float32, 256), make([]float32, 256)
	idf, idg := make([]int32, 256), make([]int32, 256)
	fast.max2x2(yf, d, idf)
	general.generalMax(yg, d, idg)
	for w := range 256 {
		require.Equal(t, math.Float32bits(yg[w]), math.Float32bits(yf[w]), "window %v", data[4*w:4*w+4])
		require.Equal(t, idg[w], idf[w], "window %v", data[4*w:4*w+4])
	}
}

// TestMaxPoolBackwardParallel checks the input gradient of a max-pooling
// large enough to be spread over workers against the serial one, through
// an arena whose stale buffers are reused (each plane must be cleared
// before the scatter).
func TestMaxPoolBackwardParallel(t *testing.T) {
	x := convRand(1, 4, 8, 48, 47)
	opt := Pool2DOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}}
	grad := func(a *Arena, seed uint64) []float32 {
		xv := NewVar(x)
		in := xv
		if a != nil {
			a.Reset()
			in = Add(a.Constant(tensor.Zeros(x.Shape()...)), xv)
		}
		y := MaxPool2D(in, opt)
		y.BackwardWith(convRand(seed, y.Shape()...))
		return xv.Grad().Data()
	}
	prev := parallel.SetWorkers(1)
	want1, want2 := grad(nil, 2), grad(nil, 3)
	parallel.SetWorkers(3)
	defer parallel.SetWorkers(prev)
	a := NewArena()
	require.Equal(t, want1, grad(a, 2))
	require.Equal(t, want2, grad(a, 3))
}
