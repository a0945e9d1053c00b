package autograd_test

import (
	"fmt"
	"sync"

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

// ExampleArena_SeparateGrads trains two shares of a batch of four rows on
// two goroutines, each under its own arena with separate gradients, each
// share's mean loss weighted by its half of the rows; merged, the
// gradient is the whole batch's (the first line of ExampleArena_Constant
// for its two rows, here with the rows duplicated).
func ExampleArena_SeparateGrads() {
	w := autograd.NewVar(tensor.New([]float32{1, -1, 0.5, 2}, 2, 2))
	shares := []*tensor.Tensor{
		tensor.New([]float32{1, 2, 3, 4}, 2, 2),
		tensor.New([]float32{1, 2, 3, 4}, 2, 2),
	}
	arenas := []*autograd.Arena{autograd.NewArena(), autograd.NewArena()}
	var wg sync.WaitGroup
	for i, a := range arenas {
		a.SeparateGrads(true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			loss := autograd.Mean(autograd.Square(autograd.Linear(a.Constant(shares[i]), w, nil)), false)
			loss.BackwardWith(tensor.Full(0.5, loss.Value().Shape()...)) // two rows of four
		}()
	}
	wg.Wait()
	fmt.Println(w.Grad()) // nothing reached the parameter yet
	for _, a := range arenas {
		a.MergeGrads() // in share order
	}
	fmt.Printf("%.3f\n", w.Grad().Data())
	// Output:
	// <nil>
	// [-2.000 -3.000 16.500 23.500]
}

// ExampleConv2DReLUMaxPool runs a 2×2 filter with ReLU and 2×2 max-pooling
// over a 1×1×3×5 image as one op: the 2×4 convolution output (−6 on the
// first row; 8, 10, 12, 14 on the second) is pooled to 1×2 without being
// stored, and the gradient reaches the inputs under each window's winner.
func ExampleConv2DReLUMaxPool() {
	x := autograd.NewVar(tensor.New([]float32{
		1, 2, 3, 4, 5,
		6, 7, 8, 9, 10,
		-1, -2, -3, -4, -5,
	}, 1, 1, 3, 5))
	w := autograd.NewVar(tensor.New([]float32{1, 0, 0, -1}, 1, 1, 2, 2)) // x[i,j] − x[i+1,j+1]
	y := autograd.Conv2DReLUMaxPool(x, w, nil, autograd.Conv2DOptions{}, autograd.Pool2DOptions{Kernel: [2]int{2, 2}})
	fmt.Println(y.Shape(), y.Value().Data())
	autograd.SumAll(y).Backward()
	fmt.Println(x.Grad().Data())
	// Output:
	// [1 1 1 2] [10 14]
	// [0 0 0 0 0 0 1 0 1 0 0 0 -1 0 -1]
}
