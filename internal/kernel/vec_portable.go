package kernel

import (
	"math"

	"github.com/chewxy/math32"
)

// The portable twins of the vector kernels. They are the implementation on
// architectures without assembly and the reference the assembly is tested
// against.

func axpyPortable(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scalePortable(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

func dotPortable(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sumPortable(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// maxPortable returns the largest element of x, or the first NaN of x.
func maxPortable(x []float32) float32 {
	m := math32.Inf(-1)
	for _, v := range x {
		if v > m {
			m = v
		} else if v != v {
			return v
		}
	}
	return m
}

func addPortable(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func mulPortable(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

func reluPortable(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v > 0 || v != v {
			dst[i] = v // positive or NaN
		} else {
			dst[i] = 0 // also for -0
		}
	}
}

// Constants of the vector exp; gen/consts.go holds the same values for the
// assembly.
const (
	expHi    = 89
	expLo    = -104
	expLog2e = 1.44269504088896341
	expLn2Hi = 0.693359375
	expLn2Lo = -2.12194440e-4

	roundMagic float32 = 12582912
)

// expPortable mirrors the assembly: x is clamped to [-104, 89], reduced by
// n = round(x·log2e) to r = x - n·ln2 (ln2 in two parts so n·ln2Hi is
// exact), e^r comes from its degree-7 Taylor polynomial, and the result is
// scaled by 2^n in two halves so that overflow gives +Inf and tiny results
// round once into subnormals.
func expPortable(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v != v {
			dst[i] = v
			continue
		}
		t := min(max(v, expLo), expHi)
		// Adding and removing 1.5·2^23 rounds to the nearest integer.
		n := t*expLog2e + roundMagic
		n -= roundMagic
		r := t - n*expLn2Hi
		r -= n * expLn2Lo
		p := float32(1.0 / 5040)
		p = p*r + 1.0/720
		p = p*r + 1.0/120
		p = p*r + 1.0/24
		p = p*r + 1.0/6
		p = p*r + 0.5
		p = p*r + 1
		p = p*r + 1
		ni := int32(n)
		n1 := ni >> 1
		n2 := ni - n1
		p *= math.Float32frombits(uint32(n1+127) << 23)
		p *= math.Float32frombits(uint32(n2+127) << 23)
		dst[i] = p
	}
}
