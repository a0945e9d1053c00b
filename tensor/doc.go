// Package tensor provides n-dimensional float32 arrays and the
// (non-differentiable) operations on them. The autograd package builds its
// differentiable ops, and optimizers their updates, from these functions.
//
// A Tensor is a shape and a contiguous row-major []float32. Reshape,
// Unsqueeze, Squeeze and Flatten share data; every other operation returns
// a fresh tensor unless its name says it works in place (AddInPlace,
// ScaleInPlace, ...) or writes into a given destination (the ...To
// variants, whose dst must already have the result shape).
//
// The operations, one concept per file:
//
//   - broadcast.go: BroadcastShape, BroadcastTo and its adjoint SumTo.
//   - elementwise.go: Add, Sub, Mul, Div, Maximum, Minimum (and ...To),
//     Greater, GreaterEqual, Less, LessEqual, all with NumPy broadcasting.
//   - unary.go: Neg, Exp, Log, Sqrt, Abs, Tanh, Sigmoid, ReLU, Square, Sign,
//     AddScalar, MulScalar, Scale, Pow, Clamp (and ...To).
//   - reduce.go: Sum, Mean, Max, Min over any axes with keepDims; SumAll,
//     MeanAll, MaxAll, MinAll; ArgMax, ArgMin.
//   - matmul.go: MatMul, MatMulTo, MatMulAcc for 2-D, batched 3-D and
//     3-D×2-D products, with transposes passed to GEMM as flags.
//   - packed.go: PackB packs a matrix (a weight) once into the GEMM's
//     panel layout; MatMulPacked multiplies by it, with a fused bias and
//     ReLU or GELU (Epilogue); MatMulPackedAddTo adds the product to its
//     destination (a residual connection) in the same pass.
//   - shape.go: Transpose, Permute, Concat, Stack, Slice, Unsqueeze,
//     Squeeze, Flatten.
//   - index.go: Index and IndexAdd (batches of rows), Gather and ScatterAdd,
//     OneHot.
//   - softmax.go: Softmax, LogSoftmax, LogSumExp (numerically stable).
//   - inplace.go: AddInPlace, SubInPlace, MulInPlace, DivInPlace,
//     AddScaled, ScaleInPlace, AddScalarInPlace, Fill, Zero, Copy.
//   - compare.go: AllClose, Equal, MaxAbsDiff.
//
// Axes may be negative, counting from the end. Element-wise binary
// operations follow NumPy broadcasting rules, with fast paths for equal
// shapes and for scalar, row and column operands. Hot loops call
// internal/kernel, and large inputs are split across goroutines with
// internal/parallel. In-place and ...To operations allocate nothing for
// tensors small enough to stay on one goroutine (up to 32768 elements for
// arithmetic, 4096 for transcendental functions).
//
// Shape mismatches are programming errors and panic with a message naming
// the operation and both shapes, such as
// "tensor.Add: shapes [2 3] and [4] are not broadcastable".
//
//	a := tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
//	b := tensor.New([]float32{10, 20, 30}, 3)
//	c := tensor.Add(a, b)                 // b is broadcast over the rows of a
//	s := tensor.Sum(c, false, 0)          // [3]: column sums
//	p := tensor.Softmax(c, -1)            // each row sums to 1
//	y := tensor.MatMul(a, a, false, true) // a·aᵀ, [2 2]
//	tensor.AddScaled(a, -0.1, c)          // a -= 0.1·c, in place
package tensor
