package autograd

import (
	"testing"

	"github.com/shoshin-ml/shoshin/internal/cputime"
)

// BenchmarkGPTMLPStep times the forward and backward of a GPT block's MLP
// at the char-GPT's share shape (2048 tokens, 128 → 512 → 128: LinearGELU
// then LinearResidual) under an arena. Run it with -cpu 1; cpu-ns/op is
// the process CPU time per step, the figure to compare on a shared
// machine.
func BenchmarkGPTMLPStep(b *testing.B) {
	const n, e, h = 2048, 128, 512
	xt, rt, g := rnd(720, -1, 1, n, e), rnd(721, -1, 1, n, e), rnd(722, -1, 1, n, e)
	w1, b1 := NewVar(rnd(723, -0.1, 0.1, h, e)), NewVar(rnd(724, -0.1, 0.1, h))
	w2, b2 := NewVar(rnd(725, -0.05, 0.05, e, h)), NewVar(rnd(726, -0.1, 0.1, e))
	shift := NewVar(rnd(727, -1, 1, e))
	a := NewArena()
	step := func() {
		a.Reset()
		x := Add(a.Constant(xt), shift) // needs a gradient, from the arena
		LinearResidual(LinearGELU(x, w1, b1), w2, b2, a.Constant(rt)).BackwardWith(g)
	}
	step()
	b.ReportAllocs()
	cputime.Loop(b, step)
}
