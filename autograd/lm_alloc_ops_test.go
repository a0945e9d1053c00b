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
