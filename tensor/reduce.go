package tensor

import (
	"fmt"

	"github.com/chewxy/math32"
	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// redOp names a reduction.
type redOp uint8

const (
	redSum redOp = iota
	redMax
	redMin
)

// identity is the value a reduction starts from.
func (op redOp) identity() float32 {
	switch op {
	case redMax:
		return math32.Inf(-1)
	case redMin:
		return math32.Inf(1)
	}
	return 0
}

// Sum returns the sum of t over the given axes (negative axes count from
// the end; no axes means all of them). With keepDims the reduced axes stay
// as size 1, otherwise they are removed.
func Sum(t *Tensor, keepDims bool, axes ...int) *Tensor {
	return reduce(redSum, "Sum", t, keepDims, axes)
}

// Mean returns the mean of t over the given axes; see Sum. The mean over
// zero elements is NaN.
func Mean(t *Tensor, keepDims bool, axes ...int) *Tensor {
	out := reduce(redSum, "Mean", t, keepDims, axes)
	var inv float32
	if len(out.data) > 0 {
		inv = float32(len(out.data)) / float32(len(t.data))
	}
	if len(t.data) == 0 {
		inv = math32.NaN()
	}
	kernel.Scale(inv, out.data)
	return out
}

// Max returns the largest element of t over the given axes; see Sum. The
// maximum over zero elements is -Inf; a NaN among the elements makes the
// result NaN, as in torch.amax.
func Max(t *Tensor, keepDims bool, axes ...int) *Tensor {
	return reduce(redMax, "Max", t, keepDims, axes)
}

// Min returns the smallest element of t over the given axes; see Sum. The
// minimum over zero elements is +Inf; NaN propagates as in Max.
func Min(t *Tensor, keepDims bool, axes ...int) *Tensor {
	return reduce(redMin, "Min", t, keepDims, axes)
}

// SumAll returns the sum of all elements of t.
func SumAll(t *Tensor) float32 { return kernel.Sum(t.data) }

// MeanAll returns the mean of all elements of t (NaN when t is empty).
func MeanAll(t *Tensor) float32 {
	if len(t.data) == 0 {
		return math32.NaN()
	}
	return kernel.Sum(t.data) / float32(len(t.data))
}

// MaxAll returns the largest element of t (-Inf when t is empty, NaN when
// t holds a NaN).
func MaxAll(t *Tensor) float32 { return kernel.Max(t.data) }

// MinAll returns the smallest element of t (+Inf when t is empty, NaN when
// t holds a NaN).
func MinAll(t *Tensor) float32 { return minOf(t.data) }

// ArgMax returns, for every position of the other dimensions (row-major),
// the index along axis of the largest element; the first one wins ties. A
// NaN counts as larger than any number: like torch.argmax, the result is
// the index of the first NaN when there is one.
// For a [batch, classes] tensor, ArgMax(t, 1) is the predicted class of
// each row. It panics if the axis is out of range or has size 0.
func ArgMax(t *Tensor, axis int) []int { return argReduce("ArgMax", t, axis, true) }

// ArgMin is like ArgMax for the smallest element; it too returns the index
// of the first NaN when there is one.
func ArgMin(t *Tensor, axis int) []int { return argReduce("ArgMin", t, axis, false) }

func argReduce(name string, t *Tensor, axis int, isMax bool) []int {
	ax := normAxis(name, axis, len(t.shape))
	outer, n, inner := splitAt(t.shape, ax)
	if n == 0 {
		panic(fmt.Sprintf("tensor.%s: axis %d of shape %v is empty", name, axis, t.shape))
	}
	res := make([]int, outer*inner)
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for in := 0; in < inner; in++ {
			best, bi := t.data[base+in], 0
			for j, off := 1, base+in+inner; j < n && best == best; j, off = j+1, off+inner {
				v := t.data[off]
				if (isMax && v > best) || (!isMax && v < best) || v != v {
					best, bi = v, j
				}
			}
			res[o*inner+in] = bi
		}
	}
	return res
}

// normAxis resolves a possibly negative axis for a tensor of the given
// rank, panicking when it is out of range.
func normAxis(name string, axis, rank int) int {
	a := axis
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		panic(fmt.Sprintf("tensor.%s: axis %d out of range for rank %d", name, axis, rank))
	}
	return a
}

// splitAt views shape as [outer, shape[axis], inner].
func splitAt(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, shape[axis], inner
}

// reduceAxes returns a mask of the axes to reduce (all when axes is empty).
func reduceAxes(name string, shape []int, axes []int) []bool {
	mask := make([]bool, len(shape))
	if len(axes) == 0 {
		for i := range mask {
			mask[i] = true
		}
		return mask
	}
	for _, a := range axes {
		i := normAxis(name, a, len(shape))
		if mask[i] {
			panic(fmt.Sprintf("tensor.%s: axis %d repeated in %v for shape %v", name, a, axes, shape))
		}
		mask[i] = true
	}
	return mask
}

// rplan is a reduction loop over a contiguous input whose output is read
// and written through strides that are zero along reduced dimensions.
// Adjacent dimensions that are both reduced or both kept are merged, and
// size-1 dimensions are dropped.
type rplan struct {
	rank  int
	shape [maxDims]int
	red   [maxDims]bool
	so    [maxDims]int // output strides (0 where reduced)
}

func newRplan(name string, shape []int, mask []bool) rplan {
	var p rplan
	// Collect innermost-first, then reverse.
	outStride := 1
	for i := len(shape) - 1; i >= 0; i-- {
		n := shape[i]
		if n == 1 {
			continue
		}
		if k := p.rank - 1; k >= 0 && p.red[k] == mask[i] {
			p.shape[k] *= n
			if !mask[i] {
				outStride *= n
			}
			continue
		}
		if p.rank == maxDims {
			panic(fmt.Sprintf("tensor.%s: shape %v has too many dimensions", name, shape))
		}
		p.shape[p.rank], p.red[p.rank] = n, mask[i]
		if !mask[i] {
			p.so[p.rank] = outStride
			outStride *= n
		}
		p.rank++
	}
	if p.rank == 0 {
		p.shape[0], p.red[0], p.so[0], p.rank = 1, false, 1, 1
	}
	for i, j := 0, p.rank-1; i < j; i, j = i+1, j-1 {
		p.shape[i], p.shape[j] = p.shape[j], p.shape[i]
		p.red[i], p.red[j] = p.red[j], p.red[i]
		p.so[i], p.so[j] = p.so[j], p.so[i]
	}
	return p
}

// run folds the input rows [lo, hi) into out; a row is one pass of the
// innermost dimension. Rows in the range must not share outputs with rows
// another goroutine handles concurrently.
func (p *rplan) run(op redOp, out, in []float32, lo, hi int) {
	r := p.rank - 1
	n := p.shape[r]
	var idx [maxDims]int
	offO := 0
	rem := lo
	for d := r - 1; d >= 0; d-- {
		idx[d] = rem % p.shape[d]
		rem /= p.shape[d]
		offO += idx[d] * p.so[d]
	}
	innerRed := p.red[r]
	for o := lo; o < hi; o++ {
		row := in[o*n : (o+1)*n]
		if innerRed {
			out[offO] = foldScalar(op, out[offO], row)
		} else {
			foldVec(op, out[offO:offO+n], row)
		}
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			offO += p.so[d]
			if idx[d] < p.shape[d] {
				break
			}
			offO -= p.so[d] * p.shape[d]
			idx[d] = 0
		}
	}
}

// foldScalar combines acc with the reduction of row.
func foldScalar(op redOp, acc float32, row []float32) float32 {
	switch op {
	case redSum:
		return acc + kernel.Sum(row)
	case redMax:
		if m := kernel.Max(row); m > acc || m != m {
			return m
		}
		return acc
	default:
		if m := minOf(row); m < acc || m != m {
			return m
		}
		return acc
	}
}

// foldVec combines row into acc element-wise.
func foldVec(op redOp, acc, row []float32) {
	row = row[:len(acc)]
	switch op {
	case redSum:
		kernel.Add(acc, acc, row)
	case redMax:
		// Go's max and min return NaN if either argument is NaN.
		for i, v := range row {
			acc[i] = max(acc[i], v)
		}
	default:
		for i, v := range row {
			acc[i] = min(acc[i], v)
		}
	}
}

// minOf returns the smallest element of x, +Inf when x is empty, or the
// first NaN of x.
func minOf(x []float32) float32 {
	m := math32.Inf(1)
	for _, v := range x {
		if v < m {
			m = v
		} else if v != v {
			return v
		}
	}
	return m
}

// reduce implements Sum, Max, Min (and Mean through Sum).
func reduce(op redOp, name string, t *Tensor, keepDims bool, axes []int) *Tensor {
	mask := reduceAxes(name, t.shape, axes)
	shape := make([]int, 0, len(t.shape))
	for i, d := range t.shape {
		switch {
		case !mask[i]:
			shape = append(shape, d)
		case keepDims:
			shape = append(shape, 1)
		}
	}
	out := Full(op.identity(), shape...)
	if len(t.data) == 0 || len(out.data) == 0 {
		return out
	}
	p := newRplan(name, t.shape, mask)
	r := p.rank - 1
	n := p.shape[r]
	rows := len(t.data) / n
	switch {
	case len(t.data) <= grainCheap:
		p.run(op, out.data, t.data, 0, rows)
	case !p.red[0] && p.rank > 1:
		// The outermost dimension is kept: its slices own disjoint outputs.
		per := rows / p.shape[0]
		pp := p // only this branch pays for the closure's copy
		parallel.For(p.shape[0], max(1, grainCheap/(per*n)), func(lo, hi int) {
			pp.run(op, out.data, t.data, lo*per, hi*per)
		})
	case p.rank == 2 && !p.red[1]:
		// [R, K] reduced over R: split the K columns.
		k, rowsR := p.shape[1], p.shape[0]
		parallel.For(k, max(1, grainCheap/rowsR), func(lo, hi int) {
			acc := out.data[lo:hi]
			for i := 0; i < rowsR; i++ {
				foldVec(op, acc, t.data[i*k+lo:i*k+hi])
			}
		})
	default:
		p.run(op, out.data, t.data, 0, rows)
	}
	return out
}
