package autograd

import (
	"fmt"
	"slices"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Reshape returns a with a new shape sharing its data; one dimension may be
// -1 and is inferred.
func Reshape(a *Var, shape ...int) *Var {
	var t *tensor.Tensor
	if ar := arenaOf(a); ar != nil {
		t = ar.view(a.value, shape)
	} else {
		// A copy, so that the caller's shape does not escape through
		// Reshape's error message and callers under an arena allocate
		// nothing for it.
		t = a.value.Reshape(slices.Clone(shape)...)
	}
	out := wrap(t, a)
	if !out.requiresGrad {
		return out
	}
	orig := a.value.Shape()
	if s := out.recordFn("Reshape", reshapeBackward, a); s != nil && !s.setShape(orig) {
		// Too many axes to keep in the node: fall back to a closure.
		out.node.fn = nil
		out.node.backward = func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{g.Reshape(orig...)}
		}
	}
	return out
}

// reshapeBackward gives the gradient the input's saved shape.
func reshapeBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	shape := n.saved.shape[:n.saved.rank]
	grads := n.saved.out(1)
	if ar := arenaOf(n.inputs[0]); ar != nil {
		grads[0] = ar.view(g, shape)
	} else {
		grads[0] = g.Reshape(shape...)
	}
	return grads
}

// Flatten reshapes a to [N, rest], keeping the first (batch) axis.
func Flatten(a *Var) *Var {
	if a.value.Rank() < 1 {
		panic(fmt.Sprintf("autograd.Flatten: need at least one axis, got shape %v", a.value.Shape()))
	}
	return Reshape(a, a.value.Dim(0), -1)
}

// Transpose swaps the last two axes of a (a matrix transpose for 2-D).
func Transpose(a *Var) *Var {
	out := wrap(tensor.Transpose(a.value), a)
	return out.record("Transpose", func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Transpose(g)}
	}, a)
}

// Permute reorders the axes of a: output axis i is input axis axes[i].
func Permute(a *Var, axes ...int) *Var {
	out := wrap(tensor.Permute(a.value, axes...), a)
	if !out.requiresGrad {
		return out
	}
	inv := make([]int, len(axes))
	for i, ax := range axes {
		if ax < 0 {
			ax += len(axes)
		}
		inv[ax] = i
	}
	return out.record("Permute", func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Permute(g, inv...)}
	}, a)
}

// Concat joins vs along axis; all other dimensions must agree.
func Concat(axis int, vs ...*Var) *Var {
	vals := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		vals[i] = v.value
	}
	out := wrap(tensor.Concat(axis, vals...), vs...)
	if !out.requiresGrad {
		return out
	}
	ax := normAxis(axis, out.value.Rank())
	return out.record("Concat", func(g *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(vs))
		start := 0
		for i, v := range vs {
			d := v.value.Dim(ax)
			if v.requiresGrad {
				grads[i] = tensor.Slice(g, ax, start, start+d)
			}
			start += d
		}
		return grads
	}, vs...)
}

// Stack joins vs, which must share one shape, along a new axis.
func Stack(axis int, vs ...*Var) *Var {
	vals := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		vals[i] = v.value
	}
	out := wrap(tensor.Stack(axis, vals...), vs...)
	if !out.requiresGrad {
		return out
	}
	ax := normAxis(axis, out.value.Rank())
	return out.record("Stack", func(g *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, len(vs))
		for i, v := range vs {
			if v.requiresGrad {
				grads[i] = tensor.Slice(g, ax, i, i+1).Reshape(v.value.Shape()...)
			}
		}
		return grads
	}, vs...)
}

// Index gathers the rows of a (along axis 0) listed in rows; rows may repeat.
func Index(a *Var, rows []int) *Var {
	out := wrap(tensor.Index(a.value, rows), a)
	if !out.requiresGrad {
		return out
	}
	ids := append([]int(nil), rows...)
	shape := a.value.Shape()
	return out.record("Index", func(g *tensor.Tensor) []*tensor.Tensor {
		ga := tensor.Zeros(shape...)
		tensor.IndexAdd(ga, ids, g)
		return []*tensor.Tensor{ga}
	}, a)
}

// Slice returns the elements of a with start <= index < end along axis.
func Slice(a *Var, axis, start, end int) *Var {
	out := wrap(tensor.Slice(a.value, axis, start, end), a)
	if !out.requiresGrad {
		return out
	}
	ax := normAxis(axis, a.value.Rank())
	shape := a.value.Shape()
	return out.record("Slice", func(g *tensor.Tensor) []*tensor.Tensor {
		parts := []*tensor.Tensor{}
		if start > 0 {
			s := append([]int(nil), shape...)
			s[ax] = start
			parts = append(parts, tensor.Zeros(s...))
		}
		parts = append(parts, g)
		if end < shape[ax] {
			s := append([]int(nil), shape...)
			s[ax] = shape[ax] - end
			parts = append(parts, tensor.Zeros(s...))
		}
		if len(parts) == 1 {
			return []*tensor.Tensor{g}
		}
		return []*tensor.Tensor{tensor.Concat(ax, parts...)}
	}, a)
}

func normAxis(axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		panic(fmt.Sprintf("autograd: axis %d out of range for rank %d", axis, rank))
	}
	return axis
}
