package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// onWorkers runs f with the pool fixed at one worker, then at two, and
// returns both results.
func onWorkers[T any](t *testing.T, f func() T) (one, two T) {
	prev := parallel.SetWorkers(1)
	t.Cleanup(func() { parallel.SetWorkers(prev) })
	one = f()
	parallel.SetWorkers(2)
	two = f()
	return one, two
}

// TestLinearRowsSplitExact checks that Linear's bias seeding and bias
// gradient, split across workers for large outputs, give the one-worker
// results bit for bit, with a width that is not a multiple of 16.
func TestLinearRowsSplitExact(t *testing.T) {
	const n, in, out = 600, 20, 131
	x, w, b := rnd(1, -1, 1, n, in), rnd(2, -1, 1, out, in), rnd(3, -1, 1, out)
	g := rnd(4, -1, 1, n, out)
	run := func() [][]float32 {
		vs := []*Var{NewVar(x), NewVar(w), NewVar(b)}
		y := Linear(vs[0], vs[1], vs[2])
		y.BackwardWith(g)
		return [][]float32{y.Value().Data(), vs[0].Grad().Data(), vs[1].Grad().Data(), vs[2].Grad().Data()}
	}
	one, two := onWorkers(t, run)
	for i := range one {
		require.Equal(t, one[i], two[i], "result %d", i)
	}
	// The bias gradient is the column sums of g, row by row.
	want := make([]float32, out)
	for i := range n {
		for j := range want {
			want[j] += g.Data()[i*out+j]
		}
	}
	require.Equal(t, want, two[3], "bias gradient")
}

// TestSoftmaxCrossEntropyRowsSplitExact checks that the cross-entropy and
// its gradient, split across workers for large inputs, give the
// one-worker results bit for bit, for every reduction, with and without
// smoothing, for class and probability targets.
func TestSoftmaxCrossEntropyRowsSplitExact(t *testing.T) {
	const b, c = 1001, 92
	x := rnd(5, -4, 4, b, c)
	r := rand.New(rand.NewPCG(6, 7))
	targets := make([]int, b)
	for i := range targets {
		targets[i] = r.IntN(c)
	}
	q := rnd(8, 0, 1, b, c)
	for _, red := range []Reduction{ReduceMean, ReduceSum, ReduceNone} {
		for _, eps := range []float32{0, 0.1} {
			for _, probs := range []bool{false, true} {
				run := func() [][]float32 {
					v := NewVar(x)
					var l *Var
					if probs {
						l = SoftmaxCrossEntropyProbs(v, q, eps, red)
					} else {
						l = SoftmaxCrossEntropy(v, targets, eps, red)
					}
					l.BackwardWith(rnd(9, -1, 1, l.Shape()...))
					return [][]float32{l.Value().Data(), v.Grad().Data()}
				}
				one, two := onWorkers(t, run)
				require.Equal(t, one[0], two[0], "loss, reduction %v, smoothing %v, probabilities %v", red, eps, probs)
				require.Equal(t, one[1], two[1], "gradient, reduction %v, smoothing %v, probabilities %v", red, eps, probs)
			}
		}
	}
}

// TestSelfAttentionGradInArena checks SelfAttention's gradient when its
// buffer comes back from an arena holding the last step's values: each
// (batch, head) pair must clear its blocks before summing into them.
func TestSelfAttentionGradInArena(t *testing.T) {
	const b, tt, e, heads = 2, 40, 16, 2
	x := rnd(11, -1, 1, b*tt, e)
	gy := rnd(12, -1, 1, b, tt, e)
	w := NewVar(rnd(13, -0.5, 0.5, 3*e, e))
	step := func(in *Var) []float32 {
		w.ZeroGrad()
		qkv := Reshape(Linear(in, w, nil), b, tt, 3*e)
		SelfAttention(qkv, AttentionOptions{Heads: heads, Causal: true}).BackwardWith(gy)
		return append([]float32(nil), w.Grad().Data()...)
	}
	want := step(Constant(x))
	a := NewArena()
	for i := range 3 {
		a.Reset()
		require.Equal(t, want, step(a.Constant(x)), "step %d", i)
	}
}

// TestLayerNormSplitExact checks that LayerNorm's backward, split across
// workers for large inputs, gives the one-worker gradients bit for bit
// (the weight and bias gradients are summed per fixed chunk of rows, the
// chunks then in order), with a width that is not a multiple of 16.
func TestLayerNormSplitExact(t *testing.T) {
	const n, d = 600, 131
	x, w, b := rnd(21, -2, 2, n, d), rnd(22, 0.5, 1.5, d), rnd(23, -1, 1, d)
	g := rnd(24, -1, 1, n, d)
	run := func() [][]float32 {
		vs := []*Var{NewVar(x), NewVar(w), NewVar(b)}
		LayerNorm(vs[0], vs[1], vs[2], 1, 1e-5).BackwardWith(g)
		return [][]float32{vs[0].Grad().Data(), vs[1].Grad().Data(), vs[2].Grad().Data()}
	}
	one, two := onWorkers(t, run)
	for i := range one {
		require.Equal(t, one[i], two[i], "gradient %d", i)
	}
}
