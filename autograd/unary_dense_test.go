package autograd

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnaryDenseGradStaleBuffers checks the element-wise ops whose
// gradient buffers are not cleared before the backward writes them: with
// buffers coming back from an arena full of the last step's values, the
// gradients must equal those of a run without an arena.
func TestUnaryDenseGradStaleBuffers(t *testing.T) {
	ops := map[string]func(*Var) *Var{
		"Exp": Exp, "Log": Log, "Sqrt": Sqrt, "Square": Square, "Tanh": Tanh,
		"Sigmoid": Sigmoid, "GELU": GELU, "ReLU": ReLU,
		"LeakyReLU": func(a *Var) *Var { return LeakyReLU(a, 0.1) },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			w := NewVar(rnd(800, 0.5, 1.5, 3, 37))
			gy := rnd(801, -1, 1, 3, 37)
			lo := float32(-2)
			if name == "Log" || name == "Sqrt" {
				lo = 0.1
			}
			// The step before each measured one runs another dense op,
			// which writes every gradient value, into the same buffers.
			dirty := Square
			if name == "Square" {
				dirty = Exp
			}
			step := func(a *Arena, op func(*Var) *Var, seed uint64) []float32 {
				w.ZeroGrad()
				x := rnd(seed, lo, 2, 3, 37)
				var in *Var
				if a == nil {
					in = Constant(x)
				} else {
					in = a.Constant(x)
				}
				op(Mul(in, w)).BackwardWith(gy)
				return append([]float32(nil), w.Grad().Data()...)
			}
			a := NewArena()
			for j := range 3 {
				want := step(nil, op, uint64(810+j))
				a.Reset()
				step(a, dirty, uint64(820+j))
				a.Reset()
				require.Equal(t, want, step(a, op, uint64(810+j)), "step %d", j)
			}
		})
	}
}
