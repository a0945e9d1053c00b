// Package tensor provides n-dimensional float32 arrays and the
// (non-differentiable) operations on them.
//
// A Tensor is a shape and a contiguous row-major []float32. Reshape shares
// data; every other operation returns a fresh tensor unless its name says
// it works in place (AddInPlace, ScaleInPlace, ...) or writes into a given
// destination (the ...To variants). Element-wise binary operations follow
// NumPy broadcasting rules. Shape mismatches are programming errors and
// panic with a message naming the operation and both shapes.
//
//	a := tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
//	b := tensor.New([]float32{10, 20, 30}, 3)
//	c := tensor.Add(a, b) // broadcasts b over the rows of a
package tensor
