package onnx

import (
	"fmt"
	"slices"

	"github.com/shoshin-ml/shoshin/autograd"
)

// window holds the spatial attributes shared by Conv and the pools, for
// one or two spatial axes, with symmetric padding.
type window struct {
	kernel, strides, pads, dilations []int64
}

// readWindow reads kernel_shape, strides, pads, dilations and auto_pad,
// accepting only what our kernels compute: NOTSET or VALID padding and
// the same padding at both ends of each axis.
func readWindow(a *attrReader, needKernel bool) window {
	w := window{kernel: a.ints("kernel_shape", nil)}
	w.strides = a.ints("strides", nil)
	w.pads = a.ints("pads", nil)
	w.dilations = a.ints("dilations", nil)
	switch p := a.string("auto_pad", "NOTSET"); p {
	case "NOTSET":
	case "VALID":
		w.pads = nil
	default:
		a.unsupported("auto_pad", p)
	}
	if needKernel && len(w.kernel) == 0 {
		a.fail("attribute \"kernel_shape\" is required")
	}
	if k := len(w.kernel); k != 0 && k != 1 && k != 2 {
		a.unsupported("kernel_shape", w.kernel)
	}
	if len(w.pads)%2 != 0 {
		a.fail("attribute \"pads\" has odd length %d", len(w.pads))
	}
	h := len(w.pads) / 2
	for i := 0; i < h; i++ {
		if w.pads[i] != w.pads[i+h] {
			a.unsupported("pads", w.pads)
			break
		}
	}
	for _, xs := range [][]int64{w.kernel, w.strides, w.pads, w.dilations} {
		for _, x := range xs {
			if x < 0 || x > 1<<20 {
				a.fail("window attribute value %d is out of range", x)
			}
		}
	}
	return w
}

// at returns attribute xs at axis i of k spatial axes, or def when absent.
func at(xs []int64, i, k int, def int) (int, error) {
	if len(xs) == 0 {
		return def, nil
	}
	if len(xs) != k && len(xs) != 2*k {
		return 0, fmt.Errorf("attribute %v does not fit %d spatial axes", xs, k)
	}
	return int(xs[i]), nil
}

func (w window) pair(xs []int64, def int) ([2]int, error) {
	var out [2]int
	for i := range 2 {
		v, err := at(xs, i, 2, def)
		if err != nil {
			return out, err
		}
		out[i] = v
	}
	return out, nil
}

func (w window) pool2D(xs []int) (autograd.Pool2DOptions, error) {
	var o autograd.Pool2DOptions
	if len(xs) != 4 || len(w.kernel) != 2 {
		return o, fmt.Errorf("pooling is supported on [N, C, H, W] with a 2-D kernel, got input %v, kernel %v", xs, w.kernel)
	}
	var err error
	if o.Kernel, err = w.pair(w.kernel, 1); err != nil {
		return o, err
	}
	if o.Stride, err = w.pair(w.strides, 1); err != nil {
		return o, err
	}
	if o.Padding, err = w.pair(w.pads, 0); err != nil {
		return o, err
	}
	if o.Dilation, err = w.pair(w.dilations, 1); err != nil {
		return o, err
	}
	return o, nil
}

// convOp is Conv, 1-D or 2-D.
type convOp struct {
	w     window
	group int
	cache autograd.ConvCache // the filters packed for inference (2-D)
}

func newConv(a *attrReader, n *nodeProto) (op, error) {
	w := readWindow(a, false)
	group := int(a.int("group", 1))
	if err := arity(n, 2, 3); err != nil {
		return nil, err
	}
	if group < 1 {
		return nil, fmt.Errorf("Conv: group %d < 1", group)
	}
	// The fused Conv → Relu → MaxPool keeps the direct form, so that it
	// computes what the separate nodes do, bit for bit.
	c := &convOp{w: w, group: group}
	c.cache.Direct = true
	return c, nil
}

// args returns Conv's input, weight and bias (or nil), checked against
// each other.
func (c *convOp) args(ins []value) (x, f, b *autograd.Var, err error) {
	if x, err = float(ins, 0); err != nil {
		return nil, nil, nil, err
	}
	if f, err = float(ins, 1); err != nil {
		return nil, nil, nil, err
	}
	if present(ins, 2) {
		b = floatOf(ins[2])
	}
	xs, fs := x.Shape(), f.Shape()
	if len(xs) != len(fs) || (len(xs) != 3 && len(xs) != 4) || xs[1] != fs[1]*c.group || fs[0]%c.group != 0 {
		return nil, nil, nil, fmt.Errorf("Conv: input %v and weight %v (group %d) do not fit 1-D or 2-D convolution", xs, fs, c.group)
	}
	if len(c.w.kernel) != 0 && len(c.w.kernel) != len(xs)-2 {
		return nil, nil, nil, fmt.Errorf("Conv: kernel_shape %v does not fit input %v", c.w.kernel, xs)
	}
	return x, f, b, nil
}

// opts2D returns the options of a 2-D convolution.
func (c *convOp) opts2D() (autograd.Conv2DOptions, error) {
	o := autograd.Conv2DOptions{Groups: c.group}
	var err error
	if o.Stride, err = c.w.pair(c.w.strides, 1); err != nil {
		return o, err
	}
	if o.Padding, err = c.w.pair(c.w.pads, 0); err != nil {
		return o, err
	}
	if o.Dilation, err = c.w.pair(c.w.dilations, 1); err != nil {
		return o, err
	}
	return o, nil
}

func (c *convOp) run(ins []value) ([]value, error) {
	x, f, b, err := c.args(ins)
	if err != nil {
		return nil, err
	}
	if len(x.Shape()) == 3 {
		var o autograd.Conv1DOptions
		o.Groups = c.group
		if o.Stride, err = at(c.w.strides, 0, 1, 1); err == nil {
			if o.Padding, err = at(c.w.pads, 0, 1, 0); err == nil {
				o.Dilation, err = at(c.w.dilations, 0, 1, 1)
			}
		}
		if err != nil {
			return nil, err
		}
		return one(autograd.Conv1D(x, f, b, o)), nil
	}
	o, err := c.opts2D()
	if err != nil {
		return nil, err
	}
	return one(c.cache.Conv2D(x, f, b, o)), nil
}

// maxPoolOp is MaxPool over two spatial axes.
type maxPoolOp struct{ w window }

func newMaxPool(a *attrReader, n *nodeProto) (op, error) {
	w := readWindow(a, true)
	if c := a.int("ceil_mode", 0); c != 0 {
		a.unsupported("ceil_mode", c)
	}
	if s := a.int("storage_order", 0); s != 0 {
		a.unsupported("storage_order", s)
	}
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	if len(n.outputs) > 1 && n.outputs[1] != "" {
		return nil, &unsupportedError{op: "MaxPool", attr: "output Indices"}
	}
	return &maxPoolOp{w: w}, nil
}

func (p *maxPoolOp) run(ins []value) ([]value, error) {
	x, err := float(ins, 0)
	if err != nil {
		return nil, err
	}
	o, err := p.w.pool2D(x.Shape())
	if err != nil {
		return nil, err
	}
	return one(autograd.MaxPool2D(x, o)), nil
}

func newAveragePool(a *attrReader, n *nodeProto) (op, error) {
	w := readWindow(a, true)
	if c := a.int("ceil_mode", 0); c != 0 {
		a.unsupported("ceil_mode", c)
	}
	if len(w.dilations) > 0 {
		for _, d := range w.dilations {
			if d != 1 {
				a.unsupported("dilations", w.dilations)
				break
			}
		}
	}
	// Our AvgPool2D divides by the whole window (count_include_pad=1);
	// with padding, ONNX's default (0) divides by the taps inside.
	inc := a.int("count_include_pad", 0)
	for _, p := range w.pads {
		if p != 0 && inc == 0 {
			a.unsupported("count_include_pad", inc)
			break
		}
	}
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		o, err := w.pool2D(x.Shape())
		if err != nil {
			return nil, err
		}
		o.Dilation = [2]int{}
		return one(autograd.AvgPool2D(x, o)), nil
	}), nil
}

func newGlobalAveragePool(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		s := x.Shape()
		if len(s) != 4 {
			return nil, fmt.Errorf("GlobalAveragePool is supported on [N, C, H, W], got %v", s)
		}
		return one(autograd.Reshape(autograd.GlobalAvgPool2D(x), s[0], s[1], 1, 1)), nil
	}), nil
}

// newBatchNorm builds BatchNormalization in inference mode; training_mode
// is an attribute since opset 14.
func newBatchNorm(hasTrainingMode bool) constructor {
	return func(a *attrReader, n *nodeProto) (op, error) {
		return batchNorm(a, n, hasTrainingMode)
	}
}

func batchNorm(a *attrReader, n *nodeProto, hasTrainingMode bool) (op, error) {
	eps := a.float("epsilon", 1e-5)
	a.float("momentum", 0.9) // only used in training mode
	if hasTrainingMode {
		if t := a.int("training_mode", 0); t != 0 {
			a.unsupported("training_mode", t)
		}
	}
	if err := arity(n, 5, 5); err != nil {
		return nil, err
	}
	if len(n.outputs) > 1 {
		return nil, &unsupportedError{op: "BatchNormalization", attr: "outputs running_mean, running_var"}
	}
	return opFunc(func(ins []value) ([]value, error) {
		var vs [5]*autograd.Var
		for i := range vs {
			v, err := float(ins, i)
			if err != nil {
				return nil, err
			}
			vs[i] = v
		}
		xs := vs[0].Shape()
		if len(xs) < 2 {
			return nil, fmt.Errorf("BatchNormalization: input %v has no channel axis", xs)
		}
		for i := 1; i < 5; i++ {
			if s := vs[i].Shape(); len(s) != 1 || s[0] != xs[1] {
				return nil, fmt.Errorf("BatchNormalization: input %d has shape %v, want [%d] for input %v", i, s, xs[1], xs)
			}
		}
		return one(autograd.BatchNormWithStats(vs[0], vs[1], vs[2], vs[3].Value(), vs[4].Value(), eps)), nil
	}), nil
}

func newLayerNorm(a *attrReader, n *nodeProto) (op, error) {
	axis := a.int("axis", -1)
	eps := a.float("epsilon", 1e-5)
	if s := a.int("stash_type", 1); s != 1 {
		a.unsupported("stash_type", s)
	}
	if err := arity(n, 2, 3); err != nil {
		return nil, err
	}
	if len(n.outputs) > 1 {
		return nil, &unsupportedError{op: "LayerNormalization", attr: "outputs Mean, InvStdDev"}
	}
	return opFunc(func(ins []value) ([]value, error) {
		x, err := float(ins, 0)
		if err != nil {
			return nil, err
		}
		scale, err := float(ins, 1)
		if err != nil {
			return nil, err
		}
		var bias *autograd.Var
		if present(ins, 2) {
			bias = floatOf(ins[2])
		}
		ax, err := normAxis(axis, len(x.Shape()))
		if err != nil {
			return nil, err
		}
		dims := len(x.Shape()) - ax
		want := x.Shape()[ax:]
		if !slices.Equal(scale.Shape(), want) || (bias != nil && !slices.Equal(bias.Shape(), want)) {
			return nil, fmt.Errorf("LayerNormalization: scale %v and bias must have shape %v", scale.Shape(), want)
		}
		return one(autograd.LayerNorm(x, scale, bias, dims, eps)), nil
	}), nil
}

// newDropout builds Dropout as the identity: an imported model runs in
// inference mode, where dropout does nothing. The optional mask output is
// all true.
func newDropout(a *attrReader, n *nodeProto) (op, error) {
	a.int("seed", 0)
	if err := arity(n, 1, 3); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		if !present(ins, 0) {
			return nil, fmt.Errorf("Dropout: input is missing")
		}
		out := []value{ins[0]}
		if len(n.outputs) > 1 {
			m, err := newInts(ins[0].shape())
			if err != nil {
				return nil, err
			}
			for i := range m.data {
				m.data[i] = 1
			}
			m.bool = true
			out = append(out, value{i: m})
		}
		return out, nil
	}), nil
}

func newIdentity(_ *attrReader, n *nodeProto) (op, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) { return []value{ins[0]}, nil }), nil
}
