package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// TestArenaTrainingStepAllocatesNothing is the flagship MLP's training step
// (Flatten of an image batch, Linear+ReLU, Linear, softmax cross-entropy,
// Backward, ZeroGrad) through an arena: once warm it allocates nothing,
// and its gradients equal those of the same step without an arena.
func TestArenaTrainingStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	w, x, _ := mlpStepData()
	img := x.Reshape(64, 1, 28, 28) // the loader's reused batch buffer
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = (i * 3) % 10
	}
	step := func(in *Var) *Var {
		loss := SoftmaxCrossEntropy(Linear(ReLU(Linear(Flatten(in), w[0], w[1])), w[2], w[3]), labels, 0, ReduceMean)
		loss.Backward()
		return loss
	}
	wantL := step(Constant(img)).Value().Item()
	var want []*tensor.Tensor
	for _, p := range w {
		want = append(want, p.Grad().Clone())
		p.ZeroGrad()
	}
	a := NewArena()
	run := func() {
		a.Reset()
		step(a.Constant(img))
		for _, p := range w {
			p.ZeroGrad()
		}
	}
	run()
	allocs := testalloc.PerRun(20, run)
	require.Zero(t, allocs)
	a.Reset()
	require.Equal(t, wantL, step(a.Constant(img)).Value().Item())
	for i, p := range w {
		require.True(t, tensor.AllClose(want[i], p.Grad(), 0, 0), "gradient of parameter %d", i)
	}
}

// TestLinearSharedWeight checks the gradient of a weight and bias used by
// two Linear calls: each backward adds its share into the parameter's
// gradient directly, and neither may overwrite the other's.
func TestLinearSharedWeight(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	x := tensor.RandN(r, 0, 1, 3, 4)
	w := tensor.RandN(r, 0, 0.5, 4, 4)
	b := tensor.RandN(r, 0, 0.5, 4)
	checkGrad(t, func(xs ...*Var) *Var {
		return Linear(Tanh(Linear(xs[0], xs[1], xs[2])), xs[1], xs[2])
	}, x, w, b)
}

// TestArenaViewFollowsStorage checks that an arena reuses a reshaped view
// only while it shows the same storage with the same shape.
func TestArenaViewFollowsStorage(t *testing.T) {
	a := NewArena()
	x := tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	y := tensor.New([]float32{7, 8, 9, 10, 11, 12}, 2, 3)
	v1 := a.view(x, []int{3, -1})
	a.Reset()
	require.Same(t, v1, a.view(x, []int{3, 2}))
	a.Reset()
	v2 := a.view(y, []int{3, -1})
	require.Equal(t, []float32{7, 8, 9, 10, 11, 12}, v2.Data())
	require.Equal(t, []int{3, 2}, v2.Shape())
	a.Reset()
	v3 := a.view(y, []int{-1})
	require.Equal(t, []int{6}, v3.Shape())
	require.Panics(t, func() { a.view(y, []int{4, -1}) })
}
