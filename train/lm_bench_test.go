package train

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// The models of examples/char-gpt and examples/char-lstm, for a
// vocabulary of 92 characters (Newton's Opticks).
const benchVocab = 92

func charGPT() *nn.GPT {
	return nn.NewGPT(nn.GPTModelConfig{VocabSize: benchVocab, BlockSize: 128, Layers: 4,
		Block: nn.GPTConfig{DModel: 128, Heads: 4}}, nn.WithSeed(1))
}

func charLSTM() *nn.RNNLM {
	return nn.NewRNNLM(nn.RNNLMConfig{Vocab: benchVocab, Embed: 64, Hidden: 256, Layers: 2}, nn.WithSeed(1))
}

// lmBatch returns a fixed random batch of batch windows of seqLen token
// ids and their next-token targets (the same windows shifted by one).
func lmBatch(batch, seqLen int) (x, y *tensor.Tensor) {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]int, batch*(seqLen+1))
	for i := range ids {
		ids[i] = r.IntN(benchVocab)
	}
	return nn.IDs(ids[:batch*seqLen], batch, seqLen), nn.IDs(ids[batch:], batch, seqLen)
}

// BenchmarkLMStep times one training step of the example language models
// on a batch of 32 windows of 128 tokens: forward, next-token
// cross-entropy, backward, gradient clipping and AdamW, drawing its
// buffers from one arena reset per step, as Fit does; the -shards variants
// run each batch as two shares side by side, as Fit with Shards: 2 does.
// One step runs before
// the timed ones (it sizes the arena and the optimizer state), so B/op and
// allocs/op are the steady state.
func BenchmarkLMStep(b *testing.B) {
	const batch, seqLen = 32, 128
	x, y := lmBatch(batch, seqLen)
	for _, m := range []struct {
		name   string
		model  nn.Module
		shards int
	}{{"gpt", charGPT(), 1}, {"gpt-shards", charGPT(), 2}, {"lstm", charLSTM(), 1}, {"lstm-shards", charLSTM(), 2}} {
		b.Run(m.name, func(b *testing.B) {
			nn.Train(m.model)
			params := m.model.Params()
			opt := optim.NewAdamW(params, optim.AdamWConfig{LR: 1e-3})
			arena := autograd.NewArena()
			sh, err := newSharder(m.shards, m.model, nn.CrossEntropyLoss{})
			if err != nil {
				b.Fatal(err)
			}
			whole := &data.Batch{X: x, Y: y}
			step := func() {
				if m.shards > 1 {
					if _, failed, err := sh.step(whole); failed != nil || err != nil {
						b.Fatal(failed, err)
					}
				} else {
					arena.Reset()
					loss := nn.CrossEntropyLoss{}.Forward(m.model.Forward(arena.Constant(x)), y)
					loss.Backward()
				}
				optim.ClipGradNorm(params, 1)
				opt.Step()
				opt.ZeroGrad()
			}
			step()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(b.N*batch*seqLen)/b.Elapsed().Seconds(), "tokens/s")
			reportCPU(b, cpu0, cpuOK, b.N*batch*seqLen)
		})
	}
}

// BenchmarkGenerate times generating 128 tokens after a one-token prompt
// at batch 1, greedy: with the GPT's key/value caches and the LSTM's
// state, and, for comparison, re-running the GPT over the whole context
// for every token.
func BenchmarkGenerate(b *testing.B) {
	const n = 128
	for _, c := range []struct {
		name    string
		model   nn.Module
		noCache bool
	}{{"gpt-cached", charGPT(), false}, {"gpt-nocache", charGPT(), true}, {"lstm", charLSTM(), false}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := GenerateConfig{MaxTokens: n - 1, NoCache: c.noCache}
			b.ReportAllocs()
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				if _, err := Generate(context.Background(), c.model, []int{1}, cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*(n-1))/b.Elapsed().Seconds(), "tokens/s")
			reportCPU(b, cpu0, cpuOK, b.N*(n-1))
		})
	}
}

// reportCPU reports tokens per second of the process's CPU time since
// cpu0 (all threads together), "cpu-tokens/s": on a shared machine it
// measures the work steadily where wall-clock tokens/s measures the load.
// With w busy workers, wall-clock throughput on an idle machine is at most
// w times it.
func reportCPU(b *testing.B, cpu0 time.Duration, ok bool, tokens int) {
	if cpu1, _ := processCPU(); ok && cpu1 > cpu0 {
		b.ReportMetric(float64(tokens)/(cpu1-cpu0).Seconds(), "cpu-tokens/s")
	}
}
