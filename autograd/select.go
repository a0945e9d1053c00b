package autograd

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Split cuts a along axis into consecutive pieces of the given sizes, which
// must add up to the axis length (torch.split with a list of sizes). Each
// piece is a fresh tensor; its gradient lands in its own range of a's.
func Split(a *Var, axis int, sizes ...int) []*Var {
	shape := a.value.Shape()
	ax := normAxis(axis, len(shape))
	total := 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("autograd.Split: negative size in %v", sizes))
		}
		total += s
	}
	if total != shape[ax] {
		panic(fmt.Sprintf("autograd.Split: sizes %v do not add up to axis %d of shape %v", sizes, axis, shape))
	}
	outs := make([]*Var, len(sizes))
	start := 0
	for i, s := range sizes {
		outs[i] = slicePiece(a, ax, start, start+s)
		start += s
	}
	return outs
}

// Chunk cuts a along axis into n pieces of equal length (torch.chunk when
// the length divides evenly; here it must).
func Chunk(a *Var, n, axis int) []*Var {
	shape := a.value.Shape()
	ax := normAxis(axis, len(shape))
	if n < 1 || shape[ax]%n != 0 {
		panic(fmt.Sprintf("autograd.Chunk: axis %d of shape %v does not split into %d equal pieces", axis, shape, n))
	}
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = shape[ax] / n
	}
	return Split(a, axis, sizes...)
}

// slicePiece is Slice whose backward writes the piece into a zero gradient
// directly rather than concatenating zero blocks.
func slicePiece(a *Var, ax, start, end int) *Var {
	out := wrap(tensor.Slice(a.value, ax, start, end), a)
	if !out.requiresGrad {
		return out
	}
	shape := a.value.Shape()
	outer, inner := 1, 1
	for i, d := range shape {
		if i < ax {
			outer *= d
		} else if i > ax {
			inner *= d
		}
	}
	n, w := shape[ax], end-start
	return out.record("Split", func(g *tensor.Tensor) []*tensor.Tensor {
		ga := tensor.Zeros(shape...)
		gd, src := ga.Data(), g.Data()
		for o := 0; o < outer; o++ {
			copy(gd[(o*n+start)*inner:(o*n+end)*inner], src[o*w*inner:(o+1)*w*inner])
		}
		return []*tensor.Tensor{ga}
	}, a)
}

// expandMask returns mask broadcast to shape as a flat slice of booleans
// (non-zero is true), panicking with op and both shapes when it does not
// broadcast.
func expandMask(op string, mask *tensor.Tensor, shape []int) []bool {
	full := mask
	if !tensor.EqualShape(mask.Shape(), shape) {
		out, ok := tensor.BroadcastShape(shape, mask.Shape())
		if !ok || !tensor.EqualShape(out, shape) {
			panic(fmt.Sprintf("autograd.%s: mask %v does not broadcast to %v", op, mask.Shape(), shape))
		}
		full = tensor.BroadcastTo(mask, shape...)
	}
	m := make([]bool, full.Size())
	for i, v := range full.Data() {
		m[i] = v != 0
	}
	return m
}

// MaskedFill returns a with the elements where mask is non-zero replaced by
// value (torch.masked_fill). mask is a constant that broadcasts to a's
// shape; no gradient flows through the filled elements.
func MaskedFill(a *Var, mask *tensor.Tensor, value float32) *Var {
	m := expandMask("MaskedFill", mask, a.value.Shape())
	out := wrap(alloc(a.value.Shape(), a), a)
	od, ad := out.value.Data(), a.value.Data()
	for i, v := range ad {
		if m[i] {
			od[i] = value
		} else {
			od[i] = v
		}
	}
	if !out.requiresGrad {
		return out
	}
	return out.record("MaskedFill", func(g *tensor.Tensor) []*tensor.Tensor {
		ga := tensor.Zeros(g.Shape()...)
		gad := ga.Data()
		for i, v := range g.Data() {
			if !m[i] {
				gad[i] = v
			}
		}
		return []*tensor.Tensor{ga}
	}, a)
}

// Where returns cond ? a : b element-wise (torch.where), with cond, a and b
// broadcast to a common shape; cond is a constant (non-zero is true). The
// gradient reaches a where cond holds and b elsewhere, summed back to each
// operand's shape.
func Where(cond *tensor.Tensor, a, b *Var) *Var {
	shape, ok := tensor.BroadcastShape(a.value.Shape(), b.value.Shape())
	if ok {
		shape, ok = tensor.BroadcastShape(shape, cond.Shape())
	}
	if !ok {
		panic(fmt.Sprintf("autograd.Where: condition %v and operands %v, %v do not broadcast", cond.Shape(), a.value.Shape(), b.value.Shape()))
	}
	m := expandMask("Where", cond, shape)
	av, bv := a.value, b.value
	if !tensor.EqualShape(av.Shape(), shape) {
		av = tensor.BroadcastTo(av, shape...)
	}
	if !tensor.EqualShape(bv.Shape(), shape) {
		bv = tensor.BroadcastTo(bv, shape...)
	}
	out := wrap(alloc(shape, a, b), a, b)
	od, ad, bd := out.value.Data(), av.Data(), bv.Data()
	for i := range od {
		if m[i] {
			od[i] = ad[i]
		} else {
			od[i] = bd[i]
		}
	}
	if !out.requiresGrad {
		return out
	}
	return out.record("Where", func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		gd := g.Data()
		if a.requiresGrad {
			ga = tensor.Zeros(shape...)
			d := ga.Data()
			for i, v := range gd {
				if m[i] {
					d[i] = v
				}
			}
			ga = reduceTo(ga, a)
		}
		if b.requiresGrad {
			gb = tensor.Zeros(shape...)
			d := gb.Data()
			for i, v := range gd {
				if !m[i] {
					d[i] = v
				}
			}
			gb = reduceTo(gb, b)
		}
		return []*tensor.Tensor{ga, gb}
	}, a, b)
}

// Tril keeps the elements of each matrix (the last two axes) of a on and
// below diagonal k and zeroes the rest (torch.tril): element (i, j) is kept
// when j ≤ i + k.
func Tril(a *Var, k int) *Var { return triangle("Tril", a, k, true) }

// Triu keeps the elements of each matrix (the last two axes) of a on and
// above diagonal k and zeroes the rest (torch.triu): element (i, j) is kept
// when j ≥ i + k.
func Triu(a *Var, k int) *Var { return triangle("Triu", a, k, false) }

func keepTri(i, j, k int, lower bool) bool {
	if lower {
		return j <= i+k
	}
	return j >= i+k
}

func triangle(op string, a *Var, k int, lower bool) *Var {
	shape := a.value.Shape()
	if len(shape) < 2 {
		panic(fmt.Sprintf("autograd.%s: input %v has fewer than two axes", op, shape))
	}
	r, c := shape[len(shape)-2], shape[len(shape)-1]
	apply := func(dst, src []float32) {
		for off := 0; off < len(src); off += r * c {
			for i := 0; i < r; i++ {
				for j := 0; j < c; j++ {
					p := off + i*c + j
					if keepTri(i, j, k, lower) {
						dst[p] = src[p]
					} else {
						dst[p] = 0
					}
				}
			}
		}
	}
	out := wrap(alloc(shape, a), a)
	apply(out.value.Data(), a.value.Data())
	if !out.requiresGrad {
		return out
	}
	return out.record(op, func(g *tensor.Tensor) []*tensor.Tensor {
		ga := tensor.Zeros(shape...)
		apply(ga.Data(), g.Data())
		return []*tensor.Tensor{ga}
	}, a)
}

// CausalMask returns the [t, s] mask that forbids attending to later
// positions: 1 where j > i (the key comes after the query), 0 elsewhere.
// This is PyTorch's nn.Transformer.generate_square_subsequent_mask as a
// boolean (true = may not attend); AdditiveMask turns it into the float
// form.
func CausalMask(t, s int) *tensor.Tensor {
	m := tensor.Zeros(t, s)
	d := m.Data()
	for i := 0; i < t; i++ {
		for j := i + 1; j < s; j++ {
			d[i*s+j] = 1
		}
	}
	return m
}

// AdditiveMask turns a boolean mask (non-zero = may not attend) into the
// additive form that attention adds to its scores: −Inf where mask is set,
// 0 elsewhere.
func AdditiveMask(mask *tensor.Tensor) *tensor.Tensor {
	out := tensor.Zeros(mask.Shape()...)
	d := out.Data()
	for i, v := range mask.Data() {
		if v != 0 {
			d[i] = float32(math.Inf(-1))
		}
	}
	return out
}
