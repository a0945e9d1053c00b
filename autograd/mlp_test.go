package autograd

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
)

// crossEntropy is the mean negative log-likelihood of the target classes,
// composed from primitive ops.
func crossEntropy(logits *Var, onehot *tensor.Tensor) *Var {
	n := float32(logits.Value().Dim(0))
	return MulScalar(Sum(Mul(LogSoftmax(logits, -1), Constant(onehot)), false), -1/n)
}

// xorData makes n points in [-1,1]² labelled by the sign of x·y.
func xorData(n int, seed uint64) (*tensor.Tensor, []int) {
	r := rand.New(rand.NewPCG(seed, 1))
	x := tensor.RandU(r, -1, 1, n, 2)
	labels := make([]int, n)
	for i := range labels {
		if x.At(i, 0)*x.At(i, 1) > 0 {
			labels[i] = 1
		}
	}
	return x, labels
}

type mlp struct{ w1, b1, w2, b2 *Var }

func newMLP(r *rand.Rand, in, hidden, out int) *mlp {
	return &mlp{
		w1: NewVar(tensor.RandN(r, 0, 1/float32(in), hidden, in)),
		b1: NewVar(tensor.Zeros(hidden)),
		w2: NewVar(tensor.RandN(r, 0, 0.3, out, hidden)),
		b2: NewVar(tensor.Zeros(out)),
	}
}

func (m *mlp) forward(x *Var) *Var {
	return Linear(Tanh(Linear(x, m.w1, m.b1)), m.w2, m.b2)
}

func TestMLPLearnsXOR(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 0))
	x, labels := xorData(256, 1)
	onehot := tensor.OneHot(labels, 2)
	m := newMLP(r, 2, 16, 2)
	params := []*Var{m.w1, m.b1, m.w2, m.b2}
	var first, last float32
	for step := 0; step < 1500; step++ {
		loss := crossEntropy(m.forward(Constant(x)), onehot)
		loss.Backward()
		for _, p := range params {
			tensor.AddScaled(p.Value(), -0.5, p.Grad())
			p.ZeroGrad()
		}
		if step == 0 {
			first = loss.Value().Item()
		}
		last = loss.Value().Item()
	}
	t.Logf("loss %.4f -> %.4f", first, last)
	require.Less(t, last, float32(0.1), "XOR loss did not fall below 0.1")
	pred := tensor.ArgMax(m.forward(NoGrad(x)).Value(), 1)
	correct := 0
	for i, p := range pred {
		if p == labels[i] {
			correct++
		}
	}
	require.GreaterOrEqual(t, correct, 245)
}

func TestMLPGradientsPassChecker(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 0))
	x, labels := xorData(8, 2)
	onehot := tensor.OneHot(labels, 2)
	m := newMLP(r, 2, 5, 2)
	checkGrad(t, func(xs ...*Var) *Var {
		mm := &mlp{xs[0], xs[1], xs[2], xs[3]}
		return crossEntropy(mm.forward(Constant(x)), onehot)
	}, m.w1.Value(), m.b1.Value(), m.w2.Value(), m.b2.Value())
}

func TestArenaInferenceAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	r := rand.New(rand.NewPCG(1, 1))
	m := newMLP(r, 64, 32, 10)
	x := tensor.RandN(r, 0, 1, 16, 64)
	a := NewArena()
	run := func() {
		a.Reset()
		Softmax(ReLU(m.forward(a.Input(x))), -1)
	}
	run()
	want := Softmax(ReLU(m.forward(NoGrad(x))), -1).Value()
	a.Reset()
	got := Softmax(ReLU(m.forward(a.Input(x))), -1).Value()
	require.True(t, tensor.AllClose(want, got, 0, 0))
	allocs := testalloc.PerRun(20, run)
	t.Logf("allocs per arena forward: %v", allocs)
	require.Zero(t, allocs)
}

func BenchmarkMLPForwardBackward(b *testing.B) {
	// A small MLP step: [64,784] → 128 ReLU → 10, mean cross-entropy.
	r := rand.New(rand.NewPCG(1, 1))
	w1 := NewVar(tensor.RandN(r, 0, 0.05, 128, 784))
	b1 := NewVar(tensor.Zeros(128))
	w2 := NewVar(tensor.RandN(r, 0, 0.1, 10, 128))
	b2 := NewVar(tensor.Zeros(10))
	x := tensor.RandU(r, 0, 1, 64, 784)
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = i % 10
	}
	onehot := tensor.OneHot(labels, 10)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		loss := crossEntropy(Linear(ReLU(Linear(Constant(x), w1, b1)), w2, b2), onehot)
		loss.Backward()
		for _, p := range []*Var{w1, b1, w2, b2} {
			p.ZeroGrad()
		}
	}
}

func BenchmarkTapeOverhead(b *testing.B) {
	// Tiny tensors, so the figure is the cost of recording and walking the
	// tape rather than arithmetic.
	x := NewVar(tensor.Ones(4, 4))
	w := NewVar(tensor.Ones(4, 4))
	b.ReportAllocs()
	for range b.N {
		h := x
		for range 10 {
			h = Tanh(Add(MatMul(h, w), x))
		}
		Sum(h, false).Backward()
	}
}

// mlpStepData is the batch of BenchmarkMLPForwardBackward.
func mlpStepData() (w []*Var, x, onehot *tensor.Tensor) {
	r := rand.New(rand.NewPCG(1, 1))
	w = []*Var{
		NewVar(tensor.RandN(r, 0, 0.05, 128, 784)), NewVar(tensor.RandN(r, 0, 0.1, 128)),
		NewVar(tensor.RandN(r, 0, 0.1, 10, 128)), NewVar(tensor.RandN(r, 0, 0.1, 10)),
	}
	x = tensor.RandU(r, 0, 1, 64, 784)
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = i % 10
	}
	return w, x, tensor.OneHot(labels, 10)
}

// mlpStep runs one training step of a 784→128 ReLU→10 MLP with the
// softmax cross-entropy on in, a Constant or an arena's Constant.
func mlpStep(w []*Var, in *Var, labels []int) *Var {
	loss := SoftmaxCrossEntropy(Linear(ReLU(Linear(in, w[0], w[1])), w[2], w[3]), labels, 0, ReduceMean)
	loss.Backward()
	return loss
}

func TestArenaTrainingStepMatchesPlain(t *testing.T) {
	// Steps through an arena (each reusing the previous step's buffers,
	// the short batch reusing their storage) give the same loss and
	// parameter gradients, bit for bit, as the same steps without one; a
	// stale or aliased buffer would not.
	w, x, _ := mlpStepData()
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = (i * 7) % 10
	}
	x2 := tensor.MulScalar(x, 0.5)
	short := tensor.Slice(x, 0, 0, 32)
	grads := func() []*tensor.Tensor {
		var g []*tensor.Tensor
		for _, p := range w {
			g = append(g, p.Grad().Clone())
			p.ZeroGrad()
		}
		return g
	}
	a := NewArena()
	for i, in := range []*tensor.Tensor{x, x2, short, x, x2} {
		lb := labels[:in.Dim(0)]
		wantL := mlpStep(w, Constant(in), lb).Value().Item()
		wantG := grads()
		a.Reset()
		loss := mlpStep(w, a.Constant(in), lb)
		gotG := grads()
		require.Equal(t, wantL, loss.Value().Item(), "step %d", i)
		for j := range wantG {
			require.True(t, tensor.AllClose(wantG[j], gotG[j], 0, 0), "step %d, gradient %d", i, j)
		}
	}
}

func TestArenaTrainingStepAllocates(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	w, x, _ := mlpStepData()
	labels := make([]int, 64)
	a := NewArena()
	step := func() {
		a.Reset()
		mlpStep(w, a.Constant(x), labels)
		for _, p := range w {
			p.ZeroGrad()
		}
	}
	step()
	// No collection during the measurement: a GC empties the sync.Pools
	// behind the kernels' scratch, and refilling them would be counted as
	// the step's allocation.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	step()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		step()
	}
	runtime.ReadMemStats(&after)
	perStep := float64(after.TotalAlloc-before.TotalAlloc) / 10
	t.Logf("bytes per arena training step: %.0f", perStep)
	// Without the arena a step allocates ~0.6 MB (activations and
	// gradients); with it only closures and small slices remain (~6 kB).
	require.Less(t, perStep, 50000.0)
}

// BenchmarkMLPTrainStepArena is BenchmarkMLPForwardBackward's step drawing
// every buffer from an arena.
func BenchmarkMLPTrainStepArena(b *testing.B) {
	w, x, _ := mlpStepData()
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = i % 10
	}
	a := NewArena()
	b.ReportAllocs()
	for b.Loop() {
		a.Reset()
		mlpStep(w, a.Constant(x), labels)
		for _, p := range w {
			p.ZeroGrad()
		}
	}
}
