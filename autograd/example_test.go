package autograd_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func Example() {
	w := autograd.NewVar(tensor.New([]float32{2, -1}, 2))
	x := autograd.Constant(tensor.New([]float32{3, 4}, 2))
	loss := autograd.Sum(autograd.Square(autograd.Mul(w, x)), false) // Σ (w·x)²
	loss.Backward()
	fmt.Println(loss.Value().Item(), w.Grad().Data()) // d/dw = 2·w·x²
	// Output: 52 [36 -32]
}

// cube is a user-defined differentiable op: y = x³.
type cube struct{ x *tensor.Tensor }

func (c *cube) Forward(in ...*tensor.Tensor) *tensor.Tensor {
	c.x = in[0]
	return tensor.Pow(in[0], 3)
}

func (c *cube) Backward(g *tensor.Tensor) []*tensor.Tensor {
	return []*tensor.Tensor{tensor.Mul(g, tensor.MulScalar(tensor.Square(c.x), 3))}
}

func ExampleApply() {
	x := autograd.NewVar(tensor.New([]float32{1, 2}, 2))
	y := autograd.Apply(&cube{}, x)
	autograd.Sum(y, false).Backward()
	fmt.Println(y.Value().Data(), x.Grad().Data())
	// Output: [1 8] [3 12]
}

func ExampleCheckGrad() {
	x := tensor.New([]float32{0.5, -1, 2}, 3)
	res, err := autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var {
		return autograd.Apply(&cube{}, xs[0])
	}, []*tensor.Tensor{x}, autograd.GradCheckOptions{})
	fmt.Println(err == nil, res.Excess < 1)
	// Output: true true
}

func ExampleNoGrad() {
	w := autograd.NewVar(tensor.New([]float32{3}, 1))
	y := autograd.Mul(autograd.NoGrad(tensor.New([]float32{2}, 1)), w)
	fmt.Println(y.Value().Data(), y.RequiresGrad())
	// Output: [6] false
}

func ExampleArena_Constant() {
	w := autograd.NewVar(tensor.New([]float32{1, -1, 0.5, 2}, 2, 2))
	x := tensor.New([]float32{1, 2, 3, 4}, 2, 2)
	arena := autograd.NewArena()
	for step := range 3 {
		// Everything the previous step drew from the arena (outputs, loss,
		// the gradients passed between ops) is reused from here on.
		arena.Reset()
		loss := autograd.Mean(autograd.Square(autograd.Linear(arena.Constant(x), w, nil)), false)
		loss.Backward()
		fmt.Printf("%d %.3f %.3f\n", step, loss.Value().Item(), w.Grad().Data())
		tensor.AddScaled(w.Value(), -0.01, w.Grad()) // the leaf's gradient is its own
		w.ZeroGrad()
	}
	// Output:
	// 0 28.125 [-2.000 -3.000 16.500 23.500]
	// 1 20.375 [-1.690 -2.560 14.030 19.995]
	// 2 14.767 [-1.426 -2.186 11.929 17.013]
}
