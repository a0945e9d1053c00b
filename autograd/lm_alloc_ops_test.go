package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
)

// TestLayerNormAttentionAllocations checks that a warm forward and
// backward of LayerNorm and of causal SelfAttention, through an arena
// reset per step, allocate nothing, on one worker and on two (where both
// spread their rows and heads over the pool).
func TestLayerNormAttentionAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	const b, tt, e = 4, 64, 128
	x, g := rnd(900, -1, 1, b, tt, e), rnd(901, -1, 1, b, tt, e)
	qkv := rnd(902, -1, 1, b, tt, 3*e)
	w, bias := NewVar(rnd(903, 0.5, 1.5, e)), NewVar(rnd(904, -1, 1, e))
	wq := NewVar(rnd(905, -1, 1, b, tt, 3*e))
	a := NewArena()
	steps := map[string]func(){
		"LayerNorm": func() {
			a.Reset()
			LayerNorm(a.Constant(x), w, bias, 1, 1e-5).BackwardWith(g)
		},
		"SelfAttention": func() {
			a.Reset()
			SelfAttention(Add(a.Constant(qkv), wq), AttentionOptions{Heads: 4, Causal: true}).BackwardWith(g)
		},
	}
	for name, step := range steps {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprint(name, "/workers", workers), func(t *testing.T) {
				defer parallel.SetWorkers(parallel.SetWorkers(workers))
				step()
				require.Zero(t, testalloc.PerRun(10, step))
			})
		}
	}
}

// TestSoftmaxCrossEntropySplitAllocations checks that a warm forward and
// backward of the cross-entropy, large enough to split its rows across the
// pool on two workers, allocates nothing through an arena reset per step:
// the split loops take their work from pooled tasks, not new closures.
func TestSoftmaxCrossEntropySplitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	const b, c = 384, 96 // 36864 ≥ ceParallelWork
	x, q := rnd(910, -3, 3, b, c), rnd(911, 0, 1, b, c)
	targets := make([]int, b)
	for i := range targets {
		targets[i] = (7 * i) % c
	}
	w := NewVar(rnd(912, -1, 1, b, c))
	a := NewArena()
	for _, probs := range []bool{false, true} {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprint("probabilities ", probs, "/workers", workers), func(t *testing.T) {
				defer parallel.SetWorkers(parallel.SetWorkers(workers))
				step := func() {
					a.Reset()
					in := Add(a.Constant(x), w)
					if probs {
						SoftmaxCrossEntropyProbs(in, q, 0.1, ReduceMean).Backward()
					} else {
						SoftmaxCrossEntropy(in, targets, 0.1, ReduceMean).Backward()
					}
				}
				step()
				require.Zero(t, testalloc.PerRun(10, step))
			})
		}
	}
}
