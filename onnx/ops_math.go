package onnx

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// opFunc adapts a function to the op interface.
type opFunc func(ins []value) ([]value, error)

func (f opFunc) run(ins []value) ([]value, error) { return f(ins) }

// arity checks a node's number of inputs.
func arity(n *nodeProto, lo, hi int) error {
	if len(n.inputs) < lo || len(n.inputs) > hi {
		if lo == hi {
			return fmt.Errorf("%s takes %d inputs, has %d", n.opType, lo, len(n.inputs))
		}
		return fmt.Errorf("%s takes %d to %d inputs, has %d", n.opType, lo, hi, len(n.inputs))
	}
	return nil
}

// present reports whether optional input i was given.
func present(ins []value, i int) bool {
	return i < len(ins) && (ins[i].f != nil || ins[i].i != nil)
}

// float returns input i as float data.
func float(ins []value, i int) (*autograd.Var, error) {
	if !present(ins, i) {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	return floatOf(ins[i]), nil
}

func one(v *autograd.Var) []value { return []value{{f: v}} }

func oneInt(v *ints) []value { return []value{{i: v}} }

// arith builds Add, Sub, Mul and Div: broadcasting, on floats through
// autograd, on integers (shape arithmetic) exactly.
func arith(name string) constructor {
	return func(_ *attrReader, n *nodeProto) (op, error) {
		if err := arity(n, 2, 2); err != nil {
			return nil, err
		}
		return opFunc(func(ins []value) ([]value, error) {
			if !present(ins, 0) || !present(ins, 1) {
				return nil, fmt.Errorf("%s: an input is missing", name)
			}
			if ins[0].i != nil && ins[1].i != nil {
				r, err := broadcastInts(ins[0].i, ins[1].i, func(x, y int64) (int64, error) {
					switch name {
					case "Add":
						return x + y, nil
					case "Sub":
						return x - y, nil
					case "Mul":
						return x * y, nil
					}
					if y == 0 {
						return 0, fmt.Errorf("integer division by zero")
					}
					return x / y, nil
				})
				return oneInt(r), err
			}
			a, b := floatOf(ins[0]), floatOf(ins[1])
			if _, err := broadcastShapes(a.Shape(), b.Shape()); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			switch name {
			case "Add":
				return one(autograd.Add(a, b)), nil
			case "Sub":
				return one(autograd.Sub(a, b)), nil
			case "Mul":
				return one(autograd.Mul(a, b)), nil
			}
			return one(autograd.Div(a, b)), nil
		}), nil
	}
}

// unary builds the one-input element-wise ops.
func unary(name string) constructor {
	return func(_ *attrReader, n *nodeProto) (op, error) {
		if err := arity(n, 1, 1); err != nil {
			return nil, err
		}
		return opFunc(func(ins []value) ([]value, error) {
			if ins[0].i != nil && (name == "Neg" || name == "Abs") {
				out := &ints{shape: ins[0].i.shape, data: make([]int64, len(ins[0].i.data))}
				for i, x := range ins[0].i.data {
					if name == "Neg" || x < 0 {
						x = -x
					}
					out.data[i] = x
				}
				return oneInt(out), nil
			}
			x, err := float(ins, 0)
			if err != nil {
				return nil, err
			}
			switch name {
			case "Sqrt":
				return one(autograd.Sqrt(x)), nil
			case "Exp":
				return one(autograd.Exp(x)), nil
			case "Log":
				return one(autograd.Log(x)), nil
			case "Neg":
				return one(autograd.Neg(x)), nil
			case "Abs":
				return one(autograd.Abs(x)), nil
			case "Erf":
				return one(autograd.Apply(&erfFunc{}, x)), nil
			case "Relu":
				return one(autograd.ReLU(x)), nil
			case "Sigmoid":
				return one(autograd.Sigmoid(x)), nil
			}
			return one(autograd.Tanh(x)), nil
		}), nil
	}
}

// erfFunc is the error function as a differentiable op:
// d erf(x)/dx = 2/√π · exp(−x²).
type erfFunc struct{ x *tensor.Tensor }

// Forward returns erf of each element.
func (f *erfFunc) Forward(in ...*tensor.Tensor) *tensor.Tensor {
	f.x = in[0]
	src := in[0].Data()
	out := make([]float32, len(src))
	for i, v := range src {
		out[i] = float32(math.Erf(float64(v)))
	}
	return tensor.New(out, in[0].Shape()...)
}

// Backward returns gradOut · 2/√π · exp(−x²).
func (f *erfFunc) Backward(g *tensor.Tensor) []*tensor.Tensor {
	x, gd := f.x.Data(), g.Data()
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = gd[i] * float32(2/math.SqrtPi*math.Exp(-float64(v)*float64(v)))
	}
	return []*tensor.Tensor{tensor.New(out, f.x.Shape()...)}
}

func newLeakyRelu(a *attrReader, n *nodeProto) (op, error) {
	alpha := a.float("alpha", 0.01)
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		return one(autograd.LeakyReLU(x, alpha)), nil
	}), nil
}

func softmax(log bool) constructor {
	return func(a *attrReader, n *nodeProto) (op, error) {
		axis := a.int("axis", -1)
		if err := arity(n, 1, 1); err != nil {
			return nil, err
		}
		return opFunc(func(ins []value) ([]value, error) {
			x, err := float(ins, 0)
			if err != nil {
				return nil, err
			}
			ax, err := normAxis(axis, len(x.Shape()))
			if err != nil {
				return nil, err
			}
			if log {
				return one(autograd.LogSoftmax(x, ax)), nil
			}
			return one(autograd.Softmax(x, ax)), nil
		}), nil
	}
}

// matmul multiplies with NumPy's rules for 1-D operands.
func matmul(a, b *autograd.Var) (*autograd.Var, error) {
	as, bs := a.Shape(), b.Shape()
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("MatMul of shapes %v and %v: scalars are not allowed", as, bs)
	}
	va, vb := len(as) == 1, len(bs) == 1
	if va {
		a = autograd.Reshape(a, 1, as[0])
	}
	if vb {
		b = autograd.Reshape(b, bs[0], 1)
	}
	as, bs = a.Shape(), b.Shape()
	if as[len(as)-1] != bs[len(bs)-2] {
		return nil, fmt.Errorf("MatMul of shapes %v and %v: inner dimensions differ", as, bs)
	}
	y := autograd.MatMul(a, b)
	if va || vb {
		ys := y.Shape()
		shape := append([]int(nil), ys[:len(ys)-2]...)
		if !va {
			shape = append(shape, ys[len(ys)-2])
		}
		if !vb {
			shape = append(shape, ys[len(ys)-1])
		}
		y = autograd.Reshape(y, shape...)
	}
	return y, nil
}

// matMulOp is MatMul; b is packed once when it is a weight.
type matMulOp struct {
	packed nn.PackCache // b packed, when it is a weight
}

func newMatMul(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	return &matMulOp{}, nil
}

func (m *matMulOp) run(ins []value) ([]value, error) {
	a, err := float(ins, 0)
	if err != nil {
		return nil, err
	}
	b, err := float(ins, 1)
	if err != nil {
		return nil, err
	}
	if m.packs(a, b) {
		return one(autograd.LinearPacked(a, m.packed.Get(b, false), nil, tensor.ActNone)), nil
	}
	y, err := matmul(a, b)
	if err != nil {
		return nil, err
	}
	return one(y), nil
}

// packs reports whether a·b runs with b packed (LinearPacked).
func (m *matMulOp) packs(a, b *autograd.Var) bool {
	as, bs := a.Shape(), b.Shape()
	return packable(a, b) && len(as) >= 2 && len(bs) == 2 && as[len(as)-1] == bs[0]
}

// packable reports whether x·w can use w packed for inference: x is in
// inference mode and w is a weight (a float initializer, which the model
// holds as a trainable Param whose version moves when it is written) that
// may be cached (Load marks every initializer so). Other right operands
// would be packed again on every run.
func packable(x, w *autograd.Var) bool {
	return x.Inference() && w.RequiresGrad() && !w.Inference() && w.Cacheable()
}

// gemmAttrs are Gemm's attributes.
type gemmAttrs struct {
	alpha, beta    float32
	transA, transB bool
}

// gemmOp is Gemm; its right operand is packed once when it is a weight.
type gemmOp struct {
	g      gemmAttrs
	packed nn.PackCache // op(w) packed, when w is a weight
}

func newGemm(a *attrReader, n *nodeProto) (op, error) {
	g := gemmAttrs{alpha: a.float("alpha", 1), beta: a.float("beta", 1), transA: a.int("transA", 0) != 0, transB: a.int("transB", 0) != 0}
	if err := arity(n, 2, 3); err != nil {
		return nil, err
	}
	return &gemmOp{g: g}, nil
}

func (o *gemmOp) run(ins []value) ([]value, error) {
	y, _, err := o.apply(ins, tensor.ActNone)
	if err != nil {
		return nil, err
	}
	return one(y), nil
}

// apply computes Gemm. On the packed path the activation act runs in the
// GEMM's epilogue and fused is true; otherwise act is not applied.
func (o *gemmOp) apply(ins []value, act tensor.Act) (y *autograd.Var, fused bool, err error) {
	g := o.g
	x, err := float(ins, 0)
	if err != nil {
		return nil, false, err
	}
	w, err := float(ins, 1)
	if err != nil {
		return nil, false, err
	}
	if len(x.Shape()) != 2 || len(w.Shape()) != 2 {
		return nil, false, fmt.Errorf("Gemm needs matrices, got %v and %v", x.Shape(), w.Shape())
	}
	k := x.Shape()[1]
	if g.transA {
		k = x.Shape()[0]
	}
	kw, nOut := w.Shape()[0], w.Shape()[1]
	if g.transB {
		kw, nOut = nOut, kw
	}
	if k != kw {
		return nil, false, fmt.Errorf("Gemm of %v (transA=%v) and %v (transB=%v): inner dimensions differ", x.Shape(), g.transA, w.Shape(), g.transB)
	}
	var c *autograd.Var
	if present(ins, 2) {
		c = floatOf(ins[2])
	}
	if !g.transA && g.alpha == 1 && (c == nil || (g.beta == 1 && len(c.Shape()) == 1 && c.Shape()[0] == nOut)) {
		if packable(x, w) {
			return autograd.LinearPacked(x, o.packed.Get(w, g.transB), c, act), true, nil
		}
		if g.transB {
			return autograd.Linear(x, w, c), false, nil
		}
	}
	y = autograd.MatMulTrans(x, w, g.transA, g.transB)
	if g.alpha != 1 {
		y = autograd.MulScalar(y, g.alpha)
	}
	if c != nil && g.beta != 0 {
		if _, err := broadcastShapes(y.Shape(), c.Shape()); err != nil {
			return nil, false, fmt.Errorf("Gemm bias: %w", err)
		}
		if g.beta != 1 {
			c = autograd.MulScalar(c, g.beta)
		}
		y = autograd.Add(y, c)
	}
	return y, false, nil
}

// newPow builds Pow with a single-element exponent, which is a constant:
// no gradient flows into it, even from an initializer.
func newPow(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		if !present(ins, 1) {
			return nil, fmt.Errorf("Pow: exponent is missing")
		}
		e := floatOf(ins[1])
		if e.Value().Size() != 1 {
			return nil, fmt.Errorf("Pow: only a single-element exponent is supported, got shape %v", e.Shape())
		}
		return one(autograd.Pow(x, e.Value().Data()[0])), nil
	}), nil
}

func newReduceMean(a *attrReader, n *nodeProto) (op, error) {
	axes := a.ints("axes", nil)
	keep := a.int("keepdims", 1) != 0
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		var ax []int
		for _, v := range axes {
			k, err := normAxis(v, len(x.Shape()))
			if err != nil {
				return nil, err
			}
			ax = append(ax, k)
		}
		if len(ax) == 0 {
			for k := range x.Shape() {
				ax = append(ax, k)
			}
		}
		return one(autograd.Mean(x, keep, ax...)), nil
	}), nil
}

func newEqual(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) || !present(ins, 1) {
			return nil, fmt.Errorf("Equal: an input is missing")
		}
		var r *ints
		var err error
		if ins[0].i != nil && ins[1].i != nil {
			r, err = broadcastInts(ins[0].i, ins[1].i, func(x, y int64) (int64, error) { return b2i(x == y), nil })
		} else {
			a, b := floatOf(ins[0]).Value(), floatOf(ins[1]).Value()
			r, err = broadcastInts(&ints{shape: a.Shape(), data: asInt64Bits(a.Data())}, &ints{shape: b.Shape(), data: asInt64Bits(b.Data())},
				func(x, y int64) (int64, error) {
					return b2i(math.Float32frombits(uint32(x)) == math.Float32frombits(uint32(y))), nil
				})
		}
		if r != nil {
			r.bool = true
		}
		return oneInt(r), err
	}), nil
}

func asInt64Bits(x []float32) []int64 {
	out := make([]int64, len(x))
	for i, v := range x {
		out[i] = int64(math.Float32bits(v))
	}
	return out
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func newWhere(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 3, 3); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		for i := range 3 {
			if !present(ins, i) {
				return nil, fmt.Errorf("Where: input %d is missing", i)
			}
		}
		cond := intsOf(ins[0])
		if ins[1].i != nil && ins[2].i != nil {
			// cond ? x : y on integers, as cond·x + (1−cond)·y.
			sel, err := broadcastInts(cond, ins[1].i, func(c, x int64) (int64, error) { return b2i(c != 0) * x, nil })
			if err != nil {
				return nil, err
			}
			inv, err := broadcastInts(cond, ins[2].i, func(c, y int64) (int64, error) { return b2i(c == 0) * y, nil })
			if err != nil {
				return nil, err
			}
			r, err := broadcastInts(sel, inv, func(x, y int64) (int64, error) { return x + y, nil })
			return oneInt(r), err
		}
		x, y := floatOf(ins[1]), floatOf(ins[2])
		s, err := broadcastShapes(cond.shape, x.Shape())
		if err == nil {
			_, err = broadcastShapes(s, y.Shape())
		}
		if err != nil {
			return nil, fmt.Errorf("Where: %w", err)
		}
		c := make([]float32, len(cond.data))
		for i, v := range cond.data {
			c[i] = float32(b2i(v != 0))
		}
		return one(autograd.Where(tensor.New(c, cond.shape...), x, y)), nil
	}), nil
}

// newClip builds Clip, whose bounds are optional inputs (opset 11+).
func newClip(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 1, 3); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		for i, b := range []*float32{&lo, &hi} {
			if present(ins, i+1) {
				t := floatOf(ins[i+1]).Value()
				if t.Size() != 1 {
					return nil, fmt.Errorf("Clip: bound %d has shape %v, want one element", i+1, t.Shape())
				}
				*b = t.Data()[0]
			}
		}
		return one(autograd.Clamp(x, lo, hi)), nil
	}), nil
}

// newHardSigmoid builds HardSigmoid: max(0, min(1, alpha·x + beta)).
func newHardSigmoid(a *attrReader, n *nodeProto) (op, error) {
	alpha, beta := a.float("alpha", 0.2), a.float("beta", 0.5)
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		return one(hardSigmoid(x, alpha, beta)), nil
	}), nil
}

func hardSigmoid(x *autograd.Var, alpha, beta float32) *autograd.Var {
	return autograd.Clamp(autograd.AddScalar(autograd.MulScalar(x, alpha), beta), 0, 1)
}

// newHardSwish builds HardSwish: x · HardSigmoid(x) with alpha 1/6 and
// beta 1/2 (PyTorch's Hardswish).
func newHardSwish(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		return one(autograd.Mul(x, hardSigmoid(x, 1.0/6, 0.5))), nil
	}), nil
}
