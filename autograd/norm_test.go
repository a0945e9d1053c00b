package autograd

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
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

// TestLayerNormFoldsResidualGradient checks the gradient of a LayerNorm
// input that also feeds another op, as a pre-norm block's input feeds the
// residual add: whether that op's backward runs before LayerNorm's (whose
// backward then adds it into the input's gradient row by row) or after
// (the engine adds the two), the input's gradient is bit for bit the sum
// of the two ops' gradients taken apart, and the weight and bias
// gradients are LayerNorm's own, on one worker and on two (rows enough to
// split), through an arena or not, and adding into gradients already
// held. It also checks the gradients against finite differences.
func TestLayerNormFoldsResidualGradient(t *testing.T) {
	const n, d = 1100, 33 // n·d over layerNormParallel: the rows split
	xt, wt, bt := rnd(31, -2, 2, n, d), rnd(32, 0.5, 1.5, d), rnd(33, -1, 1, d)
	rt, gt := rnd(34, -1, 1, n, d), rnd(35, -1, 1, n, d)
	for _, workers := range []int{1, 2} {
		for _, arena := range []bool{false, true} {
			t.Run(fmt.Sprint("workers", workers, "/arena", arena), func(t *testing.T) {
				defer parallel.SetWorkers(parallel.SetWorkers(workers))
				x, w, b := NewVar(xt), NewVar(wt), NewVar(bt)
				a := NewArena()
				rOf := func() *Var { // after each Reset: arena memory is reused
					if arena {
						a.Reset()
						return a.Constant(rt)
					}
					return Constant(rt)
				}
				// Two passes of each op alone, the second adding into the
				// gradients of the first.
				var gLN, gw, gb [2][]float32
				for k := range 2 {
					LayerNorm(x, w, b, 1, 1e-5).BackwardWith(gt)
					gLN[k] = slices.Clone(x.Grad().Data())
					gw[k], gb[k] = slices.Clone(w.Grad().Data()), slices.Clone(b.Grad().Data())
				}
				x.ZeroGrad()
				Mul(x, rOf()).BackwardWith(gt)
				gMul := x.Grad().Data()
				var want [2][]float32
				for k := range 2 {
					want[k] = make([]float32, n*d)
					for i := range want[k] {
						want[k][i] = gMul[i] + gLN[0][i]
						if k == 1 {
							want[k][i] += want[k][i]
						}
					}
				}
				for _, lnFirst := range []bool{true, false} {
					x.ZeroGrad()
					w.ZeroGrad()
					b.ZeroGrad()
					for k := range 2 {
						ln, other := LayerNorm(x, w, b, 1, 1e-5), Mul(x, rOf())
						var y *Var
						if lnFirst { // LayerNorm's backward runs last: it folds
							y = Add(ln, other)
						} else {
							y = Add(other, ln)
						}
						y.BackwardWith(gt)
						for i, v := range want[k] {
							require.Equal(t, math.Float32bits(v), math.Float32bits(x.Grad().Data()[i]), "ln first %v, pass %d: x gradient [%d]", lnFirst, k, i)
						}
						require.Equal(t, gw[k], w.Grad().Data(), "ln first %v, pass %d: weight gradient", lnFirst, k)
						require.Equal(t, gb[k], b.Grad().Data(), "ln first %v, pass %d: bias gradient", lnFirst, k)
					}
				}
			})
		}
	}
	for _, lnFirst := range []bool{true, false} {
		res, err := CheckGrad(func(xs ...*Var) *Var {
			ln, other := LayerNorm(xs[0], xs[1], xs[2], 1, 1e-5), Mul(xs[0], xs[3])
			if lnFirst {
				return Add(ln, other)
			}
			return Add(other, ln)
		}, []*tensor.Tensor{rnd(41, -2, 2, 5, 7), rnd(42, 0.5, 1.5, 7), rnd(43, -1, 1, 7), rnd(44, -1, 1, 5, 7)}, GradCheckOptions{})
		require.NoError(t, err, "ln first %v: %v", lnFirst, res)
	}
}

// TestLayerNormGradientSharedSafely checks a LayerNorm input used three
// times, twice through ops that pass their output's gradient on as it is
// (the caller's seed), in every order: the input's gradient is the sum of
// the three, and the seed is left as it was (the engine adds into
// LayerNorm's own buffer and its own sums only).
func TestLayerNormGradientSharedSafely(t *testing.T) {
	const n, d = 40, 24
	xt, wt, bt, gt := rnd(61, -2, 2, n, d), rnd(62, 0.5, 1.5, d), rnd(63, -1, 1, d), rnd(64, -1, 1, n, d)
	seed := gt.Clone()
	x, w, b := NewVar(xt), NewVar(wt), NewVar(bt)
	LayerNorm(x, w, b, 1, 1e-5).BackwardWith(gt)
	gLN := slices.Clone(x.Grad().Data())
	builds := map[string]func(x *Var) *Var{
		"ln,x,x": func(x *Var) *Var { return Add(Add(LayerNorm(x, w, b, 1, 1e-5), x), x) },
		"x,ln,x": func(x *Var) *Var { return Add(Add(x, LayerNorm(x, w, b, 1, 1e-5)), x) },
		"x,x,ln": func(x *Var) *Var { return Add(x, Add(x, LayerNorm(x, w, b, 1, 1e-5))) },
	}
	for name, f := range builds {
		x.ZeroGrad()
		f(x).BackwardWith(gt)
		require.Equal(t, seed.Data(), gt.Data(), "%s: the seed changed", name)
		for i, v := range x.Grad().Data() {
			want := float64(gLN[i]) + 2*float64(gt.Data()[i])
			require.InDelta(t, want, float64(v), 4*0x1p-23*(math.Abs(float64(gLN[i]))+2*math.Abs(float64(gt.Data()[i]))), "%s: x gradient [%d]", name, i)
		}
	}
}

// TestLayerNormResidualAllocations checks that a warm forward and
// backward through an arena of a LayerNorm whose input also feeds the
// residual add, its gradient folded, allocates nothing.
func TestLayerNormResidualAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	const n, d = 512, 128
	xt, g := rnd(51, -1, 1, n, d), rnd(52, -1, 1, n, d)
	w, b, shift := NewVar(rnd(53, 0.5, 1.5, d)), NewVar(rnd(54, -1, 1, d)), NewVar(rnd(55, -1, 1, n, d))
	a := NewArena()
	step := func() {
		a.Reset()
		x := Add(a.Constant(xt), shift) // needs a gradient, not a leaf
		Add(LayerNorm(x, w, b, 1, 1e-5), x).BackwardWith(g)
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint("workers", workers), func(t *testing.T) {
			defer parallel.SetWorkers(parallel.SetWorkers(workers))
			step()
			require.Zero(t, testalloc.PerRun(10, step))
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
