package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/metrics"
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
// recurrent layers run as a wavefront: 40 steps of a batch of 8, and 96
// of a batch of 4, are more than one hand-on chunk). Every op of the
// tape, the recurrent stack's record and its closures come from the arena
// or from pools, and the cross-entropy's split loops (it splits 384 rows
// across workers at the second size) take pooled tasks: a warm step
// allocates nothing (none per time step or sample).
func TestLMStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, c := range []struct {
		name  string
		build func() nn.Module
		max   float64
	}{
		{"lstm", func() nn.Module { return charLSTM() }, 0},
		{"gru", func() nn.Module { return charGRU() }, 0},
		{"gpt", func() nn.Module { return charGPT() }, 0},
	} {
		for _, sz := range [][2]int{{8, 40}, {4, 96}} {
			for _, workers := range []int{1, 2} {
				t.Run(fmt.Sprint(c.name, "/", sz[0], "x", sz[1], "/workers", workers), func(t *testing.T) {
					x, y := lmBatch(sz[0], sz[1])
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
					// On two workers the runtime may refill its cache of
					// goroutine wait records when the handoffs between
					// workers fall differently.
					limit := c.max + 2*float64(workers-1)
					require.LessOrEqual(t, allocs, limit)
				})
			}
		}
	}
}

// TestFitStepAllocations counts what a training step costs inside Fit —
// the loader's batch, the step through Fit's arena, the metrics and the
// optimizer — as the growth from an epoch of 10 steps to one of 70: for
// the MNIST MLP over an in-memory data set and for a GRU language model
// over a text.Windows data set with per-token metrics and gradient
// clipping, and for a small GPT trained as two shares side by side
// (Shards: 2: the shares' views, arenas and merges reuse their buffers).
// What an epoch costs once (its arena, loader and history) is
// not counted; a step allocates nothing.
func TestFitStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	r := rand.New(rand.NewPCG(5, 6))
	stream := make([]int32, 4000)
	for i := range stream {
		stream[i] = int32(r.IntN(benchVocab))
	}
	const batch = 8
	for _, c := range []struct {
		name  string
		model nn.Module
		data  func(steps int) data.Dataset
		cfg   Config
	}{
		{"mlp", flagshipMLP(), func(steps int) data.Dataset { return mnistLike(64 * steps) },
			Config{Epochs: 1, BatchSize: 64, Seed: 1, Quiet: true}},
		{"gru", nn.NewRNNLM(nn.RNNLMConfig{Vocab: benchVocab, Embed: 16, Hidden: 32, Layers: 2, GRU: true}, nn.WithSeed(1)),
			func(steps int) data.Dataset {
				ds, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 16, VocabSize: benchVocab, PerEpoch: steps * batch, Seed: 1})
				require.NoError(t, err)
				return ds
			},
			Config{Epochs: 1, BatchSize: batch, Seed: 1, Quiet: true, ClipGradNorm: 1,
				Metrics: []func() metrics.Metric{BitsPerToken, Accuracy}}},
		{"gpt-shards", nn.NewGPT(nn.GPTModelConfig{VocabSize: benchVocab, BlockSize: 16, Layers: 2, Block: nn.GPTConfig{DModel: 32, Heads: 2}}, nn.WithSeed(1)),
			func(steps int) data.Dataset {
				ds, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 16, VocabSize: benchVocab, PerEpoch: steps * batch, Seed: 1})
				require.NoError(t, err)
				return ds
			},
			Config{Epochs: 1, BatchSize: batch, Seed: 1, Quiet: true, ClipGradNorm: 1, Shards: 2,
				Metrics: []func() metrics.Metric{BitsPerToken, Accuracy}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.cfg.Shards > 1 {
				// The shares one after the other: on two workers the
				// runtime may refill its cache of goroutine wait records
				// when the hand-offs fall differently, which is not a
				// cost of the step.
				defer parallel.SetWorkers(parallel.SetWorkers(1))
			}
			opt := optim.NewAdamW(c.model.Params(), optim.AdamWConfig{LR: 1e-3})
			fit := func(steps int) uint64 {
				ds := c.data(steps)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				_, err := Fit(context.Background(), c.model, opt, ds, c.cfg)
				runtime.ReadMemStats(&after)
				require.NoError(t, err)
				return after.Mallocs - before.Mallocs
			}
			// The collector off: it would empty the kernels' pools.
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			fit(10)
			short, long := fit(10), fit(70)
			perStep := (float64(long) - float64(short)) / 60
			t.Logf("%d allocations for an epoch of 10 steps, %d for 70: %.2f per step", short, long, perStep)
			require.LessOrEqual(t, perStep, 0.5)
		})
	}
}
