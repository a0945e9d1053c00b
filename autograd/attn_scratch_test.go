package autograd

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
)

// TestAttentionScratchSurvivesCollection checks that the attention's
// per-worker score blocks are kept across garbage collections: a warm
// training step of causal self-attention, forward and backward, on one
// worker, allocates nothing even with two collections before it (which
// empty a sync.Pool).
func TestAttentionScratchSurvivesCollection(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	defer parallel.SetWorkers(parallel.SetWorkers(1))
	x := rnd(310, -1, 1, 2, 33, 24)
	gy := rnd(311, -1, 1, 2, 33, 8)
	a := NewArena()
	qkv := NewVar(x)
	step := func() {
		a.Reset()
		qkv.ZeroGrad()
		SelfAttention(Mul(qkv, a.Constant(x)), AttentionOptions{Heads: 2, Causal: true}).BackwardWith(gy)
	}
	for range 3 {
		step()
	}
	allocs := testalloc.PerRun(5, func() {
		runtime.GC()
		runtime.GC()
		step()
	})
	require.Zero(t, allocs)
}
