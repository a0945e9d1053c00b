package onnx

import "fmt"

// Integer tensors carry shapes, indices and masks: they are small, so
// their ops are plain loops.

// maxIntElements caps integer tensors a graph may create at run time
// (Expand, Range, ConstantOfShape), so that a hostile model cannot make
// the process allocate without bound.
const maxIntElements = 1 << 24

func newInts(shape []int) (*ints, error) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d != 0 && n > maxIntElements/d) {
			return nil, fmt.Errorf("shape %v is negative or larger than %d elements", shape, maxIntElements)
		}
		n *= d
	}
	return &ints{shape: append([]int(nil), shape...), data: make([]int64, n)}, nil
}

// broadcastShapes returns the NumPy broadcast of a and b.
func broadcastShapes(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// strides returns row-major strides of shape broadcast to rank n (zero
// stride along broadcast axes of out).
func bstrides(shape, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(shape))
		if j >= 0 && shape[j] != 1 {
			st[i] = s
		}
		if j >= 0 {
			s *= shape[j]
		}
	}
	return st
}

// broadcastInts applies f element-wise over a and b broadcast together.
func broadcastInts(a, b *ints, f func(x, y int64) (int64, error)) (*ints, error) {
	shape, err := broadcastShapes(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	out, err := newInts(shape)
	if err != nil {
		return nil, err
	}
	sa, sb := bstrides(a.shape, shape), bstrides(b.shape, shape)
	idx := make([]int, len(shape))
	for k := range out.data {
		ia, ib := 0, 0
		for d, i := range idx {
			ia += i * sa[d]
			ib += i * sb[d]
		}
		if out.data[k], err = f(a.data[ia], b.data[ib]); err != nil {
			return nil, err
		}
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// permuteInts reorders the axes of a: output axis i is input axis perm[i].
func permuteInts(a *ints, perm []int) *ints {
	shape := make([]int, len(perm))
	for i, p := range perm {
		shape[i] = a.shape[p]
	}
	in := bstrides(a.shape, a.shape)
	st := make([]int, len(perm))
	for i, p := range perm {
		st[i] = in[p]
		if a.shape[p] == 1 {
			st[i] = 0
		}
	}
	out := &ints{shape: shape, data: make([]int64, len(a.data)), bool: a.bool}
	idx := make([]int, len(shape))
	for k := range out.data {
		off := 0
		for d, i := range idx {
			off += i * st[d]
		}
		out.data[k] = a.data[off]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// scalarInt returns the single element of an integer tensor.
func scalarInt(v value, what string) (int64, error) {
	if v.f == nil && v.i == nil {
		return 0, fmt.Errorf("%s is missing", what)
	}
	iv := intsOf(v)
	if len(iv.data) != 1 {
		return 0, fmt.Errorf("%s has shape %v, want one element", what, iv.shape)
	}
	return iv.data[0], nil
}

// intList returns an integer tensor of rank 0 or 1 as a list.
func intList(v value, what string) ([]int64, error) {
	if v.f == nil && v.i == nil {
		return nil, fmt.Errorf("%s is missing", what)
	}
	iv := intsOf(v)
	if len(iv.shape) > 1 {
		return nil, fmt.Errorf("%s has shape %v, want a list", what, iv.shape)
	}
	return iv.data, nil
}

// normAxis maps a possibly negative axis onto [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}
