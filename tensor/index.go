package tensor

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
)

// Index gathers rows of t along axis 0: the result has shape
// [len(rows), t.shape[1:]...] and row i is t[rows[i]]. This is how a batch
// is taken from a dataset tensor. It panics if t is rank 0 or a row id is
// out of range.
func Index(t *Tensor, rows []int) *Tensor {
	if len(t.shape) == 0 {
		panic("tensor.Index: rank-0 tensor")
	}
	shape := append([]int{len(rows)}, t.shape[1:]...)
	out := Zeros(shape...)
	w := rowWidth(t)
	for i, r := range rows {
		if r < 0 || r >= t.shape[0] {
			panic(fmt.Sprintf("tensor.Index: row %d (position %d) out of range [0, %d) for shape %v", r, i, t.shape[0], t.shape))
		}
		copy(out.data[i*w:(i+1)*w], t.data[r*w:(r+1)*w])
	}
	return out
}

// IndexAdd adds row i of src into row rows[i] of dst, accumulating when a
// row id repeats. It is the adjoint of Index. src must have shape
// [len(rows), dst.shape[1:]...]. It does not allocate.
func IndexAdd(dst *Tensor, rows []int, src *Tensor) {
	if len(dst.shape) == 0 || len(src.shape) != len(dst.shape) || src.shape[0] != len(rows) || !EqualShape(src.shape[1:], dst.shape[1:]) {
		panic(fmt.Sprintf("tensor.IndexAdd: src shape %v does not fit dst shape %v with %d rows", src.shape, dst.shape, len(rows)))
	}
	w := rowWidth(dst)
	for i, r := range rows {
		if r < 0 || r >= dst.shape[0] {
			panic(fmt.Sprintf("tensor.IndexAdd: row %d (position %d) out of range [0, %d) for shape %v", r, i, dst.shape[0], dst.shape))
		}
		kernel.Axpy(1, src.data[i*w:(i+1)*w], dst.data[r*w:(r+1)*w])
	}
}

// rowWidth is the number of elements in one index of axis 0.
func rowWidth(t *Tensor) int {
	w := 1
	for _, d := range t.shape[1:] {
		w *= d
	}
	return w
}

// OneHot returns a [len(labels), classes] tensor with a 1 at
// (i, labels[i]) and 0 elsewhere. It panics if a label is outside
// [0, classes).
func OneHot(labels []int, classes int) *Tensor {
	if classes < 0 {
		panic(fmt.Sprintf("tensor.OneHot: negative class count %d", classes))
	}
	out := Zeros(len(labels), classes)
	for i, l := range labels {
		if l < 0 || l >= classes {
			panic(fmt.Sprintf("tensor.OneHot: label %d (position %d) out of range [0, %d)", l, i, classes))
		}
		out.data[i*classes+l] = 1
	}
	return out
}

// Gather picks one element along axis for every position of the other
// dimensions: the result has t's shape without axis, and its element at
// flat (row-major) position i is t[..., idx[i], ...]. With axis -1 on
// [batch, classes] scores and idx the labels, it picks each row's score for
// its label. idx has the layout ArgMax returns. It panics if idx has the
// wrong length or an index is out of range.
func Gather(t *Tensor, axis int, idx []int) *Tensor {
	ax := normAxis("Gather", axis, len(t.shape))
	outer, n, inner := splitAt(t.shape, ax)
	checkGather("Gather", t.shape, axis, outer*inner, n, idx)
	shape := append(cloneShape(t.shape[:ax]), t.shape[ax+1:]...)
	out := Zeros(shape...)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			p := o*inner + in
			out.data[p] = t.data[(o*n+idx[p])*inner+in]
		}
	}
	return out
}

// ScatterAdd adds element i of src into dst at position idx[i] along axis,
// the adjoint of Gather: src has dst's shape without axis. It does not
// allocate.
func ScatterAdd(dst *Tensor, axis int, idx []int, src *Tensor) {
	ax := normAxis("ScatterAdd", axis, len(dst.shape))
	outer, n, inner := splitAt(dst.shape, ax)
	if len(src.shape) != len(dst.shape)-1 || !EqualShape(src.shape[:ax], dst.shape[:ax]) || !EqualShape(src.shape[ax:], dst.shape[ax+1:]) {
		panic(fmt.Sprintf("tensor.ScatterAdd: src shape %v does not fit dst shape %v without axis %d", src.shape, dst.shape, axis))
	}
	checkGather("ScatterAdd", dst.shape, axis, outer*inner, n, idx)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			p := o*inner + in
			dst.data[(o*n+idx[p])*inner+in] += src.data[p]
		}
	}
}

func checkGather(name string, shape []int, axis, want, n int, idx []int) {
	if len(idx) != want {
		panic(fmt.Sprintf("tensor.%s: %d indices for shape %v along axis %d, want %d", name, len(idx), shape, axis, want))
	}
	for i, v := range idx {
		if v < 0 || v >= n {
			panic(fmt.Sprintf("tensor.%s: index %d (position %d) out of range [0, %d) for axis %d of shape %v", name, v, i, n, axis, shape))
		}
	}
}
