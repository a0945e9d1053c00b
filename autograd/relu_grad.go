package autograd

import "math"

// reluGrad writes ReLU's input gradient: g where x is positive or NaN,
// +0 elsewhere. The select is on bits, without a data-dependent branch
// (half the signs of a layer's pre-activations are random, and a branch
// on them mispredicts every other element).
func reluGrad(gx, g, x, _ []float32) {
	g, x = g[:len(gx)], x[:len(gx)]
	for i, v := range x {
		gx[i] = math.Float32frombits(math.Float32bits(g[i]) & mask(!(v <= 0)))
	}
}
