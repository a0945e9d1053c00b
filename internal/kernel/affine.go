package kernel

import "fmt"

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
