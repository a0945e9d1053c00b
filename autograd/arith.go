package autograd

import (
	"fmt"
	"slices"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// broadcastOut allocates the output of a broadcasting binary op.
func broadcastOut(op string, a, b *Var) *tensor.Tensor {
	if tensor.SameShape(a.value, b.value) {
		return alloc(a.value.Shape(), a, b)
	}
	shape, ok := tensor.BroadcastShape(a.value.Shape(), b.value.Shape())
	if !ok {
		panic(fmt.Sprintf("autograd.%s: shapes %v and %v are not broadcastable", op, a.value.Shape(), b.value.Shape()))
	}
	return alloc(shape, a, b)
}

// reduceTo sums a broadcast gradient back to the shape of v.
func reduceTo(g *tensor.Tensor, v *Var) *tensor.Tensor {
	if tensor.SameShape(g, v.value) {
		return g
	}
	return tensor.SumTo(g, v.value.Shape()...)
}

// Add returns a + b with NumPy broadcasting. When the operands have the
// same shape, or one's shape is a trailing part of the other's (a bias or
// a positional table added to every sample), it records an
// allocation-free backward, whose gradients come from the arena.
func Add(a, b *Var) *Var {
	out := wrap(broadcastOut("Add", a, b), a, b)
	od, ad, bd := out.value.Data(), a.value.Data(), b.value.Data()
	switch {
	case len(ad) == len(od) && len(bd) == len(od):
		kernel.Add(od, ad, bd)
	case len(ad) == len(od) && isSuffix(b.value.Shape(), a.value.Shape()):
		addBlocks(od, ad, bd)
	case len(bd) == len(od) && isSuffix(a.value.Shape(), b.value.Shape()):
		addBlocks(od, bd, ad)
	default:
		tensor.AddTo(out.value, a.value, b.value)
		if !out.requiresGrad {
			return out
		}
		return out.record("Add", func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{gradIf(a, func() *tensor.Tensor { return reduceTo(g, a) }), gradIf(b, func() *tensor.Tensor { return reduceTo(g, b) })}
		}, a, b)
	}
	out.recordFn("Add", addBackward, a, b)
	return out
}

// isSuffix reports whether shape s is a trailing part of shape of, so
// that an operand of shape s broadcasts to of by repeating whole blocks.
func isSuffix(s, of []int) bool {
	return len(s) <= len(of) && slices.Equal(s, of[len(of)-len(s):])
}

// addBlocks writes dst = big + small, with small repeated over every
// block of len(small) elements of big.
func addBlocks(dst, big, small []float32) {
	n := len(small)
	if n == 0 {
		return
	}
	for o := 0; o < len(dst); o += n {
		kernel.Add(dst[o:o+n], big[o:o+n], small)
	}
}

// addBackward passes the gradient to an input of the output's shape and
// sums it over the repeated blocks for a broadcast one, in the order of
// tensor.SumTo (block by block, from zero).
func addBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	grads := n.saved.out(2)
	gd := g.Data()
	for i, v := range n.inputs {
		if !v.requiresGrad {
			continue
		}
		if v.value.Size() == len(gd) {
			grads[i] = reshapeGrad(g, v)
			continue
		}
		gi := zeroGradBuf(v.value.Shape(), v)
		d := gi.Data()
		for o := 0; o < len(gd); o += len(d) {
			kernel.Add(d, d, gd[o:o+len(d)])
		}
		grads[i] = gi
	}
	return grads
}

// subBackward passes g to a and −g to b (operands of the output's size).
func subBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	a, b := n.inputs[0], n.inputs[1]
	grads := n.saved.out(2)
	if a.requiresGrad {
		grads[0] = reshapeGrad(g, a)
	}
	if b.requiresGrad {
		gb := gradBuf(b.value.Shape(), a, b)
		d := gb.Data()
		for i, v := range g.Data() {
			d[i] = -v
		}
		grads[1] = gb
	}
	return grads
}

// mulBackward gives a the gradient g·b and b the gradient g·a (operands
// of the output's size).
func mulBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	a, b := n.inputs[0], n.inputs[1]
	grads := n.saved.out(2)
	if a.requiresGrad {
		ga := gradBuf(a.value.Shape(), a, b)
		kernel.Mul(ga.Data(), g.Data(), b.value.Data())
		grads[0] = ga
	}
	if b.requiresGrad {
		gb := gradBuf(b.value.Shape(), a, b)
		kernel.Mul(gb.Data(), g.Data(), a.value.Data())
		grads[1] = gb
	}
	return grads
}

// reshapeGrad returns g with v's shape (g itself when it has it already).
func reshapeGrad(g *tensor.Tensor, v *Var) *tensor.Tensor {
	if tensor.SameShape(g, v.value) {
		return g
	}
	if ar := arenaOf(v); ar != nil {
		return ar.view(g, v.value.Shape())
	}
	return g.Reshape(v.value.Shape()...)
}

// Sub returns a - b with NumPy broadcasting. Operands of one size (equal
// shapes) record an allocation-free backward.
func Sub(a, b *Var) *Var {
	out := wrap(broadcastOut("Sub", a, b), a, b)
	tensor.SubTo(out.value, a.value, b.value)
	if n := out.value.Size(); a.value.Size() == n && b.value.Size() == n {
		out.recordFn("Sub", subBackward, a, b)
		return out
	}
	if !out.requiresGrad {
		return out
	}
	return out.record("Sub", func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{
			gradIf(a, func() *tensor.Tensor { return reduceTo(g, a) }),
			gradIf(b, func() *tensor.Tensor { return reduceTo(tensor.Neg(g), b) }),
		}
	}, a, b)
}

// Mul returns the element-wise product a · b with NumPy broadcasting.
// Operands of one size (equal shapes) record an allocation-free backward.
func Mul(a, b *Var) *Var {
	out := wrap(broadcastOut("Mul", a, b), a, b)
	if n := out.value.Size(); a.value.Size() == n && b.value.Size() == n {
		kernel.Mul(out.value.Data(), a.value.Data(), b.value.Data())
		out.recordFn("Mul", mulBackward, a, b)
		return out
	}
	tensor.MulTo(out.value, a.value, b.value)
	if !out.requiresGrad {
		return out
	}
	av, bv := a.value, b.value
	return out.record("Mul", func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{
			gradIf(a, func() *tensor.Tensor { return reduceTo(tensor.Mul(g, bv), a) }),
			gradIf(b, func() *tensor.Tensor { return reduceTo(tensor.Mul(g, av), b) }),
		}
	}, a, b)
}

// Div returns the element-wise quotient a / b with NumPy broadcasting.
func Div(a, b *Var) *Var {
	out := wrap(broadcastOut("Div", a, b), a, b)
	tensor.DivTo(out.value, a.value, b.value)
	if !out.requiresGrad {
		return out
	}
	bv, ov := b.value, out.value
	return out.record("Div", func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{
			gradIf(a, func() *tensor.Tensor { return reduceTo(tensor.Div(g, bv), a) }),
			// d(a/b)/db = -(a/b)/b
			gradIf(b, func() *tensor.Tensor { return reduceTo(tensor.Neg(tensor.Div(tensor.Mul(g, ov), bv)), b) }),
		}
	}, a, b)
}

// Maximum returns the element-wise maximum of a and b with broadcasting.
// Where a and b are equal the gradient is split evenly between them.
func Maximum(a, b *Var) *Var { return minmax("Maximum", a, b, true) }

// Minimum returns the element-wise minimum of a and b with broadcasting.
// Where a and b are equal the gradient is split evenly between them.
func Minimum(a, b *Var) *Var { return minmax("Minimum", a, b, false) }

func minmax(op string, a, b *Var, isMax bool) *Var {
	out := wrap(broadcastOut(op, a, b), a, b)
	if isMax {
		tensor.MaximumTo(out.value, a.value, b.value)
	} else {
		tensor.MinimumTo(out.value, a.value, b.value)
	}
	if !out.requiresGrad {
		return out
	}
	av, bv := a.value, b.value
	return out.record(op, func(g *tensor.Tensor) []*tensor.Tensor {
		shape := g.Shape()
		ab := tensor.BroadcastTo(av, shape...).Data()
		bb := tensor.BroadcastTo(bv, shape...).Data()
		ga, gb := tensor.Zeros(shape...), tensor.Zeros(shape...)
		gd, gad, gbd := g.Data(), ga.Data(), gb.Data()
		for i, gv := range gd {
			x, y := ab[i], bb[i]
			switch {
			case x == y:
				gad[i], gbd[i] = gv/2, gv/2
			case (x > y) == isMax:
				gad[i] = gv
			default:
				gbd[i] = gv
			}
		}
		return []*tensor.Tensor{reduceTo(ga, a), reduceTo(gb, b)}
	}, a, b)
}

// AddScalar returns a + s.
func AddScalar(a *Var, s float32) *Var {
	out := wrap(tensor.AddScalar(a.value, s), a)
	return out.record("AddScalar", func(g *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{g} }, a)
}

// MulScalar returns a · s.
func MulScalar(a *Var, s float32) *Var {
	out := wrap(tensor.MulScalar(a.value, s), a)
	return out.record("MulScalar", func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MulScalar(g, s)}
	}, a)
}

// Neg returns -a.
func Neg(a *Var) *Var { return MulScalar(a, -1) }

// Pow returns a raised element-wise to the constant power p.
func Pow(a *Var, p float32) *Var {
	out := wrap(tensor.Pow(a.value, p), a)
	av := a.value
	return out.record("Pow", func(g *tensor.Tensor) []*tensor.Tensor {
		// d(a^p)/da = p·a^(p-1)
		return []*tensor.Tensor{tensor.Mul(g, tensor.MulScalar(tensor.Pow(av, p-1), p))}
	}, a)
}

// gradIf calls f only when v needs a gradient.
func gradIf(v *Var, f func() *tensor.Tensor) *tensor.Tensor {
	if !v.requiresGrad {
		return nil
	}
	return f()
}
