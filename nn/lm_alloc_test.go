package nn_test

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
)

// TestLMStepUnderArenaAllocatesLittle trains a small GPT and a small
// two-layer LSTM language model (batch-first) under an arena and requires
// a warm step to
// allocate less than one activation's bytes (of the dozens a step holds): every activation, saved
// statistic and gradient comes from the arena, parameter gradients are
// accumulated in place, and what is left is bookkeeping (closures, shape
// slices, the position table's small gradient).
func TestLMStepUnderArenaAllocatesLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("counts heap bytes over training steps")
	}
	r := rand.New(rand.NewPCG(3, 4))
	const vocab, b, tt, d = 13, 8, 32, 32
	lstm := nn.NewRNNLM(nn.RNNLMConfig{Vocab: vocab, Embed: d, Hidden: d, Layers: 2}, nn.WithSeed(2))
	gpt := nn.NewGPT(nn.GPTModelConfig{VocabSize: vocab, BlockSize: tt, Layers: 2,
		Block: nn.GPTConfig{DModel: d, Heads: 2}}, nn.WithSeed(1))
	for _, c := range []struct {
		name    string
		in      func(a *autograd.Arena) *autograd.Var
		forward func(x *autograd.Var) *autograd.Var
		params  []*nn.Param
	}{
		{"gpt", func(a *autograd.Arena) *autograd.Var { return a.Constant(randomIDs(r, vocab, b, tt)) },
			gpt.Forward, gpt.Params()},
		{"lstm", func(a *autograd.Arena) *autograd.Var { return a.Constant(randomIDs(r, vocab, b, tt)) },
			lstm.Forward, lstm.Params()},
	} {
		target := randomIDs(r, vocab, b, tt)
		a := autograd.NewArena()
		x := c.in(a)
		step := func() {
			a.Reset()
			in := a.Constant(x.Value())
			nn.CrossEntropyLoss{}.Forward(c.forward(in), target).Backward()
			for _, p := range c.params {
				p.ZeroGrad()
			}
		}
		// No collection from the warm-up on: it would empty the kernels'
		// buffer pools and count their refilling. One P: workers that
		// happen to run at once would each take a pooled buffer, making
		// the count depend on the scheduling.
		gc := debug.SetGCPercent(-1)
		procs := runtime.GOMAXPROCS(1)
		for range 3 {
			step()
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const n = 10
		for range n {
			step()
		}
		runtime.ReadMemStats(&after)
		debug.SetGCPercent(gc)
		runtime.GOMAXPROCS(procs)
		perStep := int64(after.TotalAlloc-before.TotalAlloc) / n
		act := int64(b * tt * d * 4)
		t.Logf("%s: %d bytes and %d allocations per warm step (one activation is %d bytes)", c.name, perStep, (after.Mallocs-before.Mallocs)/n, act)
		require.Less(t, perStep, act, "%s allocates an activation's worth per step", c.name)
	}
}
