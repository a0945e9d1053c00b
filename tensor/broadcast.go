package tensor

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// maxDims bounds the rank of the strided loops after adjacent dimensions
// have been merged. Shapes that cannot be merged below it panic.
const maxDims = 16

// Grain sizes (elements per parallel chunk) for cheap and for transcendental
// element-wise work. Below them a loop stays on the caller's goroutine.
const (
	grainCheap = 1 << 15
	grainHeavy = 1 << 12
)

// BroadcastShape returns the shape that a and b broadcast to under NumPy
// rules (dimensions aligned from the right; each pair equal or one of them
// 1) and whether they are broadcastable at all.
func BroadcastShape(a, b []int) ([]int, bool) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 1; i <= r; i++ {
		da, db := dimFromRight(a, i), dimFromRight(b, i)
		switch {
		case da == db, db == 1:
			out[r-i] = da
		case da == 1:
			out[r-i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// dimFromRight returns shape[len(shape)-i], or 1 when shape has fewer than
// i dimensions.
func dimFromRight(shape []int, i int) int {
	if i > len(shape) {
		return 1
	}
	return shape[len(shape)-i]
}

// broadcastsTo reports whether a and b broadcast to exactly out, without
// allocating.
func broadcastsTo(a, b, out []int) bool {
	if len(out) != max(len(a), len(b)) {
		return false
	}
	for i := 1; i <= len(out); i++ {
		da, db := dimFromRight(a, i), dimFromRight(b, i)
		var d int
		switch {
		case da == db, db == 1:
			d = da
		case da == 1:
			d = db
		default:
			return false
		}
		if d != out[len(out)-i] {
			return false
		}
	}
	return true
}

// BroadcastTo returns a fresh tensor of the given shape holding t repeated
// along its broadcast dimensions. It panics if t does not broadcast to
// shape.
func BroadcastTo(t *Tensor, shape ...int) *Tensor {
	checkShape("BroadcastTo", shape)
	if !broadcastsTo(shape, t.shape, shape) {
		panic(fmt.Sprintf("tensor.BroadcastTo: shape %v does not broadcast to %v", t.shape, shape))
	}
	out := Zeros(shape...)
	binaryInto(opRight, out.data, out.shape, out.data, out.shape, t.data, t.shape)
	return out
}

// SumTo reduces t, typically the result of a broadcast, back to shape: it
// sums over the leading dimensions that shape lacks and over every
// dimension where shape has 1 and t does not. It is the adjoint of
// BroadcastTo and is how gradients of broadcast operands are formed. It
// panics if shape does not broadcast to t's shape.
func SumTo(t *Tensor, shape ...int) *Tensor {
	checkShape("SumTo", shape)
	if len(shape) > len(t.shape) {
		panic(fmt.Sprintf("tensor.SumTo: cannot reduce shape %v to %v", t.shape, shape))
	}
	lead := len(t.shape) - len(shape)
	var axes []int
	for i, d := range t.shape {
		if i < lead {
			axes = append(axes, i)
			continue
		}
		switch s := shape[i-lead]; {
		case s == d:
		case s == 1:
			axes = append(axes, i)
		default:
			panic(fmt.Sprintf("tensor.SumTo: cannot reduce shape %v to %v", t.shape, shape))
		}
	}
	if len(axes) == 0 {
		return New(append([]float32(nil), t.data...), shape...)
	}
	r := reduce(redSum, "SumTo", t, true, axes)
	return New(r.data, shape...)
}

// bplan is an element-wise loop over an output of a given shape whose two
// inputs are read through strides that are zero along broadcast dimensions.
// Adjacent dimensions that can be walked as one are merged, so that the
// innermost loop is as long as possible and has input strides of 0 or 1.
type bplan struct {
	rank          int
	shape, sa, sb [maxDims]int
}

// newBplan builds the loop for inputs of shapes as and bs broadcast to out.
// The shapes must already be known to broadcast.
func newBplan(op string, out, as, bs []int) bplan {
	var p bplan
	// Walk from the innermost dimension outwards, merging as we go. The
	// dimensions are collected innermost-first and reversed at the end.
	strideA, strideB := 1, 1
	for i := 1; i <= len(out); i++ {
		n := out[len(out)-i]
		if n == 1 {
			continue
		}
		da, db := dimFromRight(as, i), dimFromRight(bs, i)
		sa, sb := 0, 0
		if da != 1 {
			sa = strideA
		}
		if db != 1 {
			sb = strideB
		}
		strideA *= da
		strideB *= db
		if k := p.rank - 1; k >= 0 && sa == p.sa[k]*p.shape[k] && sb == p.sb[k]*p.shape[k] {
			p.shape[k] *= n
			continue
		}
		if p.rank == maxDims {
			panic(fmt.Sprintf("tensor.%s: shape %v has too many dimensions", op, out))
		}
		p.shape[p.rank], p.sa[p.rank], p.sb[p.rank] = n, sa, sb
		p.rank++
	}
	if p.rank == 0 {
		p.shape[0], p.rank = 1, 1
	}
	for i, j := 0, p.rank-1; i < j; i, j = i+1, j-1 {
		p.shape[i], p.shape[j] = p.shape[j], p.shape[i]
		p.sa[i], p.sa[j] = p.sa[j], p.sa[i]
		p.sb[i], p.sb[j] = p.sb[j], p.sb[i]
	}
	return p
}

// run applies op to the rows [lo, hi) of the plan, a row being one pass of
// the innermost dimension. dst is contiguous in the plan's shape.
func (p *bplan) run(op binOp, dst, a, b []float32, lo, hi int) {
	r := p.rank - 1
	n := p.shape[r]
	isa, isb := p.sa[r], p.sb[r]
	var idx [maxDims]int
	offA, offB := 0, 0
	rem := lo
	for d := r - 1; d >= 0; d-- {
		idx[d] = rem % p.shape[d]
		rem /= p.shape[d]
		offA += idx[d] * p.sa[d]
		offB += idx[d] * p.sb[d]
	}
	for o := lo; o < hi; o++ {
		binRow(op, dst[o*n:(o+1)*n], a, b, offA, offB, isa, isb)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			offA += p.sa[d]
			offB += p.sb[d]
			if idx[d] < p.shape[d] {
				break
			}
			offA -= p.sa[d] * p.shape[d]
			offB -= p.sb[d] * p.shape[d]
			idx[d] = 0
		}
	}
}

// binRow applies op to one contiguous run of dst, reading a and b from the
// given offsets with strides 0 or 1.
func binRow(op binOp, dst, a, b []float32, offA, offB, isa, isb int) {
	n := len(dst)
	switch {
	case isa == 1 && isb == 1:
		binVV(op, dst, a[offA:offA+n], b[offB:offB+n])
	case isa == 1:
		binVS(op, dst, a[offA:offA+n], b[offB])
	case isb == 1:
		binSV(op, dst, a[offA], b[offB:offB+n])
	default:
		fill(dst, binSS(op, a[offA], b[offB]))
	}
}

// binaryInto computes dst = a op b with broadcasting. dst has shape out,
// which the caller has checked is the broadcast of as and bs. It does not
// allocate unless the work is large enough to be split across goroutines.
func binaryInto(op binOp, dst []float32, out []int, a []float32, as []int, b []float32, bs []int) {
	total := len(dst)
	if total == 0 {
		return
	}
	grain := grainCheap
	if len(a) == total && len(b) == total {
		// Same shape (the shapes broadcast to out and have its size).
		if total <= grain {
			binVV(op, dst, a, b)
			return
		}
		parallel.For(total, grain, func(lo, hi int) { binVV(op, dst[lo:hi], a[lo:hi], b[lo:hi]) })
		return
	}
	p := newBplan(op.name(), out, as, bs)
	r := p.rank - 1
	n := p.shape[r]
	rows := total / n
	if total <= grain {
		p.run(op, dst, a, b, 0, rows)
		return
	}
	if rows == 1 {
		isa, isb := p.sa[r], p.sb[r]
		parallel.For(n, grain, func(lo, hi int) {
			binRow(op, dst[lo:hi], a, b, lo*isa, lo*isb, isa, isb)
		})
		return
	}
	pp := p
	parallel.For(rows, max(1, grain/n), func(lo, hi int) { pp.run(op, dst, a, b, lo, hi) })
}

// fill sets every element of dst to v.
func fill(dst []float32, v float32) {
	for i := range dst {
		dst[i] = v
	}
}
