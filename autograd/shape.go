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

// Stack joins vs, which must share one shape, along a new axis. Its
// output, and its gradients, come from the inputs' arena when they have
// one; stacked along axis 0, the gradients are views of the output's.
func Stack(axis int, vs ...*Var) *Var {
	if len(vs) == 0 {
		panic("autograd.Stack: no inputs")
	}
	first := vs[0].value.Shape()
	ax := normAxis(axis, len(first)+1)
	for _, v := range vs[1:] {
		if !tensor.EqualShape(v.value.Shape(), first) {
			panic(fmt.Sprintf("autograd.Stack: shapes %v and %v differ", first, v.value.Shape()))
		}
	}
	var buf [8]int
	shape := append(buf[:0], first[:ax]...)
	shape = append(shape, len(vs))
	shape = append(shape, first[ax:]...)
	out := wrap(alloc(shape, vs...), vs...)
	outer, inner := stackSplit(first, ax)
	od, n := out.value.Data(), len(vs)
	for i, v := range vs {
		d := v.value.Data()
		for o := range outer {
			copy(od[(o*n+i)*inner:(o*n+i+1)*inner], d[o*inner:(o+1)*inner])
		}
	}
	if s := out.recordFn("Stack", stackBackward, vs...); s != nil {
		s.i[0] = ax
	}
	return out
}

// stackSplit returns the number of elements of a stacked input before
// axis ax (outer) and from it on (inner).
func stackSplit(shape []int, ax int) (outer, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:ax] {
		outer *= d
	}
	for _, d := range shape[ax:] {
		inner *= d
	}
	return outer, inner
}

// stackBackward gives each input its slice of the gradient.
func stackBackward(nd *node, g *tensor.Tensor) []*tensor.Tensor {
	vs := nd.inputs
	n := len(vs)
	var grads []*tensor.Tensor
	if n <= len(nd.saved.grads) {
		grads = nd.saved.out(n)
	} else {
		grads = make([]*tensor.Tensor, n)
	}
	shape := vs[0].value.Shape()
	outer, inner := stackSplit(shape, nd.saved.i[0])
	gd := g.Data()
	for i, v := range vs {
		if !v.requiresGrad {
			continue
		}
		if outer == 1 {
			// Stacked along the first axis: the gradient is a slab of g.
			slab := gd[i*inner : (i+1)*inner]
			if ar := arenaOf(v); ar != nil {
				grads[i] = ar.slab(slab, shape)
			} else {
				grads[i] = tensor.New(slab, shape...)
			}
			continue
		}
		gi := gradBuf(shape, v)
		d := gi.Data()
		for o := range outer {
			copy(d[o*inner:(o+1)*inner], gd[(o*n+i)*inner:(o*n+i+1)*inner])
		}
		grads[i] = gi
	}
	return grads
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
	ar := arenaOf(a)
	if ar == nil {
		return sliceRecord(wrap(tensor.Slice(a.value, axis, start, end), a), a, axis, start)
	}
	as := a.value.Shape()
	ax := normAxis(axis, len(as))
	if start < 0 || start > end || end > as[ax] {
		tensor.Slice(a.value, axis, start, end) // panics, saying why
	}
	var buf [8]int
	shape := append(buf[:0], as...)
	shape[ax] = end - start
	out := wrap(ar.tensor(shape), a)
	pre, inner := sliceSplit(as, ax)
	n, w := as[ax], (end-start)*inner
	od, ad := out.value.Data(), a.value.Data()
	for o := range pre {
		copy(od[o*w:(o+1)*w], ad[(o*n+start)*inner:(o*n+end)*inner])
	}
	return sliceRecord(out, a, axis, start)
}

// sliceSplit returns the number of elements of shape before axis ax
// (pre) and after it (inner).
func sliceSplit(shape []int, ax int) (pre, inner int) {
	pre, inner = 1, 1
	for _, d := range shape[:ax] {
		pre *= d
	}
	for _, d := range shape[ax+1:] {
		inner *= d
	}
	return pre, inner
}

// sliceRecord records Slice's allocation-free backward on out.
func sliceRecord(out, a *Var, axis, start int) *Var {
	if s := out.recordFn("Slice", sliceBackward, a); s != nil {
		s.i = [2]int{normAxis(axis, a.value.Rank()), start}
	}
	return out
}

// sliceBackward places the gradient of the slice in a zero tensor shaped
// like the input.
func sliceBackward(nd *node, g *tensor.Tensor) []*tensor.Tensor {
	a := nd.inputs[0]
	ax, start := nd.saved.i[0], nd.saved.i[1]
	as := a.value.Shape()
	grads := nd.saved.out(1)
	if g.Size() == a.value.Size() {
		grads[0] = reshapeGrad(g, a)
		return grads
	}
	ga := zeroGradBuf(as, a)
	pre, inner := sliceSplit(as, ax)
	n := as[ax]
	w := g.Shape()[ax] * inner
	gd, d := g.Data(), ga.Data()
	for o := range pre {
		copy(d[(o*n+start)*inner:], gd[o*w:(o+1)*w])
	}
	grads[0] = ga
	return grads
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
