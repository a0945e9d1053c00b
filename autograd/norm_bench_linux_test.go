//go:build linux

package autograd

import (
	"testing"
)

// BenchmarkLayerNormResidual times the forward and backward of a
// pre-norm block's LayerNorm at the char-GPT's share shape ([16·128, 128])
// under an arena, its input also feeding a residual add, so that the
// backward gathers the input's gradient from both. cpu-ns/op is the
// process CPU time per step, the figure to compare on a shared machine.
func BenchmarkLayerNormResidual(b *testing.B) {
	const n, d = 2048, 128
	xt, g := rnd(710, -1, 1, n, d), rnd(711, -1, 1, n, d)
	shift, w, bias := NewVar(rnd(712, -1, 1, d)), NewVar(rnd(713, 0.5, 1.5, d)), NewVar(rnd(714, -1, 1, d))
	a := NewArena()
	step := func() {
		a.Reset()
		x := Add(a.Constant(xt), shift) // needs a gradient, from the arena
		Add(LayerNorm(x, w, bias, 1, 1e-5), x).BackwardWith(g)
	}
	step()
	b.ReportAllocs()
	c0 := processCPU()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(processCPU()-c0)/float64(b.N), "cpu-ns/op")
}
