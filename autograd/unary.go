package autograd

import (
	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// unary runs an element-wise op. fwd fills dst from x; dfn computes the
// input gradient element by element from the upstream gradient g, the input
// x and the output y, into a gradient buffer cleared to zero (dfn may skip
// elements whose gradient is zero).
func unary(op string, a *Var, fwd func(dst, x *tensor.Tensor), dfn func(gx, g, x, y []float32)) *Var {
	return unaryWith(op, a, fwd, dfn, unaryBackward)
}

// unaryDense is unary for an op whose dfn writes every element of gx: its
// gradient buffer is not cleared first (one pass less over the input's
// size).
func unaryDense(op string, a *Var, fwd func(dst, x *tensor.Tensor), dfn func(gx, g, x, y []float32)) *Var {
	return unaryWith(op, a, fwd, dfn, unaryBackwardDense)
}

func unaryWith(op string, a *Var, fwd func(dst, x *tensor.Tensor), dfn func(gx, g, x, y []float32), back func(*node, *tensor.Tensor) []*tensor.Tensor) *Var {
	out := wrap(alloc(a.value.Shape(), a), a)
	fwd(out.value, a.value)
	if s := out.recordFn(op, back, a); s != nil {
		s.t[0], s.t[1], s.elem = a.value, out.value, dfn
	}
	return out
}

// unaryBackward is the backward of unary ops: the saved derivative
// applied to the input, the output and the upstream gradient.
func unaryBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	av := n.saved.t[0]
	return unaryGrad(n, g, zeroGradBuf(av.Shape(), n.inputs[0]))
}

// unaryBackwardDense is unaryBackward for ops made by unaryDense.
func unaryBackwardDense(n *node, g *tensor.Tensor) []*tensor.Tensor {
	av := n.saved.t[0]
	return unaryGrad(n, g, gradBuf(av.Shape(), n.inputs[0]))
}

func unaryGrad(n *node, g, gx *tensor.Tensor) []*tensor.Tensor {
	av, ov := n.saved.t[0], n.saved.t[1]
	n.saved.elem(gx.Data(), g.Data(), av.Data(), ov.Data())
	grads := n.saved.out(1)
	grads[0] = gx
	return grads
}

// Exp returns e^a element-wise.
func Exp(a *Var) *Var {
	return unaryDense("Exp", a, tensor.ExpTo, func(gx, g, _, y []float32) {
		for i := range gx {
			gx[i] = g[i] * y[i]
		}
	})
}

// Log returns the natural logarithm of a element-wise.
func Log(a *Var) *Var {
	return unaryDense("Log", a, tensor.LogTo, func(gx, g, x, _ []float32) {
		for i := range gx {
			gx[i] = g[i] / x[i]
		}
	})
}

// Sqrt returns the square root of a element-wise.
func Sqrt(a *Var) *Var {
	return unaryDense("Sqrt", a, tensor.SqrtTo, func(gx, g, _, y []float32) {
		for i := range gx {
			gx[i] = g[i] / (2 * y[i])
		}
	})
}

// Square returns a² element-wise.
func Square(a *Var) *Var {
	return unaryDense("Square", a, tensor.SquareTo, func(gx, g, x, _ []float32) {
		for i := range gx {
			gx[i] = 2 * g[i] * x[i]
		}
	})
}

// Abs returns |a| element-wise; its gradient at 0 is 0.
func Abs(a *Var) *Var {
	return unary("Abs", a, tensor.AbsTo, func(gx, g, x, _ []float32) {
		for i := range gx {
			switch {
			case x[i] > 0:
				gx[i] = g[i]
			case x[i] < 0:
				gx[i] = -g[i]
			}
		}
	})
}

// Tanh returns the hyperbolic tangent of a element-wise.
func Tanh(a *Var) *Var {
	return unaryDense("Tanh", a, tensor.TanhTo, func(gx, g, _, y []float32) {
		for i := range gx {
			gx[i] = g[i] * (1 - y[i]*y[i])
		}
	})
}

// Sigmoid returns 1/(1+e^-a) element-wise.
func Sigmoid(a *Var) *Var {
	return unaryDense("Sigmoid", a, tensor.SigmoidTo, func(gx, g, _, y []float32) {
		for i := range gx {
			gx[i] = g[i] * y[i] * (1 - y[i])
		}
	})
}

// ReLU returns max(a, 0) element-wise; its gradient at 0 is 0. NaN stays
// NaN and, as in PyTorch (whose backward tests y <= 0), passes the
// gradient through.
func ReLU(a *Var) *Var {
	return unaryDense("ReLU", a, tensor.ReLUTo, reluGrad)
}

// LeakyReLU returns a where a > 0 and slope·a elsewhere.
func LeakyReLU(a *Var, slope float32) *Var {
	return unaryDense("LeakyReLU", a, func(dst, x *tensor.Tensor) {
		d, xs := dst.Data(), x.Data()
		for i, v := range xs {
			if v > 0 {
				d[i] = v
			} else {
				d[i] = slope * v
			}
		}
	}, func(gx, g, x, _ []float32) {
		for i := range gx {
			if x[i] > 0 {
				gx[i] = g[i]
			} else {
				gx[i] = slope * g[i]
			}
		}
	})
}

// GELU returns the Gaussian error linear unit x·Φ(x), computed exactly
// (not with the tanh approximation) like PyTorch's default
// (approximate="none"), by the vectorised kernel.GELU.
func GELU(a *Var) *Var {
	return unaryDense("GELU", a, func(dst, x *tensor.Tensor) {
		kernel.GELU(dst.Data(), x.Data())
	}, func(gx, g, x, _ []float32) {
		kernel.GELUGrad(gx, x, g)
	})
}

// Clamp limits a to [lo, hi] element-wise; the gradient passes where a lies
// within [lo, hi], as in PyTorch.
func Clamp(a *Var, lo, hi float32) *Var {
	return unary("Clamp", a, func(dst, x *tensor.Tensor) {
		tensor.ClampTo(dst, x, lo, hi)
	}, func(gx, g, x, _ []float32) {
		for i, v := range x {
			if v >= lo && v <= hi {
				gx[i] = g[i]
			}
		}
	})
}
