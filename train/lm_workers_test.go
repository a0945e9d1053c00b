package train

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/nn"
)

// TestLMStepSameBitsOnAnyWorkers checks that a training step of the
// example language models (the char-GPT, the 2-layer char-LSTM, whose
// layers run as a wavefront on two workers, and a GRU LM of the same
// sizes) gives the same loss and gradients, bit for bit, on one worker and
// on two: the splits across workers leave every sum's order alone.
func TestLMStepSameBitsOnAnyWorkers(t *testing.T) {
	type shape struct{ batch, seqLen int }
	models := map[string]struct {
		build func() nn.Module
		shape
	}{
		"gpt":  {func() nn.Module { return charGPT() }, shape{8, 40}},
		"lstm": {func() nn.Module { return charLSTM() }, shape{8, 40}},
		"gru": {func() nn.Module {
			return nn.NewRNNLM(nn.RNNLMConfig{Vocab: benchVocab, Embed: 64, Hidden: 256, Layers: 2, GRU: true}, nn.WithSeed(1))
		}, shape{8, 40}},
	}
	if !testing.Short() {
		// One share of the char-GPT example's batch: the kernels' paths
		// for its sizes (weight gradients over 2048 tokens computed
		// transposed, several tiles per kernel call, whole causal
		// blocks of 32 keys) split across workers only at this size.
		models["gpt-share"] = struct {
			build func() nn.Module
			shape
		}{func() nn.Module { return charGPT() }, shape{16, 128}}
	}
	prev := parallel.SetWorkers(1)
	t.Cleanup(func() { parallel.SetWorkers(prev) })
	for name, mc := range models {
		build := mc.build
		x, y := lmBatch(mc.batch, mc.seqLen)
		t.Run(name, func(t *testing.T) {
			var runs [2][][]float32
			for i, workers := range []int{1, 2} {
				parallel.SetWorkers(workers)
				m := build()
				nn.Train(m)
				arena := autograd.NewArena()
				// Two steps, so that the second reuses the arena's buffers.
				for range 2 {
					arena.Reset()
					for _, p := range m.Params() {
						p.ZeroGrad()
					}
					loss := nn.CrossEntropyLoss{}.Forward(m.Forward(arena.Constant(x)), y)
					loss.Backward()
					runs[i] = [][]float32{append([]float32(nil), loss.Value().Data()...)}
					for _, p := range m.Params() {
						runs[i] = append(runs[i], append([]float32(nil), p.Grad().Data()...))
					}
				}
			}
			require.Equal(t, runs[0][0], runs[1][0], "loss")
			for k := 1; k < len(runs[0]); k++ {
				require.Equal(t, runs[0][k], runs[1][k], "gradient of parameter %d", k-1)
			}
		})
	}
}
