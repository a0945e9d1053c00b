package autograd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

// TestRecurrentZeroGradThenBackward checks the recurrent layers' weight
// and bias gradients after ZeroGrad, which leaves the old values in the
// buffers: the layer overwrites them (beta 0) when nothing has touched
// them since, and must add to them when the same weights were already
// used in the graph (a second recurrence over other data) or when no
// ZeroGrad came between two backwards. The first step's gradients hold
// NaN, so a stale value that is read shows. The reference passes the
// weights through an op, so that the engine accumulates their gradients.
// Single layers and two-layer stacks, LSTM, GRU and RNN, with and without
// biases.
func TestRecurrentZeroGradThenBackward(t *testing.T) {
	const T, B, I, H = 5, 3, 4, 3
	for i, c := range []recurrentCase{{kind: kindLSTM}, {kind: kindGRU, state: true}, {kind: kindRNN, noBias: true}} {
		for _, stack := range []bool{false, true} {
			var ins []*tensor.Tensor
			run := c.run
			if stack {
				ins = c.stackInputs(uint64(1200+10*i), 2, T, B, I, H)
				run = func(xs ...*Var) []*Var { return c.runStack(2, xs...) }
			} else {
				ins = c.inputs(uint64(1200+10*i), T, B, I, H)
			}
			x1, x2 := ins[0], rnd(uint64(1300+i), -1, 1, T, B, I)
			nan := x1.Clone()
			nan.Data()[1] = float32(math.NaN())
			proj := rnd(uint64(1400+i), -1, 1, flatCat(run(vars(ins)...)).Shape()...)
			// loss over one recurrence of x, or (twice) two of x and x1
			// sharing every weight.
			// through passes the weights through an op (the engine then
			// accumulates their gradients), for the reference.
			loss := func(leaves []*Var, x *tensor.Tensor, twice, through bool) *Var {
				xs := append([]*Var{Constant(x)}, leaves[1:]...)
				if through {
					for j := 1; j < len(xs); j++ {
						xs[j] = Mul(xs[j], Constant(tensor.Full(1, xs[j].Shape()...)))
					}
				}
				l := Sum(Mul(flatCat(run(xs...)), Constant(proj)), false)
				if twice {
					xs[0] = Constant(x1)
					l = Add(l, Sum(Mul(flatCat(run(xs...)), Constant(proj)), false))
				}
				return l
			}
			grads := func(leaves []*Var) [][]float32 {
				var gs [][]float32
				for _, l := range leaves[1:] {
					gs = append(gs, append([]float32(nil), l.Grad().Data()...))
				}
				return gs
			}
			for _, twice := range []bool{false, true} {
				leaves := vars(ins)
				loss(leaves, nan, false, false).Backward()
				require.True(t, math.IsNaN(float64(leaves[1].Grad().Data()[0])), "%v: the first step's gradient should hold NaN", c)
				for _, l := range leaves {
					l.ZeroGrad()
				}
				loss(leaves, x2, twice, false).Backward()
				fresh := vars(ins)
				loss(fresh, x2, twice, true).Backward()
				want, got := grads(fresh), grads(leaves)
				for j := range want {
					require.InDeltaSlice(t, want[j], got[j], 1e-5, "%v stack %v twice %v: after ZeroGrad, input %d", c, stack, twice, j+1)
				}
				// Without ZeroGrad the next backward adds.
				loss(leaves, x1, twice, false).Backward()
				loss(fresh, x1, twice, true).Backward()
				want, got = grads(fresh), grads(leaves)
				for j := range want {
					require.InDeltaSlice(t, want[j], got[j], 1e-5, "%v stack %v twice %v: two backwards, input %d", c, stack, twice, j+1)
				}
			}
		}
	}
}

// vars makes a trainable leaf of each tensor.
func vars(ts []*tensor.Tensor) []*Var {
	vs := make([]*Var, len(ts))
	for i, t := range ts {
		vs[i] = NewVar(t)
	}
	return vs
}
