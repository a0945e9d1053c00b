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
)

// charGRU is charLSTM with GRU layers.
func charGRU() *nn.RNNLM {
	return nn.NewRNNLM(nn.RNNLMConfig{Vocab: benchVocab, Embed: 64, Hidden: 256, Layers: 2, GRU: true}, nn.WithSeed(1))
}

// TestLMStepAllocations counts the allocations of one warm training step
// of the example language models — forward, next-token cross-entropy,
// backward, gradient clipping and AdamW, through an arena reset per step,
// as BenchmarkLMStep runs it — on one worker and on two (where the
// recurrent layers run as a wavefront: 40 steps of a batch of 8 is more
// than one hand-on chunk). A step allocates a few small records of the
// layers around the recurrent stack, a constant that depends neither on
// the sequence length nor on the batch; every op of the tape, the
// recurrent stack's record and its closures come from the arena or from
// pools.
func TestLMStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const batch, seqLen = 8, 40
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]int, batch*(seqLen+1))
	for i := range ids {
		ids[i] = r.IntN(benchVocab)
	}
	x := nn.IDs(ids[:batch*seqLen], batch, seqLen)
	y := nn.IDs(ids[batch:], batch, seqLen)
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
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprint(c.name, "/workers", workers), func(t *testing.T) {
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
