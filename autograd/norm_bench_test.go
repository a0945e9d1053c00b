package autograd

import (
	"testing"

	"github.com/shoshin-ml/shoshin/internal/cputime"
)

// BenchmarkLayerNormResidual times the forward and backward of a
// pre-norm block's LayerNorm at the char-GPT's share shape ([16·128, 128])
// under an arena, its input also feeding a residual add, so that the
// backward gathers the input's gradient from both: "folded" with the
// residual's gradient there before LayerNorm's backward runs (which adds
// it in), "view-first" with the residual taken through a Reshape, as
// the GPT blocks do, whose gradient comes after LayerNorm's (the engine
// adds it into LayerNorm's buffer). cpu-ns/op is the process CPU time
// per step, the figure to compare on a shared machine.
func BenchmarkLayerNormResidual(b *testing.B) {
	const n, d = 2048, 128
	xt, g := rnd(710, -1, 1, 16, n/16, d), rnd(711, -1, 1, n, d)
	shift, w, bias := NewVar(rnd(712, -1, 1, d)), NewVar(rnd(713, 0.5, 1.5, d)), NewVar(rnd(714, -1, 1, d))
	a := NewArena()
	for _, c := range []struct {
		name string
		f    func(x *Var) *Var
	}{
		{"folded", func(x *Var) *Var {
			r := Reshape(x, n, d)
			return Add(LayerNorm(r, w, bias, 1, 1e-5), r)
		}},
		{"view-first", func(x *Var) *Var { return Add(Reshape(x, n, d), Reshape(LayerNorm(x, w, bias, 1, 1e-5), n, d)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			step := func() {
				a.Reset()
				x := Add(a.Constant(xt), shift) // needs a gradient, from the arena
				c.f(x).BackwardWith(g)
			}
			step()
			b.ReportAllocs()
			cputime.Loop(b, step)
		})
	}
}
