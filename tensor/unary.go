package tensor

import (
	"fmt"

	"github.com/chewxy/math32"
	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// unOp names an element-wise unary operation, possibly with up to two
// scalar parameters (p, q). The switch happens once per chunk.
type unOp uint8

const (
	opNeg unOp = iota
	opExp
	opLog
	opSqrt
	opAbs
	opTanh
	opSigmoid
	opReLU
	opSquare
	opSign
	opAddScalar // x + p
	opMulScalar // x · p
	opPow       // x^p
	opClamp     // min(max(x, p), q)
)

// heavy reports whether op calls a transcendental function per element and
// so is worth splitting across goroutines at smaller sizes.
func (op unOp) heavy() bool {
	switch op {
	case opExp, opLog, opTanh, opSigmoid, opPow:
		return true
	}
	return false
}

// Neg returns -a.
func Neg(a *Tensor) *Tensor { return unary(opNeg, a, 0, 0) }

// Exp returns e^a element-wise.
func Exp(a *Tensor) *Tensor { return unary(opExp, a, 0, 0) }

// Log returns the natural logarithm of a element-wise.
func Log(a *Tensor) *Tensor { return unary(opLog, a, 0, 0) }

// Sqrt returns the square root of a element-wise.
func Sqrt(a *Tensor) *Tensor { return unary(opSqrt, a, 0, 0) }

// Abs returns |a| element-wise.
func Abs(a *Tensor) *Tensor { return unary(opAbs, a, 0, 0) }

// Tanh returns the hyperbolic tangent of a element-wise.
func Tanh(a *Tensor) *Tensor { return unary(opTanh, a, 0, 0) }

// Sigmoid returns 1/(1+e^-a) element-wise, computed without overflow for
// large |a|.
func Sigmoid(a *Tensor) *Tensor { return unary(opSigmoid, a, 0, 0) }

// ReLU returns max(a, 0) element-wise; NaN stays NaN, as in torch.relu.
func ReLU(a *Tensor) *Tensor { return unary(opReLU, a, 0, 0) }

// Square returns a² element-wise.
func Square(a *Tensor) *Tensor { return unary(opSquare, a, 0, 0) }

// Sign returns -1, 0 or 1 according to the sign of each element (NaN
// stays NaN).
func Sign(a *Tensor) *Tensor { return unary(opSign, a, 0, 0) }

// AddScalar returns a + s element-wise.
func AddScalar(a *Tensor, s float32) *Tensor { return unary(opAddScalar, a, s, 0) }

// MulScalar returns a · s element-wise.
func MulScalar(a *Tensor, s float32) *Tensor { return unary(opMulScalar, a, s, 0) }

// Scale returns a · s element-wise; it is MulScalar under the name the
// in-place variant ScaleInPlace uses.
func Scale(a *Tensor, s float32) *Tensor { return unary(opMulScalar, a, s, 0) }

// Pow returns a^p element-wise. Exponents 0, 0.5, 1, 2 and -1 take exact
// fast paths.
func Pow(a *Tensor, p float32) *Tensor { return unary(opPow, a, p, 0) }

// Clamp returns a with every element limited to [lo, hi]; NaN elements stay
// NaN, as in torch.clamp. It panics if lo > hi.
func Clamp(a *Tensor, lo, hi float32) *Tensor {
	checkClamp("Clamp", lo, hi)
	return unary(opClamp, a, lo, hi)
}

// NegTo stores -a into dst, which must have a's shape.
func NegTo(dst, a *Tensor) { unaryTo("NegTo", opNeg, dst, a, 0, 0) }

// ExpTo stores Exp(a) into dst, which must have a's shape.
func ExpTo(dst, a *Tensor) { unaryTo("ExpTo", opExp, dst, a, 0, 0) }

// LogTo stores Log(a) into dst, which must have a's shape.
func LogTo(dst, a *Tensor) { unaryTo("LogTo", opLog, dst, a, 0, 0) }

// SqrtTo stores Sqrt(a) into dst, which must have a's shape.
func SqrtTo(dst, a *Tensor) { unaryTo("SqrtTo", opSqrt, dst, a, 0, 0) }

// AbsTo stores Abs(a) into dst, which must have a's shape.
func AbsTo(dst, a *Tensor) { unaryTo("AbsTo", opAbs, dst, a, 0, 0) }

// TanhTo stores Tanh(a) into dst, which must have a's shape.
func TanhTo(dst, a *Tensor) { unaryTo("TanhTo", opTanh, dst, a, 0, 0) }

// SigmoidTo stores Sigmoid(a) into dst, which must have a's shape.
func SigmoidTo(dst, a *Tensor) { unaryTo("SigmoidTo", opSigmoid, dst, a, 0, 0) }

// ReLUTo stores ReLU(a) into dst, which must have a's shape.
func ReLUTo(dst, a *Tensor) { unaryTo("ReLUTo", opReLU, dst, a, 0, 0) }

// SquareTo stores Square(a) into dst, which must have a's shape.
func SquareTo(dst, a *Tensor) { unaryTo("SquareTo", opSquare, dst, a, 0, 0) }

// SignTo stores Sign(a) into dst, which must have a's shape.
func SignTo(dst, a *Tensor) { unaryTo("SignTo", opSign, dst, a, 0, 0) }

// AddScalarTo stores a + s into dst, which must have a's shape.
func AddScalarTo(dst, a *Tensor, s float32) { unaryTo("AddScalarTo", opAddScalar, dst, a, s, 0) }

// MulScalarTo stores a · s into dst, which must have a's shape.
func MulScalarTo(dst, a *Tensor, s float32) { unaryTo("MulScalarTo", opMulScalar, dst, a, s, 0) }

// PowTo stores Pow(a, p) into dst, which must have a's shape.
func PowTo(dst, a *Tensor, p float32) { unaryTo("PowTo", opPow, dst, a, p, 0) }

// ClampTo stores Clamp(a, lo, hi) into dst, which must have a's shape.
func ClampTo(dst, a *Tensor, lo, hi float32) {
	checkClamp("ClampTo", lo, hi)
	unaryTo("ClampTo", opClamp, dst, a, lo, hi)
}

func checkClamp(name string, lo, hi float32) {
	if lo > hi {
		panic(fmt.Sprintf("tensor.%s: lo %g > hi %g", name, lo, hi))
	}
}

func unary(op unOp, a *Tensor, p, q float32) *Tensor {
	out := Zeros(a.shape...)
	mapInto(op, out.data, a.data, p, q)
	return out
}

func unaryTo(name string, op unOp, dst, a *Tensor, p, q float32) {
	if !SameShape(dst, a) {
		panic(fmt.Sprintf("tensor.%s: dst shape %v does not match input shape %v", name, dst.shape, a.shape))
	}
	mapInto(op, dst.data, a.data, p, q)
}

// mapInto computes dst = op(x) for len(dst) == len(x), splitting large
// inputs across goroutines. dst may be x.
func mapInto(op unOp, dst, x []float32, p, q float32) {
	grain := grainCheap
	if op.heavy() {
		grain = grainHeavy
	}
	if len(dst) <= grain {
		mapChunk(op, dst, x, p, q)
		return
	}
	parallel.For(len(dst), grain, func(lo, hi int) { mapChunk(op, dst[lo:hi], x[lo:hi], p, q) })
}

// mapChunk is the serial body of mapInto.
func mapChunk(op unOp, dst, x []float32, p, q float32) {
	x = x[:len(dst)]
	switch op {
	case opNeg:
		for i, v := range x {
			dst[i] = -v
		}
	case opExp:
		kernel.Exp(dst, x)
	case opLog:
		for i, v := range x {
			dst[i] = math32.Log(v)
		}
	case opSqrt:
		for i, v := range x {
			dst[i] = math32.Sqrt(v)
		}
	case opAbs:
		for i, v := range x {
			dst[i] = math32.Abs(v)
		}
	case opTanh:
		for i, v := range x {
			dst[i] = math32.Tanh(v)
		}
	case opSigmoid:
		sigmoidChunk(dst, x)
	case opReLU:
		kernel.Relu(dst, x)
	case opSquare:
		for i, v := range x {
			dst[i] = v * v
		}
	case opSign:
		for i, v := range x {
			switch {
			case v > 0:
				dst[i] = 1
			case v < 0:
				dst[i] = -1
			default:
				dst[i] = v // 0, -0 or NaN
			}
		}
	case opAddScalar:
		for i, v := range x {
			dst[i] = v + p
		}
	case opMulScalar:
		for i, v := range x {
			dst[i] = v * p
		}
	case opPow:
		powChunk(dst, x, p)
	case opClamp:
		for i, v := range x {
			dst[i] = min(max(v, p), q)
		}
	default:
		panic("tensor: unknown unary op")
	}
}

// powChunk computes dst = x^p with exact fast paths for common exponents.
func powChunk(dst, x []float32, p float32) {
	switch p {
	case 0:
		fill(dst, 1)
	case 1:
		copy(dst, x)
	case 2:
		for i, v := range x {
			dst[i] = v * v
		}
	case 3:
		for i, v := range x {
			dst[i] = v * v * v
		}
	case 0.5:
		for i, v := range x {
			dst[i] = math32.Sqrt(v)
		}
	case -1:
		for i, v := range x {
			dst[i] = 1 / v
		}
	default:
		for i, v := range x {
			dst[i] = math32.Pow(v, p)
		}
	}
}

// sigmoidChunk computes dst = sigmoid(x) = 1/(1+e^-x) without overflow:
// with e = exp(-|x|) it is 1/(1+e) for x >= 0 and e/(1+e) otherwise. When
// dst is a separate buffer the exponentials go through the vector kernel in
// one call; in place they are taken one at a time.
func sigmoidChunk(dst, x []float32) {
	if len(x) == 0 {
		return
	}
	if &dst[0] == &x[0] {
		for i, v := range x {
			e := math32.Exp(-math32.Abs(v))
			if v >= 0 {
				dst[i] = 1 / (1 + e)
			} else {
				dst[i] = e / (1 + e)
			}
		}
		return
	}
	for i, v := range x {
		dst[i] = -math32.Abs(v)
	}
	kernel.Exp(dst, dst)
	for i, v := range x {
		e := dst[i]
		if v >= 0 {
			dst[i] = 1 / (1 + e)
		} else {
			dst[i] = e / (1 + e)
		}
	}
}
