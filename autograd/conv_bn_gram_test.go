package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// gramCase is one input of the Conv2DBatchNormReLUMaxPool tests.
type gramCase struct {
	x                  []int // [N, 1, H, W]
	oc, pad            int
	bias, affine, grad bool // grad: the input needs a gradient (the fallback path)
	offset             float32
}

// run returns the output, the statistics and the gradients of the input
// (when wanted), filters, bias, gamma and beta, fused or through
// Conv2D, BatchNorm, ReLU and MaxPool2D, on workers workers.
func (tc gramCase) run(seed uint64, workers int, fused bool) []*tensor.Tensor {
	prev := parallel.SetWorkers(workers)
	defer parallel.SetWorkers(prev)
	x := convRand(seed, tc.x...)
	for i := range x.Data() {
		x.Data()[i] += tc.offset
	}
	xv := Constant(x)
	if tc.grad {
		xv = NewVar(x)
	}
	wv := NewVar(convRand(seed+1, tc.oc, 1, 3, 3))
	var bv, gv, betav *Var
	if tc.bias {
		bv = NewVar(convRand(seed+2, tc.oc))
	}
	if tc.affine {
		gm := convRand(seed+3, tc.oc)
		for i, v := range gm.Data() {
			gm.Data()[i] = 0.5 + abs32(v)
			if i%3 == 2 {
				gm.Data()[i] = -gm.Data()[i]
			}
		}
		gv, betav = NewVar(gm), NewVar(convRand(seed+4, tc.oc))
	}
	opt := Conv2DOptions{Padding: [2]int{tc.pad, tc.pad}}
	var y *Var
	var mean, variance *tensor.Tensor
	if fused {
		y, mean, variance = Conv2DBatchNormReLUMaxPool(xv, wv, bv, gv, betav, opt, 1e-5)
	} else {
		var z *Var
		z, mean, variance = BatchNorm(Conv2D(xv, wv, bv, opt), gv, betav, 1e-5)
		y = MaxPool2D(ReLU(z), Pool2DOptions{Kernel: [2]int{2, 2}})
	}
	y.BackwardWith(convRand(seed+5, y.Value().Shape()...))
	out := []*tensor.Tensor{y.Value(), mean, variance}
	for _, v := range []*Var{xv, wv, bv, gv, betav} {
		if v != nil && v.requiresGrad {
			out = append(out, v.Grad())
		}
	}
	return out
}

// TestConv2DBatchNormReLUMaxPoolMatchesSeparate checks the fused first
// block against Conv2D, BatchNorm, ReLU and MaxPool2D one after the
// other: outputs and statistics to float32 rounding, gradients to a few
// roundings of their largest value, on one sample and several, planes
// from 2×2 to 28×28, odd ones (the left-out last row and column), with
// and without padding, bias and affine parameters (negative γ too), an
// input far from zero mean, and an input that wants a gradient (which
// takes the separate ops).
func TestConv2DBatchNormReLUMaxPoolMatchesSeparate(t *testing.T) {
	cases := []gramCase{
		{x: []int{1, 1, 4, 4}, oc: 1, bias: true, affine: true},
		{x: []int{1, 1, 2, 2}, oc: 3, pad: 1, affine: true},
		{x: []int{7, 1, 5, 5}, oc: 3, pad: 1, bias: true},
		{x: []int{7, 1, 7, 7}, oc: 16, pad: 1, bias: true, affine: true},
		{x: []int{3, 1, 9, 6}, oc: 5},
		{x: []int{4, 1, 28, 28}, oc: 32, pad: 1, bias: true, affine: true},
		{x: []int{5, 1, 11, 13}, oc: 4, pad: 1, bias: true, affine: true, offset: 20},
		{x: []int{3, 1, 8, 8}, oc: 3, pad: 1, bias: true, affine: true, grad: true},
	}
	for ci, tc := range cases {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			seed := uint64(100 + 10*ci)
			want, got := tc.run(seed, 1, false), tc.run(seed, 1, true)
			require.Len(t, got, len(want))
			for j := range want {
				require.Equal(t, want[j].Shape(), got[j].Shape(), "tensor %d", j)
				var scale float32
				for _, v := range want[j].Data() {
					scale = max(scale, abs32(v))
				}
				tol := 2e-5 * float64(max(scale, 1))
				if tc.offset != 0 && j >= 1 {
					tol *= 10 // large means: their roundings in the separate ops grow too
				}
				for i, v := range want[j].Data() {
					require.InDelta(t, v, got[j].Data()[i], tol, "tensor %d at %d", j, i)
				}
			}
		})
	}
}

// TestConv2DBatchNormReLUMaxPoolIndependentOfWorkers checks that the fused
// block gives the same bits on one, two and three workers.
func TestConv2DBatchNormReLUMaxPoolIndependentOfWorkers(t *testing.T) {
	tc := gramCase{x: []int{37, 1, 28, 28}, oc: 8, pad: 1, bias: true, affine: true}
	want := tc.run(3, 1, true)
	for _, workers := range []int{2, 3} {
		got := tc.run(3, workers, true)
		for j := range want {
			require.Equal(t, want[j].Data(), got[j].Data(), "workers %d tensor %d", workers, j)
		}
	}
}

func TestConv2DBatchNormReLUMaxPoolGrad(t *testing.T) {
	for i, tc := range []struct {
		x   []int
		oc  int
		opt Conv2DOptions
	}{
		{x: []int{3, 1, 6, 6}, oc: 2, opt: Conv2DOptions{Padding: [2]int{1, 1}}},
		{x: []int{2, 1, 7, 5}, oc: 3},
	} {
		x := Constant(convRand(uint64(i+1), tc.x...))
		res, err := CheckGrad(func(xs ...*Var) *Var {
			y, _, _ := Conv2DBatchNormReLUMaxPool(x, xs[0], xs[1], xs[2], xs[3], tc.opt, 1e-5)
			return y
		}, []*tensor.Tensor{convRand(uint64(i+10), tc.oc, 1, 3, 3), convRand(uint64(i+20), tc.oc), convRand(uint64(i+30), tc.oc), convRand(uint64(i+40), tc.oc)}, GradCheckOptions{})
		require.NoError(t, err, "%v: %v", tc.x, res)
	}
}

// TestConv2DBatchNormReLUMaxPoolBrightSamples checks the Gram statistics
// when the samples differ in brightness by far more than their texture and
// the filters sum to zero (edge filters): the batch mean and variance must
// match a float64 reference to 1e-3 relative. Sums taken in float32 about
// the batch's mean cancel here (errors of 20–100 % in the variance).
func TestConv2DBatchNormReLUMaxPoolBrightSamples(t *testing.T) {
	const n, h, wd, oc = 8, 12, 13, 5
	for _, pad := range []int{0, 1} {
		x := convRand(600, n, 1, h, wd)
		xd := x.Data()
		for s := range n {
			for i := range h * wd {
				xd[s*h*wd+i] = 30*float32(s) + 0.01*xd[s*h*wd+i]
			}
		}
		w := convRand(601, oc, 1, 3, 3)
		wdat := w.Data()
		for c := range oc { // zero-sum filters
			var m float32
			for _, v := range wdat[c*9 : (c+1)*9] {
				m += v / 9
			}
			for t := range 9 {
				wdat[c*9+t] -= m
			}
		}
		_, mean, variance := Conv2DBatchNormReLUMaxPool(Constant(x), NewVar(w), nil, nil, nil, Conv2DOptions{Padding: [2]int{pad, pad}}, 1e-5)
		oh, ow := h+2*pad-2, wd+2*pad-2
		for c := range oc {
			var sum, sq float64
			out := make([]float64, 0, n*oh*ow)
			for s := range n {
				for i := range oh {
					for j := range ow {
						var v float64
						for t := range 9 {
							r, q := i+t/3-pad, j+t%3-pad
							if r >= 0 && r < h && q >= 0 && q < wd {
								v += float64(wdat[c*9+t]) * float64(xd[(s*h+r)*wd+q])
							}
						}
						out = append(out, v)
						sum += v
					}
				}
			}
			mu := sum / float64(len(out))
			for _, v := range out {
				sq += (v - mu) * (v - mu)
			}
			va := sq / float64(len(out))
			require.InDelta(t, mu, float64(mean.Data()[c]), 1e-3*(abs64(mu)+1e-3), "pad %d channel %d mean", pad, c)
			require.InDelta(t, va, float64(variance.Data()[c]), 1e-3*va, "pad %d channel %d variance", pad, c)
		}
	}
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestConv2DBatchNormReLUMaxPoolEmptyPlanes checks that an input with no
// pixels, padded enough to have outputs, gets the statistics of its
// padding (each channel's bias, variance 0), not the 0/0 of a Gram matrix
// over no pixels.
func TestConv2DBatchNormReLUMaxPoolEmptyPlanes(t *testing.T) {
	x := Constant(tensor.Zeros(2, 1, 0, 3))
	w, b := NewVar(convRand(610, 2, 1, 3, 3)), NewVar(convRand(611, 2))
	_, mean, variance := Conv2DBatchNormReLUMaxPool(x, w, b, nil, nil, Conv2DOptions{Padding: [2]int{2, 2}}, 1e-5)
	for c := range 2 {
		require.Equal(t, b.Value().Data()[c], mean.Data()[c], "channel %d", c)
		require.Zero(t, variance.Data()[c], "channel %d", c)
	}
}
