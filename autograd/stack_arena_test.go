package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestRecurrentStackArenaReuse runs fused stacks of changing kinds, depths
// and sizes, one after another through one arena (as steps of a training
// loop that changes its batch), and checks every output and gradient
// against the same stack run without an arena: a stack that reuses the
// record of the previous step must forget its sizes, lengths, states and
// inputs.
func TestRecurrentStackArenaReuse(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint("workers", workers), func(t *testing.T) {
			wavefront(t, workers, 2)
			a := NewArena()
			steps := []struct {
				c             recurrentCase
				L, T, B, I, H int
			}{
				{recurrentCase{kind: kindLSTM, state: true}, 2, 6, 2, 3, 4},
				{recurrentCase{kind: kindLSTM}, 2, 6, 2, 3, 4},
				{recurrentCase{kind: kindLSTM, lengths: []int{5, 2, 6}}, 3, 6, 3, 3, 4},
				{recurrentCase{kind: kindGRU, state: true}, 2, 4, 2, 3, 5},
				{recurrentCase{kind: kindLSTM, state: true}, 2, 6, 2, 3, 4},
				{recurrentCase{kind: kindRNN, reverse: true}, 1, 3, 1, 2, 2},
				{recurrentCase{kind: kindLSTM, state: true}, 2, 7, 2, 3, 4},
			}
			for i, s := range steps {
				ins := s.c.stackInputs(uint64(i+1), s.L, s.T, s.B, s.I, s.H)
				run := func(ar *Arena) ([]*tensor.Tensor, []*tensor.Tensor) {
					vars := make([]*Var, len(ins))
					for j, v := range ins {
						vars[j] = NewVar(v)
					}
					if ar != nil {
						ar.Reset()
						// The input goes through the arena; the rest are
						// leaves, like a model's parameters.
						vars[0] = ar.Constant(ins[0])
					}
					outs := s.c.runStack(s.L, vars...)
					var vals []*tensor.Tensor
					for _, o := range outs {
						vals = append(vals, o.Value().Clone())
					}
					flatCat(outs).BackwardWith(rnd(99, -1, 1, flatCat(outs).Shape()...))
					var grads []*tensor.Tensor
					for _, v := range vars[1:] {
						grads = append(grads, v.Grad().Clone())
					}
					return vals, grads
				}
				wantV, wantG := run(nil)
				gotV, gotG := run(a)
				for k := range wantV {
					require.Equal(t, wantV[k].Data(), gotV[k].Data(), "step %d (%v) output %d", i, s.c, k)
				}
				for k := range wantG {
					require.Equal(t, wantG[k].Data(), gotG[k].Data(), "step %d (%v) gradient of input %d", i, s.c, k+1)
				}
			}
		})
	}
}

// TestStackGrad checks Stack's values and gradients along every axis, for
// two inputs (whose gradients fit in the node) and five (which do not),
// with and without an arena.
func TestStackGrad(t *testing.T) {
	for _, n := range []int{2, 5} {
		for axis := -3; axis < 3; axis++ {
			t.Run(fmt.Sprint(n, "inputs axis", axis), func(t *testing.T) {
				ins := make([]*tensor.Tensor, n)
				for i := range ins {
					ins[i] = rnd(uint64(i+1), -1, 1, 2, 3)
				}
				res, err := CheckGrad(func(xs ...*Var) *Var { return Stack(axis, xs...) }, ins, GradCheckOptions{})
				require.NoError(t, err, "%v", res)
				// The values are tensor.Stack's, with and without an arena.
				want := tensor.Stack(axis, ins...)
				a := NewArena()
				for range 2 {
					a.Reset()
					vars := []*Var{a.Constant(ins[0])}
					for _, v := range ins[1:] {
						vars = append(vars, NewVar(v))
					}
					got := Stack(axis, vars...)
					require.Equal(t, want.Shape(), got.Shape())
					require.Equal(t, want.Data(), got.Value().Data())
					g := rnd(7, -1, 1, got.Shape()...)
					got.BackwardWith(g)
					ax := normAxis(axis, 3)
					for i, v := range vars[1:] {
						require.Equal(t, tensor.Slice(g, ax, i+1, i+2).Data(), v.Grad().Data(), "gradient of input %d", i+1)
					}
				}
			})
		}
	}
	require.PanicsWithValue(t, "autograd.Stack: shapes [2 3] and [3 2] differ", func() {
		Stack(0, Constant(tensor.Zeros(2, 3)), Constant(tensor.Zeros(3, 2)))
	})
}

// TestRecurrentArenaReuse is TestRecurrentStackArenaReuse for the
// single-layer ops, whose record an arena also hands to the next step, and
// checks that a warm step of one allocates nothing.
func TestRecurrentArenaReuse(t *testing.T) {
	a := NewArena()
	steps := []struct {
		c          recurrentCase
		T, B, I, H int
	}{
		{recurrentCase{kind: kindLSTM, state: true}, 5, 2, 3, 4},
		{recurrentCase{kind: kindLSTM, lengths: []int{4, 1, 5}}, 5, 3, 3, 4},
		{recurrentCase{kind: kindGRU, state: true, reverse: true}, 4, 2, 2, 3},
		{recurrentCase{kind: kindLSTM}, 6, 2, 3, 4},
		{recurrentCase{kind: kindRNN, relu: true, state: true}, 3, 1, 2, 2},
	}
	for i, s := range steps {
		ins := s.c.stackInputs(uint64(i+1), 1, s.T, s.B, s.I, s.H)
		run := func(ar *Arena) ([]*tensor.Tensor, []*tensor.Tensor) {
			vars := make([]*Var, len(ins))
			for j, v := range ins {
				vars[j] = NewVar(v)
			}
			if ar != nil {
				ar.Reset()
				vars[0] = ar.Constant(ins[0])
			}
			outs := s.c.runChain(1, vars...)
			var vals []*tensor.Tensor
			for _, o := range outs {
				vals = append(vals, o.Value().Clone())
			}
			y := flatCat(outs)
			y.BackwardWith(rnd(99, -1, 1, y.Shape()...))
			var grads []*tensor.Tensor
			for _, v := range vars[1:] {
				grads = append(grads, v.Grad().Clone())
			}
			return vals, grads
		}
		wantV, wantG := run(nil)
		gotV, gotG := run(a)
		for k := range wantV {
			require.Equal(t, wantV[k].Data(), gotV[k].Data(), "step %d (%v) output %d", i, s.c, k)
		}
		for k := range wantG {
			require.Equal(t, wantG[k].Data(), gotG[k].Data(), "step %d (%v) gradient of input %d", i, s.c, k+1)
		}
	}
	if raceEnabled {
		return
	}
	ws := RecurrentWeights{IH: NewVar(rnd(1, -1, 1, 16, 3)), HH: NewVar(rnd(2, -1, 1, 16, 4)), BiasIH: NewVar(rnd(3, -1, 1, 16))}
	x, g := rnd(4, -1, 1, 5, 2, 3), rnd(5, -1, 1, 5, 2, 4)
	step := func() {
		a.Reset()
		out, _, _ := LSTM(a.Constant(x), nil, nil, ws, RecurrentOptions{})
		out.BackwardWith(g)
	}
	step()
	require.Zero(t, testalloc.PerRun(10, step))
}
