package onnx

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func newConstant(a *attrReader, n *nodeProto) (op, error) {
	var v value
	var err error
	set := 0
	if t := a.tensor("value"); t != nil {
		v, err = tensorValue(t, nil, false)
		set++
	}
	if a.has("value_float") {
		v = value{f: autograd.Constant(tensor.New([]float32{a.float("value_float", 0)}))}
		set++
	}
	if fs := a.floats("value_floats"); a.has("value_floats") {
		v = value{f: autograd.Constant(tensor.New(append([]float32{}, fs...), len(fs)))}
		set++
	}
	if a.has("value_int") {
		v = value{i: &ints{shape: []int{}, data: []int64{a.int("value_int", 0)}}}
		set++
	}
	if is := a.ints("value_ints", nil); a.has("value_ints") {
		v = value{i: &ints{shape: []int{len(is)}, data: append([]int64{}, is...)}}
		set++
	}
	if err != nil {
		return nil, fmt.Errorf("Constant: attribute \"value\": %w", err)
	}
	if set != 1 && a.err == nil {
		if a.finish() != nil {
			return nil, a.finish()
		}
		return nil, fmt.Errorf("Constant: needs exactly one value attribute, has %d", set)
	}
	if err := arity(n, 0, 0); err != nil {
		return nil, err
	}
	return opFunc(func([]value) ([]value, error) { return []value{v}, nil }), nil
}

func newConstantOfShape(a *attrReader, n *nodeProto) (op, error) {
	fill := value{f: autograd.Constant(tensor.New([]float32{0}, 1))}
	if t := a.tensor("value"); t != nil {
		v, err := tensorValue(t, nil, false)
		if err != nil {
			return nil, fmt.Errorf("ConstantOfShape: attribute \"value\": %w", err)
		}
		if len(v.shape()) != 1 || v.shape()[0] != 1 {
			return nil, fmt.Errorf("ConstantOfShape: attribute \"value\" has shape %v, want [1]", v.shape())
		}
		fill = v
	}
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		dims, err := intList(ins[0], "ConstantOfShape input")
		if err != nil {
			return nil, err
		}
		shape := make([]int, len(dims))
		for i, d := range dims {
			if d < 0 || d > maxIntElements {
				return nil, fmt.Errorf("ConstantOfShape: shape %v is out of range", dims)
			}
			shape[i] = int(d)
		}
		if size(dims, maxIntElements) < 0 {
			return nil, fmt.Errorf("ConstantOfShape: shape %v holds more than %d elements", dims, maxIntElements)
		}
		if fill.i != nil {
			out, _ := newInts(shape)
			for i := range out.data {
				out.data[i] = fill.i.data[0]
			}
			out.bool = fill.i.bool
			return oneInt(out), nil
		}
		t := tensor.Zeros(shape...)
		if c := fill.f.Value().Data()[0]; c != 0 {
			tensor.Fill(t, c)
		}
		return one(autograd.Constant(t)), nil
	}), nil
}

func newShape(sliced bool) constructor {
	return func(a *attrReader, n *nodeProto) (op, error) {
		var start, end int64 = 0, 1 << 62
		if sliced {
			start, end = a.int("start", 0), a.int("end", 1<<62)
		}
		if err := arity(n, 1, 1); err != nil {
			return nil, err
		}
		return opFunc(func(ins []value) ([]value, error) {
			if !present(ins, 0) {
				return nil, fmt.Errorf("Shape: input is missing")
			}
			s := ins[0].shape()
			r := int64(len(s))
			lo, hi := clampIndex(start, r), clampIndex(end, r)
			out := &ints{shape: []int{0}, data: []int64{}}
			for i := lo; i < hi; i++ {
				out.data = append(out.data, int64(s[i]))
			}
			out.shape[0] = len(out.data)
			return oneInt(out), nil
		}), nil
	}
}

// clampIndex maps a possibly negative index onto [0, n].
func clampIndex(i, n int64) int64 {
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

func reshapeValue(v value, shape []int) value {
	if v.f != nil {
		return value{f: autograd.Reshape(v.f, shape...)}
	}
	return value{i: &ints{shape: shape, data: v.i.data, bool: v.i.bool}}
}

func newFlatten(a *attrReader, n *nodeProto) (op, error) {
	axis := a.int("axis", 1)
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Flatten: input is missing")
		}
		s := ins[0].shape()
		ax := int(axis)
		if ax < 0 {
			ax += len(s)
		}
		if ax < 0 || ax > len(s) {
			return nil, fmt.Errorf("Flatten: axis %d is out of range for shape %v", axis, s)
		}
		return []value{reshapeValue(ins[0], []int{prod(s[:ax]), prod(s[ax:])})}, nil
	}), nil
}

// newReshape builds Reshape; allowzero is an attribute since opset 14.
func newReshape(hasAllowZero bool) constructor {
	return func(a *attrReader, n *nodeProto) (op, error) {
		allowZero := hasAllowZero && a.int("allowzero", 0) != 0
		return reshape(n, allowZero)
	}
}

func reshape(n *nodeProto, allowZero bool) (op, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Reshape: data is missing")
		}
		spec, err := intList(ins[1], "Reshape shape")
		if err != nil {
			return nil, err
		}
		in := ins[0].shape()
		shape := make([]int, len(spec))
		infer, known := -1, 1
		for i, d := range spec {
			switch {
			case d == -1 && infer < 0:
				infer = i
				continue
			case d == 0 && !allowZero:
				if i >= len(in) {
					return nil, fmt.Errorf("Reshape: shape %v copies axis %d of %v, which does not exist", spec, i, in)
				}
				shape[i] = in[i]
			case d < 0 || d > maxElements:
				return nil, fmt.Errorf("Reshape: shape %v is invalid", spec)
			default:
				shape[i] = int(d)
			}
			known *= max(shape[i], 1)
			if known > maxElements {
				return nil, fmt.Errorf("Reshape: shape %v is too large", spec)
			}
		}
		total := prod(in)
		if infer >= 0 {
			if known == 0 || total%known != 0 {
				return nil, fmt.Errorf("Reshape: cannot reshape %v to %v", in, spec)
			}
			shape[infer] = total / known
		}
		if prod(shape) != total {
			return nil, fmt.Errorf("Reshape: cannot reshape %v (%d elements) to %v", in, total, shape)
		}
		return []value{reshapeValue(ins[0], shape)}, nil
	}), nil
}

func newTranspose(a *attrReader, n *nodeProto) (op, error) {
	perm := a.ints("perm", nil)
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Transpose: input is missing")
		}
		r := len(ins[0].shape())
		p := make([]int, r)
		seen := make([]bool, r)
		for i := range p {
			p[i] = r - 1 - i
		}
		if perm != nil {
			if len(perm) != r {
				return nil, fmt.Errorf("Transpose: perm %v does not fit rank %d", perm, r)
			}
			for i, v := range perm {
				if v < 0 || v >= int64(r) || seen[v] {
					return nil, fmt.Errorf("Transpose: perm %v is not a permutation of rank %d", perm, r)
				}
				seen[v] = true
				p[i] = int(v)
			}
		}
		if ins[0].f != nil {
			return one(autograd.Permute(ins[0].f, p...)), nil
		}
		return oneInt(permuteInts(ins[0].i, p)), nil
	}), nil
}

func newGather(a *attrReader, n *nodeProto) (op, error) {
	axis := a.int("axis", 0)
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) || !present(ins, 1) {
			return nil, fmt.Errorf("Gather: an input is missing")
		}
		if ins[1].f != nil {
			return nil, fmt.Errorf("Gather: indices must be integers")
		}
		ds := ins[0].shape()
		ax, err := normAxis(axis, len(ds))
		if err != nil {
			return nil, fmt.Errorf("Gather: %w", err)
		}
		idx := ins[1].i
		rows := make([]int, len(idx.data))
		for i, v := range idx.data {
			if v < -int64(ds[ax]) || v >= int64(ds[ax]) {
				return nil, fmt.Errorf("Gather: index %d is out of range for axis %d of %v", v, ax, ds)
			}
			if v < 0 {
				v += int64(ds[ax])
			}
			rows[i] = int(v)
		}
		outShape := append(append(append([]int{}, ds[:ax]...), idx.shape...), ds[ax+1:]...)
		if ins[0].i != nil {
			src := ins[0].i
			outer, inner := prod(ds[:ax]), prod(ds[ax+1:])
			out := &ints{shape: outShape, data: make([]int64, 0, outer*len(rows)*inner), bool: src.bool}
			for o := 0; o < outer; o++ {
				for _, r := range rows {
					base := (o*ds[ax] + r) * inner
					out.data = append(out.data, src.data[base:base+inner]...)
				}
			}
			return oneInt(out), nil
		}
		x := ins[0].f
		if ax != 0 {
			p := []int{ax}
			for i := range ds {
				if i != ax {
					p = append(p, i)
				}
			}
			x = autograd.Permute(x, p...)
		}
		y := autograd.Index(x, rows) // [len(rows), other axes...]
		if ax != 0 {
			r := len(ds)
			p := make([]int, 0, r)
			for i := 1; i <= ax; i++ {
				p = append(p, i)
			}
			p = append(p, 0)
			for i := ax + 1; i < r; i++ {
				p = append(p, i)
			}
			y = autograd.Permute(y, p...)
		}
		return one(autograd.Reshape(y, outShape...)), nil
	}), nil
}

// axesInput reads the optional axes input of Squeeze and Unsqueeze.
func axesInput(ins []value, i, rank int, what string) ([]bool, bool, error) {
	if !present(ins, i) {
		return nil, false, nil
	}
	axes, err := intList(ins[i], what+" axes")
	if err != nil {
		return nil, false, err
	}
	mark := make([]bool, rank)
	for _, a := range axes {
		k, err := normAxis(a, rank)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", what, err)
		}
		if mark[k] {
			return nil, false, fmt.Errorf("%s: axis %d repeats", what, a)
		}
		mark[k] = true
	}
	return mark, true, nil
}

func newUnsqueeze(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Unsqueeze: data is missing")
		}
		s := ins[0].shape()
		axes, err := intList(ins[1], "Unsqueeze axes")
		if err != nil {
			return nil, err
		}
		mark, ok, err := axesInput(ins, 1, len(s)+len(axes), "Unsqueeze")
		if err != nil || !ok {
			return nil, fmt.Errorf("Unsqueeze: %v", err)
		}
		out := make([]int, 0, len(mark))
		j := 0
		for _, m := range mark {
			if m {
				out = append(out, 1)
			} else {
				out = append(out, s[j])
				j++
			}
		}
		return []value{reshapeValue(ins[0], out)}, nil
	}), nil
}

func newSqueeze(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 1, 2); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Squeeze: data is missing")
		}
		s := ins[0].shape()
		mark, ok, err := axesInput(ins, 1, len(s), "Squeeze")
		if err != nil {
			return nil, err
		}
		out := []int{}
		for i, d := range s {
			switch {
			case ok && mark[i] && d != 1:
				return nil, fmt.Errorf("Squeeze: axis %d of %v is not 1", i, s)
			case (ok && mark[i]) || (!ok && d == 1):
			default:
				out = append(out, d)
			}
		}
		return []value{reshapeValue(ins[0], out)}, nil
	}), nil
}

func newConcat(a *attrReader, n *nodeProto) (op, error) {
	axis := a.int("axis", 0)
	if !a.has("axis") {
		a.fail("attribute \"axis\" is required")
	}
	if err := arity(n, 1, 1<<16); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		allInt := true
		for i := range ins {
			if !present(ins, i) {
				return nil, fmt.Errorf("Concat: input %d is missing", i)
			}
			allInt = allInt && ins[i].i != nil
		}
		s0 := ins[0].shape()
		ax, err := normAxis(axis, len(s0))
		if err != nil {
			return nil, fmt.Errorf("Concat: %w", err)
		}
		total := 0
		for i, v := range ins {
			s := v.shape()
			if len(s) != len(s0) {
				return nil, fmt.Errorf("Concat: input %d has shape %v, input 0 %v", i, s, s0)
			}
			for k := range s {
				if k != ax && s[k] != s0[k] {
					return nil, fmt.Errorf("Concat: input %d has shape %v, input 0 %v (axis %d)", i, s, s0, ax)
				}
			}
			total += s[ax]
		}
		if !allInt {
			vs := make([]*autograd.Var, len(ins))
			for i, v := range ins {
				vs[i] = floatOf(v)
			}
			return one(autograd.Concat(ax, vs...)), nil
		}
		shape := append([]int{}, s0...)
		shape[ax] = total
		outer := prod(s0[:ax])
		out := &ints{shape: shape, data: make([]int64, 0, prod(shape))}
		for o := 0; o < outer; o++ {
			for _, v := range ins {
				chunk := prod(v.i.shape[ax:])
				out.data = append(out.data, v.i.data[o*chunk:(o+1)*chunk]...)
			}
		}
		return oneInt(out), nil
	}), nil
}

func newSlice(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 3, 5); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Slice: data is missing")
		}
		s := ins[0].shape()
		starts, err := intList(ins[1], "Slice starts")
		if err != nil {
			return nil, err
		}
		ends, err := intList(ins[2], "Slice ends")
		if err != nil {
			return nil, err
		}
		if len(ends) != len(starts) {
			return nil, fmt.Errorf("Slice: %d starts, %d ends", len(starts), len(ends))
		}
		axes := make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
		if present(ins, 3) {
			if axes, err = intList(ins[3], "Slice axes"); err != nil {
				return nil, err
			}
		}
		steps := make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
		if present(ins, 4) {
			if steps, err = intList(ins[4], "Slice steps"); err != nil {
				return nil, err
			}
		}
		if len(axes) != len(starts) || len(steps) != len(starts) {
			return nil, fmt.Errorf("Slice: starts, ends, axes and steps differ in length")
		}
		v := ins[0]
		for k, a := range axes {
			ax, err := normAxis(a, len(s))
			if err != nil {
				return nil, fmt.Errorf("Slice: %w", err)
			}
			d := int64(s[ax])
			if steps[k] != 1 {
				return nil, fmt.Errorf("Slice: step %d is not supported (only 1)", steps[k])
			}
			lo, hi := clampIndex(starts[k], d), clampIndex(ends[k], d)
			hi = max(hi, lo)
			if v.f != nil {
				v = value{f: autograd.Slice(v.f, ax, int(lo), int(hi))}
				continue
			}
			outer, inner := prod(v.i.shape[:ax]), prod(v.i.shape[ax+1:])
			shape := append([]int{}, v.i.shape...)
			shape[ax] = int(hi - lo)
			out := &ints{shape: shape, data: make([]int64, 0, outer*int(hi-lo)*inner), bool: v.i.bool}
			for o := 0; o < outer; o++ {
				base := o * int(d) * inner
				out.data = append(out.data, v.i.data[base+int(lo)*inner:base+int(hi)*inner]...)
			}
			v = value{i: out}
		}
		return []value{v}, nil
	}), nil
}

func newCast(a *attrReader, n *nodeProto) (op, error) {
	to := int32(a.int("to", 0))
	switch to {
	case dtFloat, dtDouble, dtInt64, dtInt32, dtBool, dtUint8, dtInt8:
	default:
		a.unsupported("to", dtypeName(to))
	}
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Cast: input is missing")
		}
		switch to {
		case dtFloat, dtDouble:
			if ins[0].f != nil {
				return []value{ins[0]}, nil
			}
			return one(floatOf(ins[0])), nil
		}
		src := intsOf(ins[0])
		out := &ints{shape: src.shape, data: make([]int64, len(src.data)), bool: to == dtBool}
		for i, x := range src.data {
			switch to {
			case dtBool:
				x = b2i(x != 0)
			case dtInt32:
				x = int64(int32(x))
			case dtUint8:
				x = int64(uint8(x))
			case dtInt8:
				x = int64(int8(x))
			}
			out.data[i] = x
		}
		if ins[0].f != nil && to == dtBool {
			for i, x := range ins[0].f.Value().Data() {
				out.data[i] = b2i(x != 0)
			}
		}
		return oneInt(out), nil
	}), nil
}

func newPad(a *attrReader, n *nodeProto) (op, error) {
	if m := a.string("mode", "constant"); m != "constant" {
		a.unsupported("mode", m)
	}
	if err := arity(n, 2, 3); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		pads, err := intList(ins[1], "Pad pads")
		if err != nil {
			return nil, err
		}
		r := len(x.Shape())
		if len(pads) != 2*r {
			return nil, fmt.Errorf("Pad: %d pads for rank %d", len(pads), r)
		}
		var c float32
		if present(ins, 2) {
			cv := floatOf(ins[2]).Value()
			if cv.Size() != 1 {
				return nil, fmt.Errorf("Pad: constant_value has shape %v", cv.Shape())
			}
			c = cv.Data()[0]
		}
		for ax := range r {
			before, after := pads[ax], pads[ax+r]
			if before < 0 || after < 0 || before > 1<<20 || after > 1<<20 {
				return nil, fmt.Errorf("Pad: pads %v are not supported (negative or too large)", pads)
			}
			if before == 0 && after == 0 {
				continue
			}
			parts := make([]*autograd.Var, 0, 3)
			block := func(k int64) *autograd.Var {
				s := append([]int{}, x.Shape()...)
				s[ax] = int(k)
				t := tensor.Zeros(s...)
				if c != 0 {
					tensor.Fill(t, c)
				}
				return autograd.Constant(t)
			}
			if before > 0 {
				parts = append(parts, block(before))
			}
			parts = append(parts, x)
			if after > 0 {
				parts = append(parts, block(after))
			}
			x = autograd.Concat(ax, parts...)
		}
		return one(x), nil
	}), nil
}

func newExpand(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Expand: input is missing")
		}
		dims, err := intList(ins[1], "Expand shape")
		if err != nil {
			return nil, err
		}
		target := make([]int, len(dims))
		for i, d := range dims {
			if d < 0 || d > maxIntElements {
				return nil, fmt.Errorf("Expand: shape %v is out of range", dims)
			}
			target[i] = int(d)
		}
		shape, err := broadcastShapes(ins[0].shape(), target)
		if err != nil {
			return nil, fmt.Errorf("Expand: %w", err)
		}
		dims64 := make([]int64, len(shape))
		for i, d := range shape {
			dims64[i] = int64(d)
		}
		if size(dims64, maxIntElements) < 0 {
			return nil, fmt.Errorf("Expand: shape %v holds more than %d elements", shape, maxIntElements)
		}
		if ins[0].i != nil {
			return oneInt(expandInts(ins[0].i, shape)), nil
		}
		// Adding zeros of the target shape broadcasts x; the gradient is
		// summed back to x's shape.
		return one(autograd.Add(ins[0].f, autograd.Constant(tensor.Zeros(shape...)))), nil
	}), nil
}

func newRange(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 3, 3); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		for i := range 3 {
			if !present(ins, i) {
				return nil, fmt.Errorf("Range: input %d is missing", i)
			}
		}
		if ins[0].i != nil && ins[1].i != nil && ins[2].i != nil {
			start, _ := scalarInt(ins[0], "start")
			limit, _ := scalarInt(ins[1], "limit")
			delta, err := scalarInt(ins[2], "delta")
			if err != nil || delta == 0 {
				return nil, fmt.Errorf("Range: delta must be one non-zero integer")
			}
			count := max(0, (limit-start+delta-sign(delta))/delta)
			if count > maxIntElements {
				return nil, fmt.Errorf("Range: %d elements is too many", count)
			}
			out := &ints{shape: []int{int(count)}, data: make([]int64, count)}
			for i := range out.data {
				out.data[i] = start + int64(i)*delta
			}
			return oneInt(out), nil
		}
		var f [3]float64
		for i := range f {
			t := floatOf(ins[i]).Value()
			if t.Size() != 1 {
				return nil, fmt.Errorf("Range: input %d has shape %v, want one element", i, t.Shape())
			}
			f[i] = float64(t.Data()[0])
		}
		if f[2] == 0 {
			return nil, fmt.Errorf("Range: delta is zero")
		}
		c := (f[1] - f[0]) / f[2]
		if c > maxIntElements {
			return nil, fmt.Errorf("Range: too many elements")
		}
		count := max(0, int(ceil(c)))
		data := make([]float32, count)
		for i := range data {
			data[i] = float32(f[0] + float64(i)*f[2])
		}
		return one(autograd.Constant(tensor.New(data, count))), nil
	}), nil
}

func sign(x int64) int64 {
	if x < 0 {
		return -1
	}
	return 1
}

func ceil(x float64) float64 {
	i := float64(int64(x))
	if i < x {
		return i + 1
	}
	return i
}

func newTrilu(a *attrReader, n *nodeProto) (op, error) {
	upper := a.int("upper", 1) != 0
	if err := arity(n, 1, 2); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		if len(x.Shape()) < 2 {
			return nil, fmt.Errorf("Trilu: input %v has rank < 2", x.Shape())
		}
		var k int64
		if present(ins, 1) {
			if k, err = scalarInt(ins[1], "Trilu k"); err != nil {
				return nil, err
			}
		}
		k = max(-1<<30, min(k, 1<<30))
		if upper {
			return one(autograd.Triu(x, int(k))), nil
		}
		return one(autograd.Tril(x, int(k))), nil
	}), nil
}

func newSplit(a *attrReader, n *nodeProto) (op, error) {
	axis := a.int("axis", 0)
	if err := arity(n, 1, 2); err != nil {
		return nil, err
	}
	outs := len(n.outputs)
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Split: input is missing")
		}
		s := ins[0].shape()
		ax, err := normAxis(axis, len(s))
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		sizes := make([]int, outs)
		if present(ins, 1) {
			sp, err := intList(ins[1], "Split split")
			if err != nil {
				return nil, err
			}
			if len(sp) != outs {
				return nil, fmt.Errorf("Split: %d sizes for %d outputs", len(sp), outs)
			}
			total := 0
			for i, v := range sp {
				if v < 0 || v > int64(s[ax]) {
					return nil, fmt.Errorf("Split: sizes %v do not fit axis %d of %v", sp, ax, s)
				}
				sizes[i] = int(v)
				total += int(v)
			}
			if total != s[ax] {
				return nil, fmt.Errorf("Split: sizes %v do not sum to axis %d of %v", sp, ax, s)
			}
		} else {
			if s[ax]%outs != 0 {
				return nil, fmt.Errorf("Split: axis %d of %v does not split into %d equal parts", ax, s, outs)
			}
			for i := range sizes {
				sizes[i] = s[ax] / outs
			}
		}
		res := make([]value, outs)
		if ins[0].f != nil {
			for i, v := range autograd.Split(ins[0].f, ax, sizes...) {
				res[i] = value{f: v}
			}
			return res, nil
		}
		start := 0
		for i, sz := range sizes {
			lo := value{i: &ints{shape: []int{1}, data: []int64{int64(start)}}}
			hi := value{i: &ints{shape: []int{1}, data: []int64{int64(start + sz)}}}
			ax := value{i: &ints{shape: []int{1}, data: []int64{int64(ax)}}}
			r, err := sliceOp.run([]value{ins[0], lo, hi, ax})
			if err != nil {
				return nil, err
			}
			res[i] = r[0]
			start += sz
		}
		return res, nil
	}), nil
}

// sliceOp is Slice, reused by Split on integer tensors.
var sliceOp, _ = newSlice(nil, &nodeProto{opType: "Slice", inputs: []string{"data", "starts", "ends", "axes"}})

// expandInts broadcasts a to shape (which a broadcasts to).
func expandInts(a *ints, shape []int) *ints {
	out := &ints{shape: shape, data: make([]int64, prod(shape)), bool: a.bool}
	st := bstrides(a.shape, shape)
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
