package autograd

import (
	"github.com/shoshin-ml/shoshin/tensor"
)

// keptShape returns shape with the reduced axes set to 1 (all axes when axes
// is empty).
func keptShape(shape []int, axes []int) []int {
	k := append([]int(nil), shape...)
	if len(axes) == 0 {
		for i := range k {
			k[i] = 1
		}
		return k
	}
	for _, ax := range axes {
		k[normAxis(ax, len(shape))] = 1
	}
	return k
}

// Sum returns the sum of a over axes (all axes when none are given),
// keeping the reduced axes with size 1 when keepDims is true.
func Sum(a *Var, keepDims bool, axes ...int) *Var {
	out := wrap(tensor.Sum(a.value, keepDims, axes...), a)
	if !out.requiresGrad {
		return out
	}
	shape := a.value.Shape()
	kept := keptShape(shape, axes)
	return out.record("Sum", func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.BroadcastTo(g.Reshape(kept...), shape...)}
	}, a)
}

// Mean returns the mean of a over axes (all axes when none are given).
func Mean(a *Var, keepDims bool, axes ...int) *Var {
	out := wrap(tensor.Mean(a.value, keepDims, axes...), a)
	if !out.requiresGrad {
		return out
	}
	shape := a.value.Shape()
	kept := keptShape(shape, axes)
	scale := float32(out.value.Size()) / float32(a.value.Size())
	return out.record("Mean", func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.BroadcastTo(tensor.MulScalar(g, scale).Reshape(kept...), shape...)}
	}, a)
}

// Max returns the maximum of a over axes. The gradient is shared evenly
// among tied maxima.
func Max(a *Var, keepDims bool, axes ...int) *Var {
	return extremum("Max", a, tensor.Max(a.value, keepDims, axes...), axes)
}

// Min returns the minimum of a over axes. The gradient is shared evenly
// among tied minima.
func Min(a *Var, keepDims bool, axes ...int) *Var {
	return extremum("Min", a, tensor.Min(a.value, keepDims, axes...), axes)
}

func extremum(op string, a *Var, val *tensor.Tensor, axes []int) *Var {
	out := wrap(val, a)
	if !out.requiresGrad {
		return out
	}
	av := a.value
	shape := av.Shape()
	kept := keptShape(shape, axes)
	return out.record(op, func(g *tensor.Tensor) []*tensor.Tensor {
		ext := tensor.BroadcastTo(val.Reshape(kept...), shape...).Data()
		mask := tensor.Zeros(shape...)
		md := mask.Data()
		for i, v := range av.Data() {
			if v == ext[i] {
				md[i] = 1
			}
		}
		count := tensor.BroadcastTo(tensor.Sum(mask, true, axes...), shape...)
		gb := tensor.BroadcastTo(g.Reshape(kept...), shape...)
		return []*tensor.Tensor{tensor.Div(tensor.Mul(gb, mask), count)}
	}, a)
}

// SumAll returns the sum of every element of a as a scalar Var.
func SumAll(a *Var) *Var { return Sum(a, false) }

// MeanAll returns the mean of every element of a as a scalar Var.
func MeanAll(a *Var) *Var { return Mean(a, false) }
