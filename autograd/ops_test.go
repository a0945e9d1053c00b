package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

func rnd(seed uint64, lo, hi float32, shape ...int) *tensor.Tensor {
	return tensor.RandU(rand.New(rand.NewPCG(seed, 7)), lo, hi, shape...)
}

// awayFromZero returns values in ±[0.2, 1.2] so that kinks (ReLU, Abs) and
// ties are not straddled by the finite difference.
func awayFromZero(seed uint64, shape ...int) *tensor.Tensor {
	t := rnd(seed, 0.2, 1.2, shape...)
	r := rand.New(rand.NewPCG(seed, 9))
	for i, v := range t.Data() {
		if r.IntN(2) == 0 {
			t.Data()[i] = -v
		}
	}
	return t
}

func checkGrad(t *testing.T, f func(xs ...*Var) *Var, inputs ...*tensor.Tensor) {
	t.Helper()
	res, err := CheckGrad(f, inputs, GradCheckOptions{})
	require.NoError(t, err, "%v", res)
}

func TestGradBinaryBroadcast(t *testing.T) {
	shapes := [][2][]int{
		{{3, 4}, {3, 4}},
		{{3, 1}, {1, 4}},
		{{2, 3, 4}, {4}},
		{{2, 1, 4}, {3, 1}},
		{{5}, {}},
	}
	ops := map[string]func(a, b *Var) *Var{
		"Add": Add, "Sub": Sub, "Mul": Mul, "Div": Div, "Maximum": Maximum, "Minimum": Minimum,
	}
	for name, op := range ops {
		for i, s := range shapes {
			a := awayFromZero(uint64(i+1), s[0]...)
			b := awayFromZero(uint64(i+100), s[1]...)
			t.Run(name, func(t *testing.T) {
				checkGrad(t, func(xs ...*Var) *Var { return op(xs[0], xs[1]) }, a, b)
			})
		}
	}
}

func TestGradUnary(t *testing.T) {
	ops := map[string]func(a *Var) *Var{
		"Exp":       Exp,
		"Log":       func(a *Var) *Var { return Log(Abs(a)) },
		"Sqrt":      func(a *Var) *Var { return Sqrt(Abs(a)) },
		"Square":    Square,
		"Abs":       Abs,
		"Tanh":      Tanh,
		"Sigmoid":   Sigmoid,
		"ReLU":      ReLU,
		"LeakyReLU": func(a *Var) *Var { return LeakyReLU(a, 0.1) },
		"GELU":      GELU,
		"Clamp":     func(a *Var) *Var { return Clamp(a, -0.5, 0.7) },
		"Neg":       Neg,
		"AddScalar": func(a *Var) *Var { return AddScalar(a, 3) },
		"MulScalar": func(a *Var) *Var { return MulScalar(a, -2.5) },
		"Pow":       func(a *Var) *Var { return Pow(Abs(a), 2.5) },
		"Softmax0":  func(a *Var) *Var { return Softmax(a, 0) },
		"Softmax":   func(a *Var) *Var { return Softmax(a, -1) },
		"LogSoftmax": func(a *Var) *Var {
			return LogSoftmax(a, -1)
		},
	}
	for name, op := range ops {
		for i, shape := range [][]int{{7}, {3, 5}, {2, 3, 4}} {
			if name == "Softmax0" && len(shape) == 1 {
				continue
			}
			x := awayFromZero(uint64(i+3), shape...)
			if name == "Clamp" {
				// keep clear of the clamp boundaries
				for j, v := range x.Data() {
					if v > 0.65 && v < 0.75 || v < -0.45 && v > -0.55 {
						x.Data()[j] = 0.3
					}
				}
			}
			t.Run(name, func(t *testing.T) {
				checkGrad(t, func(xs ...*Var) *Var { return op(xs[0]) }, x)
			})
		}
	}
}

func TestGradMatMul(t *testing.T) {
	cases := []struct {
		a, b           []int
		transA, transB bool
	}{
		{[]int{3, 4}, []int{4, 5}, false, false},
		{[]int{4, 3}, []int{4, 5}, true, false},
		{[]int{3, 4}, []int{5, 4}, false, true},
		{[]int{4, 3}, []int{5, 4}, true, true},
		{[]int{2, 3, 4}, []int{2, 4, 5}, false, false},
		{[]int{2, 4, 3}, []int{2, 5, 4}, true, true},
		{[]int{2, 3, 4}, []int{4, 5}, false, false},
		{[]int{2, 3, 4}, []int{5, 4}, false, true},
	}
	for i, c := range cases {
		a, b := rnd(uint64(i), -1, 1, c.a...), rnd(uint64(i+50), -1, 1, c.b...)
		checkGrad(t, func(xs ...*Var) *Var { return MatMulTrans(xs[0], xs[1], c.transA, c.transB) }, a, b)
	}
}

func TestGradLinear(t *testing.T) {
	x, w, b := rnd(1, -1, 1, 5, 4), rnd(2, -1, 1, 3, 4), rnd(3, -1, 1, 3)
	checkGrad(t, func(xs ...*Var) *Var { return Linear(xs[0], xs[1], xs[2]) }, x, w, b)
	checkGrad(t, func(xs ...*Var) *Var { return Linear(xs[0], xs[1], nil) }, x, w)
	want := tensor.Add(tensor.MatMul(x, w, false, true), b)
	got := Linear(Constant(x), Constant(w), Constant(b)).Value()
	require.True(t, tensor.AllClose(want, got, 1e-6, 1e-6))
}

func TestGradShapeOps(t *testing.T) {
	x := rnd(4, -1, 1, 2, 3, 4)
	y := rnd(5, -1, 1, 2, 2, 4)
	checkGrad(t, func(xs ...*Var) *Var { return Reshape(xs[0], 6, -1) }, x)
	checkGrad(t, func(xs ...*Var) *Var { return Flatten(xs[0]) }, x)
	checkGrad(t, func(xs ...*Var) *Var { return Transpose(xs[0]) }, x)
	checkGrad(t, func(xs ...*Var) *Var { return Permute(xs[0], 2, 0, 1) }, x)
	checkGrad(t, func(xs ...*Var) *Var { return Concat(1, xs[0], xs[1]) }, x, y)
	checkGrad(t, func(xs ...*Var) *Var { return Stack(1, xs[0], xs[0]) }, x)
	checkGrad(t, func(xs ...*Var) *Var { return Index(xs[0], []int{1, 0, 1}) }, x)
	checkGrad(t, func(xs ...*Var) *Var { return Slice(xs[0], 2, 1, 3) }, x)
}

func TestGradReductions(t *testing.T) {
	x := rnd(6, -1, 1, 2, 3, 4)
	for _, axes := range [][]int{nil, {0}, {1}, {-1}, {0, 2}} {
		for _, keep := range []bool{false, true} {
			checkGrad(t, func(xs ...*Var) *Var { return Sum(xs[0], keep, axes...) }, x)
			checkGrad(t, func(xs ...*Var) *Var { return Mean(xs[0], keep, axes...) }, x)
			checkGrad(t, func(xs ...*Var) *Var { return Max(xs[0], keep, axes...) }, x)
			checkGrad(t, func(xs ...*Var) *Var { return Min(xs[0], keep, axes...) }, x)
		}
	}
}

func TestMaxTiesShareGradient(t *testing.T) {
	x := NewVar(tensor.New([]float32{1, 3, 3, 2}, 4))
	Max(x, false).Backward()
	require.Equal(t, []float32{0, 0.5, 0.5, 0}, x.Grad().Data())
}

func TestForwardValues(t *testing.T) {
	a := Constant(tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3))
	b := Constant(tensor.New([]float32{10, 20, 30}, 3))
	require.Equal(t, []float32{11, 22, 33, 14, 25, 36}, Add(a, b).Value().Data())
	require.Equal(t, []float32{10, 40, 90, 40, 100, 180}, Mul(a, b).Value().Data())
	require.Equal(t, []float32{0, 0, 0, 0, 0, 0}, ReLU(Neg(a)).Value().Data())
	require.Equal(t, []float32{6, 15}, Sum(a, false, 1).Value().Data())
	require.Equal(t, []float32{2.5, 3.5, 4.5}, Mean(a, false, 0).Value().Data())
	s := Softmax(Constant(tensor.New([]float32{0, 0, 0, 0}, 1, 4)), -1).Value().Data()
	require.InDeltaSlice(t, []float32{0.25, 0.25, 0.25, 0.25}, s, 1e-7)
	ls := LogSoftmax(Constant(tensor.New([]float32{1e4, 0, -1e4}, 1, 3)), -1).Value().Data()
	require.InDeltaSlice(t, []float32{0, -1e4, -2e4}, ls, 1e-2)
	m := MatMul(a, Constant(tensor.New([]float32{1, 0, 0, 1, 1, 1}, 3, 2))).Value()
	require.Equal(t, []int{2, 2}, m.Shape())
	require.Equal(t, []float32{4, 5, 10, 11}, m.Data())
	g := GELU(Constant(tensor.New([]float32{-1, 0, 1}, 3))).Value().Data()
	require.InDeltaSlice(t, []float32{-0.158655, 0, 0.841345}, g, 1e-5)
}

func TestShapeMismatchPanics(t *testing.T) {
	a := Constant(tensor.Zeros(2, 3))
	b := Constant(tensor.Zeros(4))
	require.PanicsWithValue(t, "autograd.Add: shapes [2 3] and [4] are not broadcastable", func() { Add(a, b) })
	require.PanicsWithValue(t, "autograd.MatMul: shapes [2 3] and [4] do not multiply (transA=false, transB=false)", func() { MatMul(a, b) })
	require.Panics(t, func() { Linear(a, Constant(tensor.Zeros(5, 4)), nil) })
}

func TestGradientAccumulatesUntilZeroGrad(t *testing.T) {
	w := NewVar(tensor.New([]float32{2}, 1))
	for i := 0; i < 3; i++ {
		Sum(Mul(w, w), false).Backward() // d(w²)/dw = 2w = 4
	}
	require.Equal(t, []float32{12}, w.Grad().Data())
	w.ZeroGrad()
	Sum(Mul(w, w), false).Backward()
	require.Equal(t, []float32{4}, w.Grad().Data())
}

func TestSharedSubexpression(t *testing.T) {
	// y = (x·x) + (x·x) reuses one node twice: dy/dx = 4x.
	x := NewVar(tensor.New([]float32{3}, 1))
	s := Mul(x, x)
	Sum(Add(s, s), false).Backward()
	require.Equal(t, []float32{12}, x.Grad().Data())
}

func TestBackwardReleasesGraph(t *testing.T) {
	x := NewVar(tensor.New([]float32{1, 2}, 2))
	h := Exp(x)
	loss := Sum(h, false)
	loss.Backward()
	require.Nil(t, h.node, "intermediate node kept after Backward")
	require.Nil(t, loss.node)
	require.Panics(t, func() { loss.Backward() })
}

func TestBackwardWithNonScalar(t *testing.T) {
	x := NewVar(tensor.New([]float32{1, 2, 3}, 3))
	y := MulScalar(x, 2)
	y.BackwardWith(tensor.New([]float32{1, 10, 100}, 3))
	require.Equal(t, []float32{2, 20, 200}, x.Grad().Data())
	require.Panics(t, func() { MulScalar(x, 2).Backward() })
}

func TestConstantsGetNoGradient(t *testing.T) {
	x := Constant(tensor.New([]float32{1, 2}, 2))
	w := NewVar(tensor.New([]float32{3, 4}, 2))
	Sum(Mul(x, w), false).Backward()
	require.Nil(t, x.Grad())
	require.Equal(t, []float32{1, 2}, w.Grad().Data())
	d := w.Detach()
	require.False(t, d.RequiresGrad())
	require.Same(t, w.Value(), d.Value())
}

func TestNoGradRecordsNothing(t *testing.T) {
	w := NewVar(tensor.New([]float32{3, 4}, 2))
	y := Mul(NoGrad(tensor.New([]float32{1, 2}, 2)), w)
	require.False(t, y.RequiresGrad())
	require.True(t, y.IsLeaf())
	require.Equal(t, []float32{3, 8}, y.Value().Data())
}

func TestDropout(t *testing.T) {
	x := tensor.Ones(1000)
	y := Dropout(Constant(x), 0.25, rand.New(rand.NewPCG(1, 2))).Value().Data()
	zeros := 0
	for _, v := range y {
		if v == 0 {
			zeros++
		} else {
			require.InDelta(t, 1/0.75, v, 1e-6)
		}
	}
	require.InDelta(t, 250, zeros, 50)
	// The same seed gives the same mask; the gradient follows the mask.
	r := rand.New(rand.NewPCG(3, 4))
	checkGrad(t, func(xs ...*Var) *Var {
		*r = *rand.New(rand.NewPCG(3, 4))
		return Dropout(xs[0], 0.5, r)
	}, rnd(8, -1, 1, 4, 5))
}

// TestActivationsPropagateNaN checks that ReLU, LeakyReLU and Clamp keep a
// NaN at every position (in and beyond the vector width of the kernels), as
// in PyTorch, and leave the other elements alone.
func TestActivationsPropagateNaN(t *testing.T) {
	nan := float32(math.NaN())
	ops := []struct {
		name string
		f    func(*Var) *Var
		ref  func(float32) float32
	}{
		{"ReLU", ReLU, func(v float32) float32 { return max(v, 0) }},
		{"LeakyReLU", func(x *Var) *Var { return LeakyReLU(x, 0.1) }, func(v float32) float32 {
			if v > 0 {
				return v
			}
			return 0.1 * v
		}},
		{"Clamp", func(x *Var) *Var { return Clamp(x, -0.5, 0.5) }, func(v float32) float32 { return min(max(v, -0.5), 0.5) }},
	}
	// ReLU's gradient passes through NaN, as torch.relu's does; LeakyReLU's
	// takes the negative slope, as torch's (x > 0 is false for NaN).
	x := NewVar(tensor.New([]float32{nan, -1, 2}, 3))
	Sum(ReLU(x), false).Backward()
	require.Equal(t, []float32{1, 0, 1}, x.Grad().Data())
	x = NewVar(tensor.New([]float32{nan, -1, 2}, 3))
	Sum(LeakyReLU(x, 0.1), false).Backward()
	require.Equal(t, []float32{0.1, 0.1, 1}, x.Grad().Data())
	for _, n := range []int{1, 7, 8, 9, 17, 33} {
		for pos := range n {
			x := tensor.Zeros(n)
			for i := range n {
				x.Data()[i] = float32(i%3) - 1.25
			}
			x.Data()[pos] = nan
			for _, op := range ops {
				y := op.f(Constant(x)).Value().Data()
				for i, v := range x.Data() {
					if i == pos {
						require.True(t, math.IsNaN(float64(y[i])), "%s n=%d: NaN at %d gave %g", op.name, n, pos, y[i])
					} else {
						require.Equal(t, op.ref(v), y[i], "%s n=%d at %d", op.name, n, i)
					}
				}
			}
		}
	}
}

// TestDropoutFraction checks that the drawn mask drops a fraction p of
// the elements for small and large p, that survivors are scaled by
// 1/(1−p), and that the last element of an odd-length input (drawn on
// its own) is dropped or kept like the others.
func TestDropoutFraction(t *testing.T) {
	x := tensor.RandU(rand.New(rand.NewPCG(1, 1)), 0.5, 1, 20001)
	for _, p := range []float32{0.1, 0.5, 0.9} {
		y := Dropout(Constant(x), p, rand.New(rand.NewPCG(7, uint64(p*10)))).Value().Data()
		zeros := 0
		for i, v := range y {
			if v == 0 {
				zeros++
				continue
			}
			require.InDelta(t, x.Data()[i]/(1-p), v, 1e-6, "p=%v i=%d", p, i)
		}
		require.InDelta(t, p, float64(zeros)/float64(len(y)), 0.01, "p=%v", p)
	}
	var seen [2]bool
	for seed := range uint64(64) {
		y := Dropout(Constant(tensor.Ones(7)), 0.5, rand.New(rand.NewPCG(seed, 1))).Value().Data()
		seen[min(int(y[6]), 1)] = true
	}
	require.Equal(t, [2]bool{true, true}, seen, "the odd last element is both dropped and kept over 64 seeds")
}
