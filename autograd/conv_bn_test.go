package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// bnPoolCase is one input of TestBatchNormReLUMaxPoolMatchesSeparate.
type bnPoolCase struct {
	x            []int
	weight, bias bool
	ties         bool // inputs rounded to a few values, so windows tie
	negWeight    bool // weights of both signs: the winners are the inputs' minima there
	constInput   bool // the input needs no gradient
}

// runBNPool runs BatchNormReLUMaxPool (fused) or BatchNormReLU then
// MaxPool2D on workers workers, and returns the output, the statistics
// and the gradients of the input, weight and bias (nil where absent).
func (tc bnPoolCase) run(seed uint64, workers int, fused bool) []*tensor.Tensor {
	prev := parallel.SetWorkers(workers)
	defer parallel.SetWorkers(prev)
	x := convRand(seed, tc.x...)
	if tc.ties {
		for i, v := range x.Data() {
			x.Data()[i] = float32(int(v*2)) / 2
		}
	}
	c := tc.x[1]
	gy := convRand(seed+1, tc.x[0], c, tc.x[2]/2, tc.x[3]/2)
	xv := NewVar(x)
	if tc.constInput {
		xv = Constant(x)
	}
	var wv, bv *Var
	if tc.weight {
		w := convRand(seed+2, c)
		for i := range w.Data() {
			w.Data()[i] = 0.5 + abs32(w.Data()[i])
			if tc.negWeight && i%2 == 1 {
				w.Data()[i] = -w.Data()[i]
			}
		}
		wv = NewVar(w)
	}
	if tc.bias {
		bv = NewVar(convRand(seed+3, c))
	}
	var y *Var
	var mean, variance *tensor.Tensor
	if fused {
		y, mean, variance = BatchNormReLUMaxPool(xv, wv, bv, 1e-5)
	} else {
		var z *Var
		z, mean, variance = BatchNormReLU(xv, wv, bv, 1e-5)
		y = MaxPool2D(z, Pool2DOptions{Kernel: [2]int{2, 2}})
	}
	y.BackwardWith(gy)
	grad := func(v *Var) *tensor.Tensor {
		if v == nil {
			return nil
		}
		return v.Grad()
	}
	return []*tensor.Tensor{y.Value(), mean, variance, grad(xv), grad(wv), grad(bv)}
}

// TestBatchNormReLUMaxPoolMatchesSeparate checks the fused op against
// BatchNormReLU followed by MaxPool2D: the same output and statistics bit
// for bit (the same winners, ties and mixed-sign weights included), the
// same gradients to float32 rounding, on odd planes (the left-out last
// row and column), one sample, one channel, with and without weight and
// bias and with an input that needs no gradient.
func TestBatchNormReLUMaxPoolMatchesSeparate(t *testing.T) {
	cases := []bnPoolCase{
		{x: []int{1, 1, 2, 2}, weight: true, bias: true},
		{x: []int{1, 3, 5, 5}, weight: true, bias: true},
		{x: []int{7, 1, 7, 7}, weight: true},
		{x: []int{7, 3, 5, 6}, bias: true},
		{x: []int{7, 16, 7, 7}},
		{x: []int{2, 32, 28, 28}, weight: true, bias: true, negWeight: true},
		{x: []int{3, 16, 9, 4}, weight: true, bias: true, ties: true},
		{x: []int{5, 3, 6, 9}, weight: true, bias: true, ties: true, negWeight: true},
		{x: []int{7, 3, 5, 5}, weight: true, bias: true, constInput: true},
		{x: []int{33, 8, 13, 11}, weight: true, bias: true},
	}
	for ci, tc := range cases {
		t.Run(fmt.Sprintf("%v/w=%v/b=%v/ties=%v/neg=%v/const=%v", tc.x, tc.weight, tc.bias, tc.ties, tc.negWeight, tc.constInput), func(t *testing.T) {
			seed := uint64(10 * (ci + 1))
			want, got := tc.run(seed, 1, false), tc.run(seed, 1, true)
			for j := range 3 {
				require.Equal(t, want[j].Shape(), got[j].Shape(), "tensor %d", j)
				require.Equal(t, want[j].Data(), got[j].Data(), "tensor %d", j)
			}
			for j := 3; j < len(want); j++ {
				if want[j] == nil || got[j] == nil {
					require.True(t, want[j] == nil && got[j] == nil, "gradient %d: %v vs %v", j, want[j], got[j])
					continue
				}
				require.Equal(t, want[j].Shape(), got[j].Shape(), "gradient %d", j)
				for i, v := range want[j].Data() {
					require.InDelta(t, v, got[j].Data()[i], 1e-5*float64(max(abs32(v), 1)), "gradient %d at %d", j, i)
				}
			}
		})
	}
}

// TestBatchNormReLUMaxPoolIndependentOfWorkers checks that the fused op
// gives the same bits on one, two and three workers, on inputs large
// enough to spread the channels over them.
func TestBatchNormReLUMaxPoolIndependentOfWorkers(t *testing.T) {
	for _, tc := range []bnPoolCase{
		{x: []int{33, 8, 13, 11}, weight: true, bias: true},
		{x: []int{9, 32, 14, 14}, weight: true, bias: true, negWeight: true},
	} {
		want := tc.run(5, 1, true)
		for _, workers := range []int{2, 3} {
			got := tc.run(5, workers, true)
			for j := range want {
				require.Equal(t, want[j].Data(), got[j].Data(), "%v: workers %d tensor %d", tc.x, workers, j)
			}
		}
	}
}

func TestBatchNormReLUMaxPoolGrad(t *testing.T) {
	for i, s := range [][]int{{3, 2, 4, 4}, {2, 3, 5, 3}, {4, 1, 2, 2}} {
		c := s[1]
		res, err := CheckGrad(func(xs ...*Var) *Var {
			y, _, _ := BatchNormReLUMaxPool(xs[0], xs[1], xs[2], 1e-5)
			return y
		}, []*tensor.Tensor{convRand(uint64(i+1), s...), convRand(uint64(i+10), c), convRand(uint64(i+20), c)}, GradCheckOptions{})
		require.NoError(t, err, "%v: %v", s, res)
	}
	res, err := CheckGrad(func(xs ...*Var) *Var {
		y, _, _ := BatchNormReLUMaxPool(xs[0], nil, nil, 1e-5)
		return y
	}, []*tensor.Tensor{convRand(7, 3, 2, 5, 4)}, GradCheckOptions{})
	require.NoError(t, err, "no affine: %v", res)
}

func TestBatchNormReLUMaxPoolPanics(t *testing.T) {
	require.PanicsWithValue(t, "autograd.BatchNormReLUMaxPool: input [2 3 1 4] is not [N, C, H, W] with H, W ≥ 2", func() {
		BatchNormReLUMaxPool(NewVar(tensor.Zeros(2, 3, 1, 4)), nil, nil, 1e-5)
	})
	require.PanicsWithValue(t, "autograd.BatchNormReLUMaxPool: parameter [2] does not match input [2 3 2 2] (want [3])", func() {
		BatchNormReLUMaxPool(NewVar(tensor.Zeros(2, 3, 2, 2)), NewVar(tensor.Zeros(2)), nil, 1e-5)
	})
}
