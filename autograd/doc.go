// Package autograd is shoshin's reverse-mode automatic differentiation
// engine.
//
// A Var holds a value (a *tensor.Tensor), the gradient accumulated into it,
// and the op that produced it. Ops are package functions — Add, MatMul,
// Linear, ReLU, LogSoftmax, ... — and a user's own op, written as a Function
// and run with Apply, looks exactly like a built-in one. Graphs are built as
// the program runs (define-by-run); Backward on a scalar walks them once in
// reverse topological order, accumulates into the Grad of every Var that
// requires one, and releases the intermediates so memory does not grow across
// training steps. Gradients accumulate across Backward calls until ZeroGrad.
//
//	w := autograd.NewVar(tensor.RandN(rng, 0, 0.1, 10, 784)) // trainable
//	x := autograd.Constant(batch)                            // data
//	loss := autograd.Mean(autograd.Square(autograd.Linear(x, w, nil)), false)
//	loss.Backward()
//	fmt.Println(w.Grad())
//
// Broadcasting follows NumPy's rules in every element-wise op, and each
// backward sums the gradient back to its input's shape.
//
// Inference runs without recording: NoGrad(t) marks input data as
// inference-mode, and every op that touches it records nothing even though
// the model's parameters require gradients. The mode travels with the data,
// so many goroutines can run one model at once; Var.Inference reports it,
// and layers with a training mode evaluate such inputs whatever their mode.
// An Arena goes further and
// supplies every op's output buffer, so a repeated forward pass allocates
// nothing once warm.
//
// CheckGrad compares analytic gradients with Richardson-extrapolated
// central differences, element by element and along a few directions per
// input, with tolerances that allow for float32 rounding; its defaults
// catch a gradient off by 0.5%. Every op here is tested with it.
package autograd
