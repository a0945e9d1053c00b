package autograd

import (
	"testing"

	"github.com/shoshin-ml/shoshin/internal/cputime"
)

// BenchmarkSelfAttentionStep times the char-GPT's attention alone, forward
// and backward: causal self-attention over a packed [B, T, 3E] projection
// (B=16, one share of the training step, T=128, E=128, 4 heads of 32)
// under an arena, the output gradient given. It reports the process CPU
// time per step (cpu-ns/op), which a loaded machine disturbs less than the
// wall time; run it with -cpu 1.
func BenchmarkSelfAttentionStep(b *testing.B) {
	x := rnd(320, -1, 1, 16, 128, 384)
	gy := rnd(321, -1, 1, 16, 128, 128)
	opt := AttentionOptions{Heads: 4, Causal: true}
	a := NewArena()
	b.ReportAllocs()
	cputime.Loop(b, func() {
		a.Reset()
		// A leaf drawn from the arena, so that the op's buffers come
		// from it too, as in a training step.
		qkv := a.variable()
		qkv.value, qkv.arena, qkv.requiresGrad = x, a, true
		SelfAttention(qkv, opt).BackwardWith(gy)
	})
}
