package kernel

// Element-wise kernels longer than this many floats are split across the
// worker pool.
const (
	parallelElems    = 1 << 16
	parallelExpElems = 1 << 13
)

// Axpy computes y += alpha·x. len(y) must be at least len(x).
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	if len(x) >= parallelElems {
		parallelVec(parallelElems/2, func(alpha float32, y, x, _ []float32) { axpy(alpha, x, y) }, alpha, y, x, nil)
		return
	}
	axpy(alpha, x, y)
}

// Scale computes x *= alpha.
func Scale(alpha float32, x []float32) {
	if len(x) >= parallelElems {
		parallelVec(parallelElems/2, func(alpha float32, x, _, _ []float32) { scale(alpha, x) }, alpha, x, nil, nil)
		return
	}
	scale(alpha, x)
}

// Dot returns the inner product of x and y[:len(x)].
func Dot(x, y []float32) float32 { return dot(x, y[:len(x)]) }

// Sum returns the sum of x.
func Sum(x []float32) float32 { return sum(x) }

// Max returns the largest element of x, or -Inf when x is empty. If x
// holds a NaN the result is NaN, as in torch.max.
func Max(x []float32) float32 { return maxOf(x) }

// Add computes dst = a + b element-wise over len(dst) elements.
func Add(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	if len(dst) >= parallelElems {
		parallelVec(parallelElems/2, func(_ float32, dst, a, b []float32) { add(dst, a, b) }, 0, dst, a, b)
		return
	}
	add(dst, a, b)
}

// Mul computes dst = a · b element-wise over len(dst) elements.
func Mul(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	if len(dst) >= parallelElems {
		parallelVec(parallelElems/2, func(_ float32, dst, a, b []float32) { mul(dst, a, b) }, 0, dst, a, b)
		return
	}
	mul(dst, a, b)
}

// Relu computes dst = max(x, 0) over len(dst) elements. NaN stays NaN (as
// in torch.relu) and -0 becomes +0.
func Relu(dst, x []float32) {
	x = x[:len(dst)]
	if len(dst) >= parallelElems {
		parallelVec(parallelElems/2, func(_ float32, dst, x, _ []float32) { relu(dst, x) }, 0, dst, x, nil)
		return
	}
	relu(dst, x)
}

// Exp computes dst = exp(x) over len(dst) elements, within a few ulp of the
// correctly rounded result; it overflows to +Inf above about 88.72, flushes
// to 0 below about -103.97, and keeps NaN.
func Exp(dst, x []float32) {
	x = x[:len(dst)]
	if len(dst) >= parallelExpElems {
		parallelVec(parallelExpElems/2, func(_ float32, dst, x, _ []float32) { exp(dst, x) }, 0, dst, x, nil)
		return
	}
	exp(dst, x)
}
