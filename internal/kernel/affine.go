package kernel

import (
	"fmt"
	"math"
)

// ScaleShift writes dst[i] = a·x[i] + b for every element of x (dst at
// least as long); with relu, max(a·x[i] + b, 0) instead, NaN kept and −0
// made +0. The accelerated kernel fuses the multiply-add; dst may be x.
func ScaleShift(dst, x []float32, a, b float32, relu bool) {
	if len(dst) < len(x) {
		panic(fmt.Sprintf("kernel.ScaleShift: dst holds %d values, x %d", len(dst), len(x)))
	}
	n := len(x) &^ 7
	if n > 0 && scaleShiftAsm(dst[:n], x[:n], a, b, relu) {
		x, dst = x[n:], dst[n:len(x)]
	}
	scaleShiftPortable(dst, x, a, b, relu)
}

// ScaleAdd2 writes dst[i] = a·g[i] + (b·x[i] + c) for every element of g
// (dst and x at least as long). The accelerated kernel fuses both
// multiply-adds; dst may be g or x.
func ScaleAdd2(dst, g, x []float32, a, b, c float32) {
	if len(dst) < len(g) || len(x) < len(g) {
		panic(fmt.Sprintf("kernel.ScaleAdd2: dst holds %d values, g %d, x %d", len(dst), len(g), len(x)))
	}
	n := len(g) &^ 7
	if n > 0 && scaleAdd2Asm(dst[:n], g[:n], x[:n], a, b, c) {
		dst, g, x = dst[n:len(g)], g[n:], x[n:len(g)]
	}
	scaleAdd2Portable(dst, g, x, a, b, c)
}

// scaleShiftPortable is the portable twin of ScaleShift's kernels.
func scaleShiftPortable(dst, x []float32, a, b float32, relu bool) {
	dst = dst[:len(x)]
	if relu {
		for i, v := range x {
			dst[i] = max(a*v+b, 0)
		}
		return
	}
	for i, v := range x {
		dst[i] = a*v + b
	}
}

// scaleAdd2Portable is the portable twin of ScaleAdd2's kernel.
func scaleAdd2Portable(dst, g, x []float32, a, b, c float32) {
	dst, x = dst[:len(g)], x[:len(g)]
	for i, v := range g {
		dst[i] = a*v + (b*x[i] + c)
	}
}

// ReLUMaskSums writes dst[i] = gy[i] where the bits of y[i] are not all
// zero and +0 elsewhere (the gradient through a ReLU, read off its
// output), for every element of gy (dst, y and x at least as long), and
// returns Σ dst[i] and Σ dst[i]·(x[i] − mu). The accelerated kernel sums
// in eight lanes, added in lane order; dst may be gy.
func ReLUMaskSums(dst, gy, y, x []float32, mu float32) (s, sx float32) {
	if len(dst) < len(gy) || len(y) < len(gy) || len(x) < len(gy) {
		panic(fmt.Sprintf("kernel.ReLUMaskSums: dst holds %d values, gy %d, y %d, x %d", len(dst), len(gy), len(y), len(x)))
	}
	n := len(gy) &^ 7
	if n > 0 {
		if s0, sx0, ok := reluMaskSumsAsm(dst[:n], gy[:n], y[:n], x[:n], mu); ok {
			s, sx = s0, sx0
			dst, gy, y, x = dst[n:len(gy)], gy[n:], y[n:len(gy)], x[n:len(gy)]
		}
	}
	ts, tsx := reluMaskSumsPortable(dst, gy, y, x, mu)
	return s + ts, sx + tsx
}

// reluMaskSumsPortable is the portable twin of ReLUMaskSums's kernel,
// over two partial sums each.
func reluMaskSumsPortable(dst, gy, y, x []float32, mu float32) (s, sx float32) {
	n := len(gy)
	dst, y, x = dst[:n], y[:n], x[:n]
	keep := func(v float32) uint32 {
		var m uint32
		if math.Float32bits(v) != 0 {
			m = ^uint32(0)
		}
		return m
	}
	var s0, s1, t0, t1 float32
	i := 0
	for ; i+2 <= n; i += 2 {
		g0 := math.Float32frombits(math.Float32bits(gy[i]) & keep(y[i]))
		g1 := math.Float32frombits(math.Float32bits(gy[i+1]) & keep(y[i+1]))
		dst[i], dst[i+1] = g0, g1
		s0 += g0
		s1 += g1
		t0 += g0 * (x[i] - mu)
		t1 += g1 * (x[i+1] - mu)
	}
	if i < n {
		g0 := math.Float32frombits(math.Float32bits(gy[i]) & keep(y[i]))
		dst[i] = g0
		s0 += g0
		t0 += g0 * (x[i] - mu)
	}
	return s0 + s1, t0 + t1
}
