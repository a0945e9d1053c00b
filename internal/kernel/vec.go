package kernel

import "github.com/chewxy/math32"

// Axpy computes y += alpha·x. len(y) must be at least len(x).
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Scale computes x *= alpha.
func Scale(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// Dot returns the inner product of x and y[:len(x)].
func Dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// Sum returns the sum of x.
func Sum(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

// Max returns the largest element of x, or -Inf when x is empty.
func Max(x []float32) float32 {
	m := math32.Inf(-1)
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

// Add computes dst = a + b element-wise over len(dst) elements.
func Add(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Mul computes dst = a · b element-wise over len(dst) elements.
func Mul(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// Relu computes dst = max(x, 0) over len(dst) elements.
func Relu(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v > 0 {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

// Exp computes dst = exp(x) over len(dst) elements.
func Exp(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = math32.Exp(v)
	}
}
