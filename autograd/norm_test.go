package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

func TestBatchNormHandComputed(t *testing.T) {
	// Two channels, batch of 4: channel 0 holds 1,2,3,4 (mean 2.5, biased
	// variance 1.25), channel 1 holds 10 everywhere (variance 0).
	x := tensor.New([]float32{1, 10, 2, 10, 3, 10, 4, 10}, 4, 2)
	w := tensor.New([]float32{2, 1}, 2)
	b := tensor.New([]float32{0.5, -1}, 2)
	y, mean, variance := BatchNorm(Constant(x), Constant(w), Constant(b), 1e-5)
	require.Equal(t, []float32{2.5, 10}, mean.Data())
	require.Equal(t, []float32{1.25, 0}, variance.Data())
	inv := 1 / math.Sqrt(1.25+1e-5)
	for i, v := range []float64{1, 2, 3, 4} {
		require.InDelta(t, 2*(v-2.5)*inv+0.5, y.Value().At(i, 0), 1e-5)
		require.InDelta(t, -1, y.Value().At(i, 1), 1e-5)
	}
	// With given statistics the op is a per-channel affine map.
	ye := BatchNormWithStats(Constant(x), Constant(w), Constant(b), tensor.New([]float32{1, 2}, 2), tensor.New([]float32{4, 9}, 2), 0)
	require.InDelta(t, 2*(3-1)/2.0+0.5, ye.Value().At(2, 0), 1e-6)
	require.InDelta(t, (10-2)/3.0-1, ye.Value().At(2, 1), 1e-6)
}

func TestBatchNormGrad(t *testing.T) {
	shapes := [][]int{{5, 3}, {4, 2, 3}, {3, 2, 3, 4}}
	for i, s := range shapes {
		c := s[1]
		x := convRand(uint64(i+1), s...)
		w := convRand(uint64(i+10), c)
		b := convRand(uint64(i+20), c)
		t.Run(fmt.Sprint("batch", s), func(t *testing.T) {
			res, err := CheckGrad(func(xs ...*Var) *Var {
				y, _, _ := BatchNorm(xs[0], xs[1], xs[2], 1e-5)
				return y
			}, []*tensor.Tensor{x, w, b}, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
		t.Run(fmt.Sprint("batch-noaffine", s), func(t *testing.T) {
			res, err := CheckGrad(func(xs ...*Var) *Var {
				y, _, _ := BatchNorm(xs[0], nil, nil, 1e-5)
				return y
			}, []*tensor.Tensor{x}, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
		mean, variance := convRand(uint64(i+30), c), tensor.AddScalar(tensor.Abs(convRand(uint64(i+40), c)), 0.5)
		t.Run(fmt.Sprint("stats", s), func(t *testing.T) {
			res, err := CheckGrad(func(xs ...*Var) *Var {
				return BatchNormWithStats(xs[0], xs[1], xs[2], mean, variance, 1e-5)
			}, []*tensor.Tensor{x, w, b}, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
	}
}

func TestLayerNormHandComputed(t *testing.T) {
	x := tensor.New([]float32{1, 2, 3, 4, -1, -1, -1, -1}, 2, 4)
	y := LayerNorm(Constant(x), Constant(tensor.Full(2, 4)), Constant(tensor.Full(1, 4)), 1, 0)
	inv := 1 / math.Sqrt(1.25)
	for j, v := range []float64{1, 2, 3, 4} {
		require.InDelta(t, 2*(v-2.5)*inv+1, y.Value().At(0, j), 1e-5)
	}
	// A constant row normalises to zero (then shifted by the bias) when eps > 0.
	y = LayerNorm(Constant(x), Constant(tensor.Full(2, 4)), Constant(tensor.Full(1, 4)), 1, 1e-5)
	require.InDelta(t, 1, y.Value().At(1, 2), 1e-6)
}

func TestLayerNormGrad(t *testing.T) {
	cases := []struct {
		shape []int
		dims  int
	}{{[]int{3, 5}, 1}, {[]int{2, 3, 4}, 1}, {[]int{2, 3, 4}, 2}, {[]int{6}, 1}}
	for i, tc := range cases {
		norm := tc.shape[len(tc.shape)-tc.dims:]
		inputs := []*tensor.Tensor{convRand(uint64(i+1), tc.shape...), convRand(uint64(i+10), norm...), convRand(uint64(i+20), norm...)}
		t.Run(fmt.Sprint(tc.shape, tc.dims), func(t *testing.T) {
			res, err := CheckGrad(func(xs ...*Var) *Var { return LayerNorm(xs[0], xs[1], xs[2], tc.dims, 1e-5) }, inputs, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
			res, err = CheckGrad(func(xs ...*Var) *Var { return LayerNorm(xs[0], nil, nil, tc.dims, 1e-5) }, inputs[:1], GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
	}
}

func TestNormPanics(t *testing.T) {
	require.Panics(t, func() { BatchNorm(Constant(tensor.Zeros(3)), nil, nil, 1e-5) })
	require.Panics(t, func() { BatchNorm(Constant(tensor.Zeros(3, 2)), Constant(tensor.Zeros(3)), nil, 1e-5) })
	require.Panics(t, func() {
		BatchNormWithStats(Constant(tensor.Zeros(3, 2)), nil, nil, tensor.Zeros(3), tensor.Zeros(2), 1e-5)
	})
	require.Panics(t, func() { LayerNorm(Constant(tensor.Zeros(3, 2)), nil, nil, 3, 1e-5) })
	require.Panics(t, func() { LayerNorm(Constant(tensor.Zeros(3, 2)), Constant(tensor.Zeros(3)), nil, 1, 1e-5) })
}
