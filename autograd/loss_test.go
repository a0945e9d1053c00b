package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Expected values below were computed in float64 from PyTorch's documented
// formulas (and agree with torch.nn.functional in float64).

func lossInput(seed uint64, lo, hi float32, shape ...int) *tensor.Tensor {
	return tensor.RandU(rand.New(rand.NewPCG(seed, 11)), lo, hi, shape...)
}

func requireGrad(t *testing.T, f func(xs ...*Var) *Var, inputs ...*tensor.Tensor) {
	t.Helper()
	res, err := CheckGrad(f, inputs, GradCheckOptions{})
	require.NoError(t, err, "%v", res)
}

func requireNear(t *testing.T, want []float64, got *tensor.Tensor, tol float64) {
	t.Helper()
	require.Len(t, got.Data(), len(want))
	for i, w := range want {
		require.InDelta(t, w, float64(got.Data()[i]), tol*math.Max(1, math.Abs(w)), "element %d of %v", i, got.Data())
	}
}

// ceRef is a float64 reference of cross-entropy with smoothing for one row
// and a target distribution q.
func ceRef(x []float32, q []float64, eps float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(s)
	l := 0.0
	for j, v := range x {
		w := (1-eps)*q[j] + eps/float64(len(x))
		l += w * (lse - float64(v))
	}
	return l
}

func TestSoftmaxCrossEntropyValues(t *testing.T) {
	x := tensor.New([]float32{1, 2, 3, 0.5, -1, 2}, 2, 3)
	targets := []int{2, 0}
	q := tensor.New([]float32{0.2, 0.3, 0.5, 1, 0, 0}, 2, 3)
	cases := []struct {
		name string
		f    func(v *Var) *Var
		want []float64
	}{
		{"mean", func(v *Var) *Var { return SoftmaxCrossEntropy(v, targets, 0, ReduceMean) }, []float64{1.0744586305507688}},
		{"sum", func(v *Var) *Var { return SoftmaxCrossEntropy(v, targets, 0, ReduceSum) }, []float64{2.1489172611015377}},
		{"none", func(v *Var) *Var { return SoftmaxCrossEntropy(v, targets, 0, ReduceNone) }, []float64{0.4076059644443804, 1.7413112966571571}},
		{"smoothing", func(v *Var) *Var { return SoftmaxCrossEntropy(v, targets, 0.1, ReduceMean) }, []float64{1.124458630550769}},
		{"probs", func(v *Var) *Var { return SoftmaxCrossEntropyProbs(v, q, 0, ReduceMean) }, []float64{1.424458630550769}},
		{"probs smoothing", func(v *Var) *Var { return SoftmaxCrossEntropyProbs(v, q, 0.2, ReduceMean) }, []float64{1.4544586305507687}},
		{"probs none", func(v *Var) *Var { return SoftmaxCrossEntropyProbs(v, q, 0, ReduceNone) }, []float64{1.1076059644443805, 1.7413112966571571}},
		{"nll", func(v *Var) *Var { return NLL(LogSoftmax(v, 1), targets, ReduceMean) }, []float64{1.0744586305507688}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireNear(t, c.want, c.f(NewVar(x.Clone())).Value(), 1e-6)
			// The same value without recording a graph.
			requireNear(t, c.want, c.f(NoGrad(x.Clone())).Value(), 1e-6)
		})
	}
}

func TestSoftmaxCrossEntropyGradientIsSoftmaxMinusTarget(t *testing.T) {
	x := NewVar(tensor.New([]float32{1, 2, 3, 0.5, -1, 2}, 2, 3))
	loss := SoftmaxCrossEntropy(x, []int{2, 0}, 0, ReduceMean)
	require.Empty(t, loss.Shape())
	loss.Backward()
	p := tensor.Softmax(x.Value(), 1).Data()
	want := []float64{
		float64(p[0]) / 2, float64(p[1]) / 2, (float64(p[2]) - 1) / 2,
		(float64(p[3]) - 1) / 2, float64(p[4]) / 2, float64(p[5]) / 2,
	}
	requireNear(t, want, x.Grad(), 1e-6)
}

func TestSoftmaxCrossEntropySmoothingDefinition(t *testing.T) {
	// loss = (1−ε)·nll + ε·mean_c(−log p_c), checked against the float64
	// reference on random rows.
	x := lossInput(3, -4, 4, 5, 7)
	targets := []int{0, 6, 3, 3, 1}
	for _, eps := range []float32{0, 0.05, 0.1, 0.5, 1} {
		got := SoftmaxCrossEntropy(Constant(x), targets, eps, ReduceNone)
		want := make([]float64, len(targets))
		for i, tg := range targets {
			row := x.Data()[i*7 : (i+1)*7]
			q := make([]float64, 7)
			q[tg] = 1
			want[i] = ceRef(row, q, float64(eps))
			// The same through the definition in terms of nll and the mean
			// of −log p over classes.
			nll := ceRef(row, q, 0)
			meanNeg := ceRef(row, q, 1)
			require.InDelta(t, (1-float64(eps))*nll+float64(eps)*meanNeg, want[i], 1e-9)
		}
		requireNear(t, want, got.Value(), 1e-5)
	}
}

func TestSoftmaxCrossEntropyExtremeLogits(t *testing.T) {
	cases := []struct {
		target int
		eps    float32
		want   float64
		grad   []float64
	}{
		{0, 0, 0, []float64{0, 0, 0}},
		{1, 0, 1e4, []float64{1, -1, 0}},
		{2, 0, 2e4, []float64{1, 0, -1}},
		// ε/3·(0 + 1e4 + 2e4) with ε = 0.3.
		{0, 0.3, 3000, []float64{0.3 - 0.1, -0.1, -0.1}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.target, c.eps), func(t *testing.T) {
			x := NewVar(tensor.New([]float32{1e4, 0, -1e4}, 1, 3))
			loss := SoftmaxCrossEntropy(x, []int{c.target}, c.eps, ReduceSum)
			require.InDelta(t, c.want, float64(loss.Value().Item()), 1e-6*math.Max(1, c.want))
			loss.Backward()
			requireNear(t, c.grad, x.Grad(), 1e-6)
		})
	}
	// Probability targets and huge negative logits stay finite as well.
	x := NewVar(tensor.New([]float32{-1e4, 1e4, 0, 3e4, -3e4, 3e4}, 2, 3))
	q := tensor.New([]float32{0.5, 0.5, 0, 0, 0, 1}, 2, 3)
	loss := SoftmaxCrossEntropyProbs(x, q, 0, ReduceSum)
	// row 0: 0.5·2e4 + 0.5·0; row 1: −log ½ = log 2.
	require.InDelta(t, 1e4+math.Ln2, float64(loss.Value().Item()), 1e-2)
	loss.Backward()
	for _, g := range x.Grad().Data() {
		require.False(t, math.IsNaN(float64(g)) || math.IsInf(float64(g), 0))
	}
}

func TestLossGradients(t *testing.T) {
	targets := []int{1, 0, 4, 4}
	q := lossInput(5, 0, 1, 4, 5)
	reductions := []Reduction{ReduceMean, ReduceSum, ReduceNone}
	for _, r := range reductions {
		cases := map[string]struct {
			f      func(xs ...*Var) *Var
			inputs []*tensor.Tensor
		}{
			"SoftmaxCrossEntropy": {func(xs ...*Var) *Var { return SoftmaxCrossEntropy(xs[0], targets, 0, r) },
				[]*tensor.Tensor{lossInput(1, -3, 3, 4, 5)}},
			"SoftmaxCrossEntropySmoothed": {func(xs ...*Var) *Var { return SoftmaxCrossEntropy(xs[0], targets, 0.2, r) },
				[]*tensor.Tensor{lossInput(2, -3, 3, 4, 5)}},
			"SoftmaxCrossEntropyProbs": {func(xs ...*Var) *Var { return SoftmaxCrossEntropyProbs(xs[0], q, 0, r) },
				[]*tensor.Tensor{lossInput(3, -3, 3, 4, 5)}},
			"SoftmaxCrossEntropyProbsSmoothed": {func(xs ...*Var) *Var { return SoftmaxCrossEntropyProbs(xs[0], q, 0.3, r) },
				[]*tensor.Tensor{lossInput(4, -3, 3, 4, 5)}},
			"NLL": {func(xs ...*Var) *Var { return NLL(LogSoftmax(xs[0], 1), targets, r) },
				[]*tensor.Tensor{lossInput(5, -3, 3, 4, 5)}},
			"BinaryCrossEntropy": {func(xs ...*Var) *Var { return BinaryCrossEntropy(xs[0], q, r) },
				[]*tensor.Tensor{lossInput(6, 0.05, 0.95, 4, 5)}},
			"BinaryCrossEntropyOfSigmoid": {func(xs ...*Var) *Var { return BinaryCrossEntropy(Sigmoid(xs[0]), q, r) },
				[]*tensor.Tensor{lossInput(7, -3, 3, 4, 5)}},
			"BCEWithLogits": {func(xs ...*Var) *Var { return BCEWithLogits(xs[0], q, nil, r) },
				[]*tensor.Tensor{lossInput(8, -5, 5, 4, 5)}},
			"BCEWithLogitsPosWeight": {func(xs ...*Var) *Var {
				return BCEWithLogits(xs[0], q, tensor.New([]float32{0.5, 1, 2, 3, 4}, 5), r)
			}, []*tensor.Tensor{lossInput(9, -5, 5, 4, 5)}},
			"MSE": {func(xs ...*Var) *Var { return MSE(xs[0], xs[1], r) },
				[]*tensor.Tensor{lossInput(10, -2, 2, 4, 5), lossInput(11, -2, 2, 4, 5)}},
			"L1": {func(xs ...*Var) *Var { return L1(xs[0], xs[1], r) },
				[]*tensor.Tensor{lossInput(12, -2, 2, 4, 5), lossInput(13, -2, 2, 4, 5)}},
			"Huber": {func(xs ...*Var) *Var { return Huber(xs[0], xs[1], 0.7, r) },
				[]*tensor.Tensor{lossInput(14, -2, 2, 4, 5), lossInput(15, -2, 2, 4, 5)}},
			"SmoothL1": {func(xs ...*Var) *Var { return SmoothL1(xs[0], xs[1], 0.5, r) },
				[]*tensor.Tensor{lossInput(16, -2, 2, 4, 5), lossInput(17, -2, 2, 4, 5)}},
			"MSEColumnTarget": {func(xs ...*Var) *Var { return MSE(xs[0], xs[1], r) },
				[]*tensor.Tensor{lossInput(18, -2, 2, 6), lossInput(19, -2, 2, 6, 1)}},
		}
		for name, c := range cases {
			t.Run(name+"/"+r.String(), func(t *testing.T) { requireGrad(t, c.f, c.inputs...) })
		}
	}
}

func TestElementwiseLossValues(t *testing.T) {
	a := tensor.New([]float32{1, 2, -3, 0.5}, 4)
	b := tensor.New([]float32{0, 2.5, 1, 1.5}, 4)
	cases := []struct {
		name string
		f    func(p, t *Var, r Reduction) *Var
		none []float64
	}{
		// Hand-computed: e = p − t = [1, −0.5, −4, −1].
		{"MSE", MSE, []float64{1, 0.25, 16, 1}},
		{"L1", L1, []float64{1, 0.5, 4, 1}},
		// delta 1: ½e² inside, |e| − ½ outside; |e| = 1 is on the boundary.
		{"Huber", func(p, t *Var, r Reduction) *Var { return Huber(p, t, 1, r) }, []float64{0.5, 0.125, 3.5, 0.5}},
		// beta 0.5: ½e²/β inside, |e| − β/2 outside.
		{"SmoothL1", func(p, t *Var, r Reduction) *Var { return SmoothL1(p, t, 0.5, r) }, []float64{0.75, 0.25, 3.75, 0.75}},
		{"SmoothL1Beta0", func(p, t *Var, r Reduction) *Var { return SmoothL1(p, t, 0, r) }, []float64{1, 0.5, 4, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sum := 0.0
			for _, v := range c.none {
				sum += v
			}
			requireNear(t, c.none, c.f(Constant(a), Constant(b), ReduceNone).Value(), 1e-7)
			requireNear(t, []float64{sum}, c.f(Constant(a), Constant(b), ReduceSum).Value(), 1e-7)
			requireNear(t, []float64{sum / 4}, c.f(Constant(a), Constant(b), ReduceMean).Value(), 1e-7)
		})
	}
}

func TestRegressionTargetGradient(t *testing.T) {
	p := NewVar(tensor.New([]float32{1, 2, -3}, 3, 1))
	y := NewVar(tensor.New([]float32{0, 2.5, 1}, 3))
	loss := MSE(p, y, ReduceSum)
	loss.Backward()
	require.Equal(t, []int{3, 1}, p.Grad().Shape())
	require.Equal(t, []int{3}, y.Grad().Shape())
	require.Equal(t, []float32{2, -1, -8}, p.Grad().Data())
	require.Equal(t, []float32{-2, 1, 8}, y.Grad().Data())
}

func TestHuberAtDeltaBoundary(t *testing.T) {
	const delta = 0.5
	// e exactly ±delta, just inside and just outside.
	e := []float32{delta, -delta, delta - 1e-3, delta + 1e-3, -delta - 1e-3}
	p := NewVar(tensor.New(append([]float32(nil), e...), len(e)))
	loss := Huber(p, Constant(tensor.Zeros(len(e))), delta, ReduceNone)
	want := []float64{0.125, 0.125, 0.5 * 0.499 * 0.499, 0.5 * (0.501 - 0.25), 0.5 * (0.501 - 0.25)}
	requireNear(t, want, loss.Value(), 1e-6)
	loss.BackwardWith(tensor.Ones(len(e)))
	// The gradient is e inside and ±delta outside: continuous at the boundary.
	requireNear(t, []float64{0.5, -0.5, 0.499, 0.5, -0.5}, p.Grad(), 1e-6)
}

func TestBinaryCrossEntropyClamping(t *testing.T) {
	p := NewVar(tensor.New([]float32{0.9, 0.2, 0.5, 0, 1, 0, 1}, 7))
	y := tensor.New([]float32{1, 0, 1, 1, 1, 0, 0}, 7)
	loss := BinaryCrossEntropy(p, y, ReduceNone)
	requireNear(t, []float64{-math.Log(0.9), -math.Log(0.8), math.Ln2, 100, 0, 0, 100}, loss.Value(), 1e-6)
	loss.BackwardWith(tensor.Ones(7))
	// (p − y)/max(p(1−p), 1e-12), as PyTorch: large but finite at 0 and 1.
	requireNear(t, []float64{-1 / 0.9, 1 / 0.8, -2, -1e12, 0, 0, 1e12}, p.Grad(), 1e-5)

	mean := BinaryCrossEntropy(Constant(p.Value()), y, ReduceMean).Value().Item()
	require.InDelta(t, (-math.Log(0.9)-math.Log(0.8)+math.Ln2+200)/7, float64(mean), 1e-5)
}

func TestBCEWithLogitsStable(t *testing.T) {
	x := tensor.New([]float32{100, -100, 0.5, -2, 3, 100, -100}, 7)
	y := tensor.New([]float32{0, 1, 1, 0, 0.7, 1, 0}, 7)
	v := NewVar(x)
	loss := BCEWithLogits(v, y, nil, ReduceNone)
	requireNear(t, []float64{100, 100, 0.4740769841801067, 0.1269280110429726, 0.9485873515737421, 0, 0}, loss.Value(), 1e-6)
	loss.BackwardWith(tensor.Ones(7))
	// σ(x) − y.
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	requireNear(t, []float64{1, -1, sig(0.5) - 1, sig(-2), sig(3) - 0.7, 0, 0}, v.Grad(), 1e-6)

	pw := BCEWithLogits(Constant(x), y, tensor.New([]float32{2}, 1), ReduceNone)
	requireNear(t, []float64{100, 200, 0.9481539683602134, 0.1269280110429727, 0.9825984976753614, 0, 0}, pw.Value(), 1e-6)
}

func TestBCEWithLogitsPosWeightPerClass(t *testing.T) {
	x := lossInput(21, -3, 3, 3, 2)
	y := tensor.New([]float32{1, 0, 0, 1, 1, 1}, 3, 2)
	w := tensor.New([]float32{2, 5}, 2)
	got := BCEWithLogits(Constant(x), y, w, ReduceNone).Value().Data()
	for i, xv := range x.Data() {
		z, t1 := float64(xv), float64(y.Data()[i])
		pos := float64(w.Data()[i%2])
		sig := 1 / (1 + math.Exp(-z))
		want := -(pos*t1*math.Log(sig) + (1-t1)*math.Log(1-sig))
		require.InDelta(t, want, float64(got[i]), 1e-5)
	}
}

func TestLossPanics(t *testing.T) {
	x := Constant(tensor.Zeros(2, 3))
	cases := map[string]struct {
		f    func()
		want string
	}{
		"target range":  {func() { SoftmaxCrossEntropy(x, []int{0, 3}, 0, ReduceMean) }, "autograd.SoftmaxCrossEntropy: target 3 of sample 1 is not a class index in [0, 3)"},
		"target count":  {func() { SoftmaxCrossEntropy(x, []int{0}, 0, ReduceMean) }, "autograd.SoftmaxCrossEntropy: 1 targets for input of shape [2 3]"},
		"rank":          {func() { NLL(Constant(tensor.Zeros(6)), []int{0}, ReduceMean) }, "autograd.NLL: input must be [batch, classes], got shape [6]"},
		"smoothing":     {func() { SoftmaxCrossEntropy(x, []int{0, 1}, 1.5, ReduceMean) }, "autograd.SoftmaxCrossEntropy: label smoothing 1.5 is not in [0, 1]"},
		"probs shape":   {func() { SoftmaxCrossEntropyProbs(x, tensor.Zeros(3, 2), 0, ReduceMean) }, "autograd.SoftmaxCrossEntropyProbs: input shape [2 3] and target shape [3 2] must be the same [batch, classes]"},
		"pair shape":    {func() { MSE(x, Constant(tensor.Zeros(3, 2)), ReduceMean) }, "autograd.MSE: prediction shape [2 3] and target shape [3 2] differ"},
		"bce range":     {func() { BinaryCrossEntropy(Constant(tensor.Full(1.5, 2)), tensor.Zeros(2), ReduceMean) }, "autograd.BinaryCrossEntropy: input element 0 is 1.5, not a probability in [0, 1]"},
		"pos weight":    {func() { BCEWithLogits(x, tensor.Zeros(2, 3), tensor.Zeros(2), ReduceMean) }, "autograd.BCEWithLogits: pos_weight shape [2] matches neither one value nor the last axis of input shape [2 3]"},
		"huber delta":   {func() { Huber(x, x, 0, ReduceMean) }, "autograd.Huber: delta 0 must be positive"},
		"bad reduction": {func() { L1(x, x, Reduction(7)) }, "autograd.L1: unknown reduction Reduction(7)"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { require.PanicsWithValue(t, c.want, c.f) })
	}
}

func TestSameElements(t *testing.T) {
	cases := []struct {
		a, b []int
		ok   bool
	}{
		{[]int{4}, []int{4}, true},
		{[]int{4}, []int{4, 1}, true},
		{[]int{1, 4}, []int{4, 1}, true},
		{[]int{}, []int{1}, true},
		{[]int{4}, []int{2, 2}, false},
		{[]int{4, 3}, []int{3, 4}, false},
		{[]int{4}, []int{4, 2}, false},
	}
	for _, c := range cases {
		require.Equal(t, c.ok, sameElements(c.a, c.b), "%v %v", c.a, c.b)
	}
}

func TestLossInArena(t *testing.T) {
	a := NewArena()
	x := lossInput(31, -2, 2, 4, 3)
	targets := []int{0, 1, 2, 0}
	want := SoftmaxCrossEntropy(Constant(x), targets, 0.1, ReduceMean).Value().Item()
	for range 3 {
		a.Reset()
		got := SoftmaxCrossEntropy(a.Input(x), targets, 0.1, ReduceMean)
		require.Equal(t, want, got.Value().Item())
		require.False(t, got.RequiresGrad())
	}
	allocs := testalloc.PerRun(10, func() {
		a.Reset()
		SoftmaxCrossEntropy(a.Input(x), targets, 0.1, ReduceMean)
	})
	require.Zero(t, allocs)
}

func BenchmarkSoftmaxCrossEntropy(b *testing.B) {
	const batch, classes = 64, 10
	x := lossInput(41, -3, 3, batch, classes)
	targets := make([]int, batch)
	for i := range targets {
		targets[i] = i % classes
	}
	w := NewVar(x)
	b.ReportAllocs()
	for b.Loop() {
		loss := SoftmaxCrossEntropy(w, targets, 0, ReduceMean)
		loss.Backward()
	}
}

func BenchmarkSoftmaxCrossEntropyUnfused(b *testing.B) {
	const batch, classes = 64, 10
	x := lossInput(41, -3, 3, batch, classes)
	targets := make([]int, batch)
	for i := range targets {
		targets[i] = i % classes
	}
	w := NewVar(x)
	b.ReportAllocs()
	for b.Loop() {
		loss := NLL(LogSoftmax(w, 1), targets, ReduceMean)
		loss.Backward()
	}
}

func TestReductionString(t *testing.T) {
	require.Equal(t, "mean", ReduceMean.String())
	require.Equal(t, "sum", ReduceSum.String())
	require.Equal(t, "none", ReduceNone.String())
	require.Equal(t, "Reduction(9)", Reduction(9).String())
}

func ExampleSoftmaxCrossEntropy() {
	logits := NewVar(tensor.New([]float32{
		1e4, 0, -1e4, // extreme logits stay exact
		2, 1, 0.1,
	}, 2, 3))
	loss := SoftmaxCrossEntropy(logits, []int{1, 0}, 0, ReduceNone)
	fmt.Printf("%.4f\n", loss.Value().Data())

	mean := SoftmaxCrossEntropy(logits, []int{1, 0}, 0, ReduceMean)
	mean.Backward()
	fmt.Printf("%.4f\n", logits.Grad().Data())
	// Output:
	// [10000.0000 0.4170]
	// [0.5000 -0.5000 0.0000 -0.1705 0.1212 0.0493]
}

func ExampleBCEWithLogits() {
	logits := NewVar(tensor.New([]float32{100, -100, 0}, 3))
	targets := tensor.New([]float32{0, 0, 1}, 3)
	loss := BCEWithLogits(logits, targets, nil, ReduceNone)
	fmt.Printf("%.4f\n", loss.Value().Data())
	// Output:
	// [100.0000 0.0000 0.6931]
}
