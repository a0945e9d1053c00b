package quant

import (
	"fmt"
	"math"
	"sync"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// linear is the int8 matrix product shared by the quantised layers: the
// quantised weight [out, in] (as float32 integers in an Int8 Param, so
// that it saves as I8), its per-row scales, and the copy packed once for
// the kernel (kernel.PackI8) with its row sums.
type linear struct {
	weight, scale, bias *nn.Param
	out, in             int
	kp                  int // bytes per activation row the kernel reads
	packed              *kernel.PackedI8
	wsum                []int32
}

// newLinear quantises the float weight w [out, in] (any trailing shape
// flattened into in).
func newLinear(w, b *nn.Param) *linear {
	var bias *tensor.Tensor
	if b != nil {
		bias = b.Value().Clone()
	}
	return quantLinear(w.Value(), bias)
}

// quantLinear quantises the float weight w [out, ...] and wraps it with a
// copy of bias (nil for none).
func quantLinear(w, bias *tensor.Tensor) *linear {
	out := w.Dim(0)
	in := w.Size() / out
	q, scale := quantizeRows(w.Data(), out, in)
	qf := make([]float32, len(q))
	for i, v := range q {
		qf[i] = float32(v)
	}
	return makeLinear(tensor.New(qf, w.Shape()...), tensor.New(scale, out), bias)
}

// makeLinear wraps the quantised weight q [out, ...] (integers in float32),
// its scales [out] and the bias (nil for none) and packs them.
func makeLinear(q, scale, bias *tensor.Tensor) *linear {
	out := q.Dim(0)
	in := q.Size() / out
	l := &linear{out: out, in: in}
	l.weight = nn.NewBuffer("weight", q)
	l.weight.Dtype = nn.Int8
	l.scale = nn.NewBuffer("weight_scale", scale)
	if bias != nil {
		l.bias = nn.NewBuffer("bias", bias)
	}
	l.pack()
	return l
}

// pack rebuilds the packed int8 copy from the weight Param. Values outside
// int8 (only possible if the Param was overwritten by hand) are clamped.
func (l *linear) pack() {
	src := l.weight.Value().Data()
	q := make([]int8, l.out*l.in)
	for i, v := range src[:len(q)] {
		q[i] = int8(max(-128, min(127, math.Round(float64(v)))))
	}
	l.packed = kernel.PackI8(l.out, l.in, q, l.in)
	l.kp = l.packed.RowLen()
	l.wsum = rowSums(q, l.out, l.in)
}

func (l *linear) buffers() []*nn.Param {
	if l.bias == nil {
		return []*nn.Param{l.weight, l.scale}
	}
	return []*nn.Param{l.weight, l.scale, l.bias}
}

// scratch holds one call's quantised activations and int32 sums.
type scratch struct {
	aq []uint8
	sa []float32
	zp []int32
	c  []int32
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// forward computes y[i·out+j] = sa_i·sw_j·(C_ij − zp_i·Σ_p q_jp) + b_j for
// the rows×in float matrix x, with C the exact int32 product of the
// quantised rows and weights.
func (l *linear) forward(x []float32, rows int, y []float32) { l.forwardAct(x, rows, y, false) }

// forwardAct is forward, followed by a ReLU when relu is set (NaN stays
// NaN, as with autograd.ReLU).
func (l *linear) forwardAct(x []float32, rows int, y []float32, relu bool) {
	s := scratches.Get().(*scratch)
	defer scratches.Put(s)
	s.aq = grow(s.aq, rows*l.kp)
	s.sa = grow(s.sa, rows)
	s.zp = grow(s.zp, rows)
	s.c = grow(s.c, rows*l.out)
	quantizeActivations(x, rows, l.in, s.aq, l.kp, s.sa, s.zp)
	kernel.GemmU8I8Packed(rows, s.aq, l.kp, l.packed, s.c, l.out)
	sw := l.scale.Value().Data()
	var b []float32
	if l.bias != nil {
		b = l.bias.Value().Data()
	}
	kernel.DequantI32Rows(y, l.out, s.c, l.out, rows, l.out, s.zp, s.sa, l.wsum, sw, b, relu)
}

func rejectTaped(op string, x *autograd.Var) {
	if x.RequiresGrad() {
		panic(op + ": quantised layers run inference only, and this input requires a gradient; run the model through train.Predict or on autograd.NoGrad inputs, and train the float model")
	}
}

// Dense is the int8 counterpart of nn.Dense, y = act(x·Wᵀ + b), made by
// Quantize or NewDense. Its weight is int8 with one float32 scale per
// output (saved as I8 "weight" and F32 "weight_scale"); the input is
// quantised per row at run time to 7-bit integers, the product is
// computed exactly in int32, then scaled, and the bias and activation are
// applied in float32.
//
// It is inference only: Forward panics on an input that requires a
// gradient. Its tensors are buffers, not trainable Params, so Params
// returns nothing and optimizers see nothing to train.
type Dense struct {
	l          *linear
	Activation nn.Activation
}

// NewDense quantises the float layer d. d is not changed.
func NewDense(d *nn.Dense) *Dense {
	if d.Weight == nil {
		panic("quant.NewDense: the nn.Dense is not built (use nn.NewDense)")
	}
	return &Dense{l: newLinear(d.Weight, d.Bias), Activation: d.Activation}
}

// Forward computes act(x·Wᵀ + b) for x [N, in] or [..., in].
func (d *Dense) Forward(x *autograd.Var) *autograd.Var {
	rejectTaped("quant.Dense.Forward", x)
	xs := x.Shape()
	if len(xs) == 0 || xs[len(xs)-1] != d.l.in {
		panic(fmt.Sprintf("quant.Dense.Forward: input %v does not end in %d features (weight %v)", xs, d.l.in, d.l.weight.Shape()))
	}
	if d.Activation == nn.ActReLU {
		return d.l.applyAct("quant.Dense", x, true) // ReLU fused into the scaling
	}
	return d.Activation.Apply(d.l.apply("quant.Dense", x))
}

// apply computes x·Wᵀ + b for x [..., in] as an op output named op.
func (l *linear) apply(op string, x *autograd.Var) *autograd.Var { return l.applyAct(op, x, false) }

// applyAct is apply, followed by a ReLU when relu is set.
func (l *linear) applyAct(op string, x *autograd.Var, relu bool) *autograd.Var {
	xs := x.Shape()
	rows := x.Value().Size() / l.in
	var buf [8]int
	shape := append(append(buf[:0], xs[:len(xs)-1]...), l.out)
	y := autograd.Output(x, shape...) // forwardAct writes every element
	l.forwardAct(x.Value().Data(), rows, y.Data(), relu)
	return autograd.Result(y, x)
}

// rows returns a linear over rows [lo, hi) of l's outputs, sharing l's
// quantised values and scales, packed on its own.
func (l *linear) rows(lo, hi int) *linear {
	w, s := l.weight.Value().Data(), l.scale.Value().Data()
	var bias *tensor.Tensor
	if l.bias != nil {
		bias = tensor.New(l.bias.Value().Data()[lo:hi], hi-lo)
	}
	return makeLinear(tensor.New(w[lo*l.in:hi*l.in], hi-lo, l.in), tensor.New(s[lo:hi], hi-lo), bias)
}

// Params returns nothing: a quantised layer is not trainable.
func (d *Dense) Params() []*nn.Param { return nil }

// Buffers returns the int8 weight, its scales and the bias when present.
func (d *Dense) Buffers() []*nn.Param { return d.l.buffers() }

// StateLoaded rebuilds the packed int8 weights after nn.Load.
func (d *Dense) StateLoaded() { d.l.pack() }

// String describes the layer, like "quant.Dense(784 → 128, int8, ReLU)".
func (d *Dense) String() string {
	s := fmt.Sprintf("quant.Dense(%d → %d, int8", d.l.in, d.l.out)
	if d.l.bias == nil {
		s += ", no bias"
	}
	if d.Activation != nn.ActNone {
		s += ", " + d.Activation.String()
	}
	return s + ")"
}

// Conv2D is the int8 counterpart of an ungrouped nn.Conv2D: each output
// position's receptive field (inC·kh·kw values) is one row quantised at
// run time, multiplied by the int8 filters exactly in int32 and scaled;
// bias and activation are applied in float32. Like Dense it is inference
// only and has buffers, no Params.
type Conv2D struct {
	l          *linear
	kh, kw     int
	Opts       autograd.Conv2DOptions
	Activation nn.Activation
}

// NewConv2D quantises the float layer c, which must not be grouped. c is
// not changed.
func NewConv2D(c *nn.Conv2D) *Conv2D {
	if c.Weight == nil {
		panic("quant.NewConv2D: the nn.Conv2D is not built (use nn.NewConv2D)")
	}
	if c.Opts.Groups > 1 {
		panic(fmt.Sprintf("quant.NewConv2D: grouped convolutions (groups %d) are not supported", c.Opts.Groups))
	}
	ws := c.Weight.Shape()
	return &Conv2D{l: newLinear(c.Weight, c.Bias), kh: ws[2], kw: ws[3], Opts: c.Opts, Activation: c.Activation}
}

// pair returns v with each 0 (the default) replaced by def.
func pair(v [2]int, def int) [2]int {
	for i := range v {
		if v[i] == 0 {
			v[i] = def
		}
	}
	return v
}

// Forward convolves x [N, inC, H, W] into [N, outC, oh, ow].
func (c *Conv2D) Forward(x *autograd.Var) *autograd.Var {
	rejectTaped("quant.Conv2D.Forward", x)
	xs := x.Shape()
	inC := c.l.in / (c.kh * c.kw)
	st, pd, dl := pair(c.Opts.Stride, 1), c.Opts.Padding, pair(c.Opts.Dilation, 1)
	if len(xs) != 4 || xs[1] != inC {
		panic(fmt.Sprintf("quant.Conv2D.Forward: input %v is not [N, %d, H, W] (weight %v)", xs, inC, c.l.weight.Shape()))
	}
	n, h, w := xs[0], xs[2], xs[3]
	oh := (h+2*pd[0]-dl[0]*(c.kh-1)-1)/st[0] + 1
	ow := (w+2*pd[1]-dl[1]*(c.kw-1)-1)/st[1] + 1
	if oh < 1 || ow < 1 {
		panic(fmt.Sprintf("quant.Conv2D.Forward: input %v is smaller than the %dx%d window (padding %v, dilation %v)", xs, c.kh, c.kw, pd, dl))
	}
	src := x.Value().Data()
	rows := n * oh * ow
	// im2col: one row of inC·kh·kw values per output position, in the
	// weight's (channel, ky, kx) order; padding reads as zero.
	cs := convScratches.Get().(*convScratch)
	defer convScratches.Put(cs)
	cs.cols = grow(cs.cols, rows*c.l.in)
	cols := cs.cols
	r := 0
	for b := range n {
		for y := range oh {
			for xo := range ow {
				row := cols[r*c.l.in : (r+1)*c.l.in]
				i := 0
				for ch := range inC {
					plane := src[(b*inC+ch)*h*w : (b*inC+ch+1)*h*w]
					for ky := range c.kh {
						iy := y*st[0] - pd[0] + ky*dl[0]
						for kx := range c.kw {
							ix := xo*st[1] - pd[1] + kx*dl[1]
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								row[i] = plane[iy*w+ix]
							} else {
								row[i] = 0 // the pooled buffer is stale
							}
							i++
						}
					}
				}
				r++
			}
		}
	}
	cs.tmp = grow(cs.tmp, rows*c.l.out)
	tmp := cs.tmp
	relu := c.Activation == nn.ActReLU
	c.l.forwardAct(cols, rows, tmp, relu)         // ReLU fused into the scaling
	out := autograd.Output(x, n, c.l.out, oh, ow) // every element is written below
	od := out.Data()
	hw := oh * ow
	for b := range n {
		for p := range hw {
			src := tmp[(b*hw+p)*c.l.out : (b*hw+p+1)*c.l.out]
			for o, v := range src {
				od[(b*c.l.out+o)*hw+p] = v
			}
		}
	}
	y := autograd.Result(out, x)
	if relu {
		return y
	}
	return c.Activation.Apply(y)
}

// convScratch holds one Conv2D call's im2col rows and its outputs in
// row order.
type convScratch struct{ cols, tmp []float32 }

var convScratches = sync.Pool{New: func() any { return new(convScratch) }}

// Params returns nothing: a quantised layer is not trainable.
func (c *Conv2D) Params() []*nn.Param { return nil }

// Buffers returns the int8 weight, its scales and the bias when present.
func (c *Conv2D) Buffers() []*nn.Param { return c.l.buffers() }

// StateLoaded rebuilds the packed int8 weights after nn.Load.
func (c *Conv2D) StateLoaded() { c.l.pack() }

// String describes the layer, like "quant.Conv2D(1 → 32, 3x3, int8, ReLU)".
func (c *Conv2D) String() string {
	s := fmt.Sprintf("quant.Conv2D(%d → %d, %dx%d, int8", c.l.in/(c.kh*c.kw), c.l.out, c.kh, c.kw)
	if c.Activation != nn.ActNone {
		s += ", " + c.Activation.String()
	}
	return s + ")"
}

var (
	_ nn.BufferOwner = (*Dense)(nil)
	_ nn.StateLoader = (*Conv2D)(nil)
)
