package tensor

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// Transpose returns a copy of t with its last two axes swapped: the matrix
// transpose for a 2-D tensor, a per-item transpose for a batch. It panics
// if t has fewer than two dimensions. To multiply by a transpose, pass the
// flag to MatMul instead.
func Transpose(t *Tensor) *Tensor {
	r := len(t.shape)
	if r < 2 {
		panic(fmt.Sprintf("tensor.Transpose: shape %v has fewer than 2 dimensions", t.shape))
	}
	shape := cloneShape(t.shape)
	rows, cols := shape[r-2], shape[r-1]
	shape[r-2], shape[r-1] = cols, rows
	out := Zeros(shape...)
	mn := rows * cols
	if mn == 0 {
		return out
	}
	batch := len(t.data) / mn
	if len(t.data) <= grainCheap {
		for b := 0; b < batch; b++ {
			transpose2(out.data[b*mn:(b+1)*mn], t.data[b*mn:(b+1)*mn], rows, cols, 0, rows)
		}
		return out
	}
	// Split every matrix into bands of source rows.
	const band = 32
	bands := (rows + band - 1) / band
	parallel.For(batch*bands, max(1, grainCheap/(band*cols)), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			b, r0 := j/bands, (j%bands)*band
			transpose2(out.data[b*mn:(b+1)*mn], t.data[b*mn:(b+1)*mn], rows, cols, r0, min(r0+band, rows))
		}
	})
	return out
}

// transpose2 writes the transpose of source rows [r0, r1) of the rows×cols
// matrix src into dst (cols×rows), in cache-sized tiles.
func transpose2(dst, src []float32, rows, cols, r0, r1 int) {
	const tile = 32
	for i0 := r0; i0 < r1; i0 += tile {
		i1 := min(i0+tile, r1)
		for j0 := 0; j0 < cols; j0 += tile {
			j1 := min(j0+tile, cols)
			for i := i0; i < i1; i++ {
				row := src[i*cols : i*cols+cols]
				for j := j0; j < j1; j++ {
					dst[j*rows+i] = row[j]
				}
			}
		}
	}
}

// Permute returns a copy of t whose axis i is axis axes[i] of t, like
// numpy.transpose(t, axes). Negative axes count from the end. It panics
// unless axes is a permutation of t's axes.
func Permute(t *Tensor, axes ...int) *Tensor {
	r := len(t.shape)
	if len(axes) != r {
		panic(fmt.Sprintf("tensor.Permute: axes %v do not match shape %v", axes, t.shape))
	}
	perm := make([]int, r)
	seen := make([]bool, r)
	for i, a := range axes {
		ax := a
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r || seen[ax] {
			panic(fmt.Sprintf("tensor.Permute: axes %v are not a permutation for shape %v", axes, t.shape))
		}
		seen[ax] = true
		perm[i] = ax
	}
	// Input strides and output shape.
	inStride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		inStride[i] = s
		s *= t.shape[i]
	}
	shape := make([]int, r)
	strides := make([]int, r)
	for i, ax := range perm {
		shape[i], strides[i] = t.shape[ax], inStride[ax]
	}
	if r >= 2 && perm[r-1] == r-2 && perm[r-2] == r-1 && isIdentityPrefix(perm[:r-2]) {
		return Transpose(t)
	}
	out := Zeros(shape...)
	if len(out.data) == 0 {
		return out
	}
	if r == 0 {
		out.data[0] = t.data[0]
		return out
	}
	// Walk the output in order; the innermost output axis reads the input
	// with stride strides[r-1].
	n := shape[r-1]
	sIn := strides[r-1]
	idx := make([]int, r)
	off := 0
	for o := 0; o < len(out.data); o += n {
		dst := out.data[o : o+n]
		if sIn == 1 {
			copy(dst, t.data[off:off+n])
		} else {
			for j, p := 0, off; j < n; j, p = j+1, p+sIn {
				dst[j] = t.data[p]
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			off += strides[d]
			if idx[d] < shape[d] {
				break
			}
			off -= strides[d] * shape[d]
			idx[d] = 0
		}
	}
	return out
}

func isIdentityPrefix(p []int) bool {
	for i, v := range p {
		if v != i {
			return false
		}
	}
	return true
}

// Concat joins tensors along axis. All must have the same rank and equal
// sizes on every other axis; negative axes count from the end. It panics
// when given no tensors or mismatched shapes.
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Concat: no tensors")
	}
	first := ts[0].shape
	r := len(first)
	if r == 0 {
		panic("tensor.Concat: cannot concatenate rank-0 tensors")
	}
	ax := normAxis("Concat", axis, r)
	total := 0
	for _, t := range ts {
		if len(t.shape) != r {
			panic(fmt.Sprintf("tensor.Concat: shapes %v and %v differ in rank", first, t.shape))
		}
		for i := range first {
			if i != ax && t.shape[i] != first[i] {
				panic(fmt.Sprintf("tensor.Concat: shapes %v and %v differ outside axis %d", first, t.shape, axis))
			}
		}
		total += t.shape[ax]
	}
	shape := cloneShape(first)
	shape[ax] = total
	out := Zeros(shape...)
	outer, _, inner := splitAt(shape, ax)
	rowOut := total * inner
	off := 0
	for _, t := range ts {
		w := t.shape[ax] * inner
		for o := 0; o < outer; o++ {
			copy(out.data[o*rowOut+off:o*rowOut+off+w], t.data[o*w:(o+1)*w])
		}
		off += w
	}
	return out
}

// Stack joins tensors of identical shape along a new axis, which may be
// from -(rank+1) to rank. Stack(0, xs...) of n [h,w] tensors is [n,h,w].
func Stack(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Stack: no tensors")
	}
	first := ts[0].shape
	ax := normAxis("Stack", axis, len(first)+1)
	views := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !EqualShape(t.shape, first) {
			panic(fmt.Sprintf("tensor.Stack: shapes %v and %v differ", first, t.shape))
		}
		views[i] = Unsqueeze(t, ax)
	}
	return Concat(ax, views...)
}

// Slice returns a copy of the elements of t with index in [start, end)
// along axis (negative axis counts from the end). It panics unless
// 0 <= start <= end <= size of the axis.
func Slice(t *Tensor, axis, start, end int) *Tensor {
	ax := normAxis("Slice", axis, len(t.shape))
	if start < 0 || start > end || end > t.shape[ax] {
		panic(fmt.Sprintf("tensor.Slice: range [%d, %d) out of bounds for axis %d of shape %v", start, end, axis, t.shape))
	}
	shape := cloneShape(t.shape)
	shape[ax] = end - start
	out := Zeros(shape...)
	outer, n, inner := splitAt(t.shape, ax)
	w := (end - start) * inner
	for o := 0; o < outer; o++ {
		src := o*n*inner + start*inner
		copy(out.data[o*w:(o+1)*w], t.data[src:src+w])
	}
	return out
}

// Unsqueeze returns a view of t (sharing its data, like Reshape) with a
// new axis of size 1 inserted at axis, which may be from -(rank+1) to rank.
func Unsqueeze(t *Tensor, axis int) *Tensor {
	ax := normAxis("Unsqueeze", axis, len(t.shape)+1)
	shape := make([]int, 0, len(t.shape)+1)
	shape = append(shape, t.shape[:ax]...)
	shape = append(shape, 1)
	shape = append(shape, t.shape[ax:]...)
	return &Tensor{shape: shape, data: t.data}
}

// Squeeze returns a view of t (sharing its data, like Reshape) without the
// given size-1 axes, or without every size-1 axis when none are given. It
// panics if a given axis does not have size 1.
func Squeeze(t *Tensor, axes ...int) *Tensor {
	drop := make([]bool, len(t.shape))
	if len(axes) == 0 {
		for i, d := range t.shape {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		ax := normAxis("Squeeze", a, len(t.shape))
		if t.shape[ax] != 1 {
			panic(fmt.Sprintf("tensor.Squeeze: axis %d of shape %v is not 1", a, t.shape))
		}
		drop[ax] = true
	}
	shape := make([]int, 0, len(t.shape))
	for i, d := range t.shape {
		if !drop[i] {
			shape = append(shape, d)
		}
	}
	return &Tensor{shape: shape, data: t.data}
}

// Flatten returns a 2-D view [shape[0], rest] of t sharing its data, as
// used between convolutional and dense layers. It panics on rank 0.
func Flatten(t *Tensor) *Tensor {
	if len(t.shape) == 0 {
		panic("tensor.Flatten: rank-0 tensor")
	}
	rest := 1
	for _, d := range t.shape[1:] {
		rest *= d
	}
	return &Tensor{shape: []int{t.shape[0], rest}, data: t.data}
}
