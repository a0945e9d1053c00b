package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestOutputResult checks the pair a custom inference op uses: under an
// arena the output tensor and its Var are the arena's (the same storage
// again after a Reset, and no allocation once warm), the result carries the
// input's inference mode and arena, and without an arena the tensor is new
// and zeroed. Result refuses an input that needs a gradient.
func TestOutputResult(t *testing.T) {
	a := NewArena()
	x := tensor.Ones(3, 4)
	op := func() *Var {
		a.Reset()
		in := a.Input(x)
		y := Output(in, 3, 2)
		for i := range y.Data() {
			y.Data()[i] = float32(i)
		}
		return Result(y, in)
	}
	first := op()
	require.True(t, first.Inference())
	require.Equal(t, []int{3, 2}, first.Shape())
	store := &first.Value().Data()[0]
	second := op()
	require.Same(t, store, &second.Value().Data()[0], "the arena's buffer is reused after Reset")
	require.Zero(t, testalloc.PerRun(20, func() { op() }))

	plain := Output(NoGrad(x), 2, 5)
	require.Equal(t, make([]float32, 10), plain.Data(), "without an arena the output is zeroed")
	require.Nil(t, Result(plain, NoGrad(x)).arena)

	require.Panics(t, func() { Result(plain, NewVar(x)) })
}

// ExampleOutput is a custom inference op (doubling, computed outside the
// tape) that takes its output from the input's arena, so that repeated
// calls allocate nothing once the arena is warm.
func ExampleOutput() {
	double := func(x *Var) *Var {
		y := Output(x, x.Shape()...)
		for i, v := range x.Value().Data() {
			y.Data()[i] = 2 * v // every element written: arena buffers are stale
		}
		return Result(y, x)
	}
	a := NewArena()
	a.Reset()
	y := double(a.Input(tensor.New([]float32{1, 2, 3}, 3)))
	fmt.Println(y.Value().Data(), y.Inference())
	// Output: [2 4 6] true
}
