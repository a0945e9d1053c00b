package autograd

import (
	"github.com/shoshin-ml/shoshin/tensor"
)

// Softmax returns exp(a) normalised to sum to one along axis, computed
// stably (the maximum is subtracted first).
func Softmax(a *Var, axis int) *Var {
	out := wrap(alloc(a.value.Shape(), a), a)
	tensor.SoftmaxTo(out.value, a.value, axis)
	if !out.requiresGrad {
		return out
	}
	y := out.value
	return out.record("Softmax", func(g *tensor.Tensor) []*tensor.Tensor {
		// dx = y·(g − Σ g·y)
		gy := tensor.Mul(g, y)
		s := tensor.Sum(gy, true, axis)
		return []*tensor.Tensor{tensor.Mul(y, tensor.Sub(g, s))}
	}, a)
}

// LogSoftmax returns log(Softmax(a)) along axis, computed as a − logΣexp(a)
// so that it stays finite for large logits.
func LogSoftmax(a *Var, axis int) *Var {
	out := wrap(alloc(a.value.Shape(), a), a)
	tensor.LogSoftmaxTo(out.value, a.value, axis)
	if !out.requiresGrad {
		return out
	}
	y := out.value
	return out.record("LogSoftmax", func(g *tensor.Tensor) []*tensor.Tensor {
		// dx = g − softmax·Σg
		s := tensor.Sum(g, true, axis)
		return []*tensor.Tensor{tensor.Sub(g, tensor.Mul(tensor.Exp(y), s))}
	}, a)
}
