package tensor

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
)

// binOp names an element-wise binary operation. Each has its own loop in
// binVV, binVS and binSV; the switch happens once per row, never per
// element.
type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opMax
	opMin
	opRight // dst = b, used by BroadcastTo
	opGreater
	opGreaterEqual
	opLess
	opLessEqual
)

var binNames = [...]string{"Add", "Sub", "Mul", "Div", "Maximum", "Minimum", "BroadcastTo", "Greater", "GreaterEqual", "Less", "LessEqual"}

func (op binOp) name() string { return binNames[op] }

// Add returns a + b element-wise with NumPy broadcasting.
func Add(a, b *Tensor) *Tensor { return binary(opAdd, "Add", a, b) }

// Sub returns a - b element-wise with NumPy broadcasting.
func Sub(a, b *Tensor) *Tensor { return binary(opSub, "Sub", a, b) }

// Mul returns a · b element-wise with NumPy broadcasting.
func Mul(a, b *Tensor) *Tensor { return binary(opMul, "Mul", a, b) }

// Div returns a / b element-wise with NumPy broadcasting.
func Div(a, b *Tensor) *Tensor { return binary(opDiv, "Div", a, b) }

// Maximum returns the element-wise larger of a and b with NumPy
// broadcasting. Where either is NaN the result is NaN, as in
// torch.maximum; +0 counts as larger than -0.
func Maximum(a, b *Tensor) *Tensor { return binary(opMax, "Maximum", a, b) }

// Minimum returns the element-wise smaller of a and b with NumPy
// broadcasting. Where either is NaN the result is NaN; -0 counts as
// smaller than +0.
func Minimum(a, b *Tensor) *Tensor { return binary(opMin, "Minimum", a, b) }

// Greater returns 1 where a > b and 0 elsewhere, with NumPy broadcasting.
func Greater(a, b *Tensor) *Tensor { return binary(opGreater, "Greater", a, b) }

// GreaterEqual returns 1 where a >= b and 0 elsewhere, with NumPy
// broadcasting.
func GreaterEqual(a, b *Tensor) *Tensor { return binary(opGreaterEqual, "GreaterEqual", a, b) }

// Less returns 1 where a < b and 0 elsewhere, with NumPy broadcasting.
func Less(a, b *Tensor) *Tensor { return binary(opLess, "Less", a, b) }

// LessEqual returns 1 where a <= b and 0 elsewhere, with NumPy broadcasting.
func LessEqual(a, b *Tensor) *Tensor { return binary(opLessEqual, "LessEqual", a, b) }

// AddTo stores a + b into dst, which must have the broadcast shape of a and
// b. dst may be a or b when that operand already has dst's shape.
func AddTo(dst, a, b *Tensor) { binaryTo(opAdd, "AddTo", dst, a, b) }

// SubTo stores a - b into dst; see AddTo.
func SubTo(dst, a, b *Tensor) { binaryTo(opSub, "SubTo", dst, a, b) }

// MulTo stores a · b into dst; see AddTo.
func MulTo(dst, a, b *Tensor) { binaryTo(opMul, "MulTo", dst, a, b) }

// DivTo stores a / b into dst; see AddTo.
func DivTo(dst, a, b *Tensor) { binaryTo(opDiv, "DivTo", dst, a, b) }

// MaximumTo stores Maximum(a, b) into dst; see AddTo.
func MaximumTo(dst, a, b *Tensor) { binaryTo(opMax, "MaximumTo", dst, a, b) }

// MinimumTo stores Minimum(a, b) into dst; see AddTo.
func MinimumTo(dst, a, b *Tensor) { binaryTo(opMin, "MinimumTo", dst, a, b) }

// binary allocates the broadcast result of a op b.
func binary(op binOp, name string, a, b *Tensor) *Tensor {
	shape, ok := BroadcastShape(a.shape, b.shape)
	if !ok {
		panic(fmt.Sprintf("tensor.%s: shapes %v and %v are not broadcastable", name, a.shape, b.shape))
	}
	out := Zeros(shape...)
	binaryInto(op, out.data, out.shape, a.data, a.shape, b.data, b.shape)
	return out
}

// binaryTo checks dst's shape and computes dst = a op b.
func binaryTo(op binOp, name string, dst, a, b *Tensor) {
	if !broadcastsTo(a.shape, b.shape, dst.shape) {
		if _, ok := BroadcastShape(a.shape, b.shape); !ok {
			panic(fmt.Sprintf("tensor.%s: shapes %v and %v are not broadcastable", name, a.shape, b.shape))
		}
		panic(fmt.Sprintf("tensor.%s: shapes %v and %v do not broadcast to dst shape %v", name, a.shape, b.shape, dst.shape))
	}
	binaryInto(op, dst.data, dst.shape, a.data, a.shape, b.data, b.shape)
}

// b2f converts a comparison result to 1 or 0.
func b2f(c bool) float32 {
	if c {
		return 1
	}
	return 0
}

// binSS applies op to two scalars.
func binSS(op binOp, a, b float32) float32 {
	switch op {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		return a / b
	case opMax:
		return max(a, b)
	case opMin:
		return min(a, b)
	case opRight:
		return b
	case opGreater:
		return b2f(a > b)
	case opGreaterEqual:
		return b2f(a >= b)
	case opLess:
		return b2f(a < b)
	case opLessEqual:
		return b2f(a <= b)
	}
	panic("tensor: unknown binary op")
}

// binVV computes dst[i] = a[i] op b[i]; a and b have at least len(dst)
// elements.
func binVV(op binOp, dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	switch op {
	case opAdd:
		kernel.Add(dst, a, b)
	case opMul:
		kernel.Mul(dst, a, b)
	case opSub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case opDiv:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	case opMax:
		for i := range dst {
			dst[i] = max(a[i], b[i])
		}
	case opMin:
		for i := range dst {
			dst[i] = min(a[i], b[i])
		}
	case opRight:
		copy(dst, b)
	default:
		for i := range dst {
			dst[i] = binSS(op, a[i], b[i])
		}
	}
}

// binVS computes dst[i] = a[i] op s.
func binVS(op binOp, dst, a []float32, s float32) {
	a = a[:len(dst)]
	switch op {
	case opAdd:
		for i, v := range a {
			dst[i] = v + s
		}
	case opSub:
		for i, v := range a {
			dst[i] = v - s
		}
	case opMul:
		for i, v := range a {
			dst[i] = v * s
		}
	case opDiv:
		for i, v := range a {
			dst[i] = v / s
		}
	case opMax:
		for i, v := range a {
			dst[i] = max(v, s)
		}
	case opMin:
		for i, v := range a {
			dst[i] = min(v, s)
		}
	case opRight:
		fill(dst, s)
	default:
		for i, v := range a {
			dst[i] = binSS(op, v, s)
		}
	}
}

// binSV computes dst[i] = s op b[i].
func binSV(op binOp, dst []float32, s float32, b []float32) {
	b = b[:len(dst)]
	switch op {
	case opAdd:
		for i, v := range b {
			dst[i] = s + v
		}
	case opSub:
		for i, v := range b {
			dst[i] = s - v
		}
	case opMul:
		for i, v := range b {
			dst[i] = s * v
		}
	case opDiv:
		for i, v := range b {
			dst[i] = s / v
		}
	case opMax:
		for i, v := range b {
			dst[i] = max(s, v)
		}
	case opMin:
		for i, v := range b {
			dst[i] = min(s, v)
		}
	case opRight:
		copy(dst, b)
	default:
		for i, v := range b {
			dst[i] = binSS(op, s, v)
		}
	}
}
