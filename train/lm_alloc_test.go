package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// charGRU is charLSTM with GRU layers.
func charGRU() *nn.RNNLM {
	return nn.NewRNNLM(nn.RNNLMConfig{Vocab: benchVocab, Embed: 64, Hidden: 256, Layers: 2, GRU: true}, nn.WithSeed(1))
}

// TestLMStepAllocations counts the allocations of one warm training step
// of the example language models — forward, next-token cross-entropy,
// backward, gradient clipping and AdamW, through an arena reset per step,
// as BenchmarkLMStep runs it — on one worker and on two (where the
// recurrent layers run as a wavefront: 40 steps of a batch of 8, and 96
// of a batch of 4, are more than one hand-on chunk). A step allocates a
// few small records of the layers around the recurrent stack, the same
// bounded number at both sizes (none per time step or sample); every op
// of the tape, the recurrent stack's record and its closures come from
// the arena or from pools.
func TestLMStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	batches := func(batch, seqLen int) (x, y *tensor.Tensor) {
		r := rand.New(rand.NewPCG(1, 2))
		ids := make([]int, batch*(seqLen+1))
		for i := range ids {
			ids[i] = r.IntN(benchVocab)
		}
		return nn.IDs(ids[:batch*seqLen], batch, seqLen), nn.IDs(ids[batch:], batch, seqLen)
	}
	for _, c := range []struct {
		name  string
		build func() nn.Module
		max   float64
	}{
		{"lstm", func() nn.Module { return charLSTM() }, 10},
		{"gru", func() nn.Module { return charGRU() }, 10},
		// Most of the GPT's are the closures of LayerNorm and attention.
		{"gpt", func() nn.Module { return charGPT() }, 80},
	} {
		for _, sz := range [][2]int{{8, 40}, {4, 96}} {
			for _, workers := range []int{1, 2} {
				t.Run(fmt.Sprint(c.name, "/", sz[0], "x", sz[1], "/workers", workers), func(t *testing.T) {
					x, y := batches(sz[0], sz[1])
					prev := parallel.SetWorkers(workers)
					defer parallel.SetWorkers(prev)
					m := c.build()
					nn.Train(m)
					params := m.Params()
					opt := optim.NewAdamW(params, optim.AdamWConfig{LR: 1e-3})
					arena := autograd.NewArena()
					step := func() {
						arena.Reset()
						loss := nn.CrossEntropyLoss{}.Forward(m.Forward(arena.Constant(x)), y)
						loss.Backward()
						optim.ClipGradNorm(params, 1)
						opt.Step()
						opt.ZeroGrad()
					}
					// Warm: the arena, the optimizer's state and the pools of
					// the kernels and of the runtime's goroutine handoffs.
					for range 3 {
						step()
					}
					allocs := testalloc.PerRun(5, step)
					t.Logf("%v allocations per step", allocs)
					limit := c.max
					if c.name == "gpt" {
						limit += 40 * float64(workers-1) // LayerNorm's parallel loops
					}
					require.LessOrEqual(t, allocs, limit)
				})
			}
		}
	}
}
