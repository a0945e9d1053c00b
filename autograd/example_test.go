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
