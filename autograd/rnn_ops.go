package autograd

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// leadingView returns the slab [lo, hi) along axis 0 of a, reshaped to
// shape, as a Var that shares a's data (no copy). Its backward places the
// gradient into a zero tensor shaped like a. The fused recurrent ops return
// their several results as views of one packed output this way, so that
// the tape, which records one output per op, sees a single node.
func leadingView(a *Var, lo, hi int, shape ...int) *Var {
	as := a.value.Shape()
	inner := 1
	for _, d := range as[1:] {
		inner *= d
	}
	if lo < 0 || hi > as[0] || lo > hi {
		panic(fmt.Sprintf("autograd.leadingView: rows [%d, %d) outside shape %v", lo, hi, as))
	}
	data := a.value.Data()[lo*inner : hi*inner]
	var t *tensor.Tensor
	if ar := arenaOf(a); ar != nil {
		t = ar.slab(data, shape)
	} else {
		t = tensor.New(data, shape...)
	}
	out := wrap(t, a)
	if s := out.recordFn("RecurrentView", leadingViewBackward, a); s != nil {
		s.i[0] = lo * inner
		if !s.setShape(as) {
			panic(fmt.Sprintf("autograd.leadingView: %d axes, more than a node keeps", len(as)))
		}
	}
	return out
}

// leadingViewBackward places the gradient of a view at its offset in a
// zero tensor shaped like the packed input.
func leadingViewBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	a := n.inputs[0]
	ga := zeroGradBuf(n.saved.shape[:n.saved.rank], a)
	copy(ga.Data()[n.saved.i[0]:], g.Data())
	grads := n.saved.out(1)
	grads[0] = ga
	return grads
}

// The gate activations below take their exponentials from one vector call
// over a whole step (kernel.Exp), then finish element by element without
// branches: with e = exp(−v), sigmoid(v) = 1/(1+e), and with e = exp(−2v),
// tanh(v) = 2/(1+e) − 1. An exponential that overflows to +Inf gives the
// correct limits 0 and −1.

// negScale writes dst[i] = −s·x[i].
func negScale(dst, x []float32, s float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = -s * v
	}
}

// sigmoidFromExp writes dst[i] = 1/(1+e[i]), the sigmoid of x when
// e = exp(−x).
func sigmoidFromExp(dst, e []float32) {
	e = e[:len(dst)]
	for i, v := range e {
		dst[i] = 1 / (1 + v)
	}
}

// tanhFromExp writes dst[i] = 2/(1+e[i]) − 1, the tanh of x when
// e = exp(−2x).
func tanhFromExp(dst, e []float32) {
	e = e[:len(dst)]
	for i, v := range e {
		dst[i] = 2/(1+v) - 1
	}
}

// tanhInPlace replaces x by tanh(x), using scratch (len ≥ len(x)).
func tanhInPlace(x, scratch []float32) {
	e := scratch[:len(x)]
	negScale(e, x, 2)
	kernel.Exp(e, e)
	tanhFromExp(x, e)
}

// sigmoidInPlace replaces x by sigmoid(x), using scratch (len ≥ len(x)).
func sigmoidInPlace(x, scratch []float32) {
	e := scratch[:len(x)]
	negScale(e, x, 1)
	kernel.Exp(e, e)
	sigmoidFromExp(x, e)
}

// colSumAcc adds the column sums of the rows×cols matrix m to dst.
func colSumAcc(dst, m []float32, rows, cols int) {
	dst = dst[:cols]
	for r := 0; r < rows; r++ {
		kernel.Axpy(1, m[r*cols:(r+1)*cols], dst)
	}
}

// bufPools recycle the large scratch buffers of the recurrent ops (saved
// gates and states, their gradients) by power-of-two capacity, so that a
// training loop does not fault in fresh memory for them on every step.
var bufPools [64]sync.Pool

// bufHolders recycles the *[]float32 that carry a buffer through its pool,
// so that giving a buffer back allocates nothing either.
var bufHolders sync.Pool

// getBuf returns a slice of n float32s with unspecified contents.
func getBuf(n int) []float32 {
	if n == 0 {
		return nil
	}
	k := bits.Len(uint(n - 1))
	if p, ok := bufPools[k].Get().(*[]float32); ok {
		b := (*p)[:n]
		*p = nil
		bufHolders.Put(p)
		return b
	}
	return make([]float32, n, 1<<k)
}

// putBuf returns a slice from getBuf to its pool; the caller must not use
// it afterwards. Slices of other capacities are left to the collector.
func putBuf(b []float32) {
	c := cap(b)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	p, _ := bufHolders.Get().(*[]float32)
	if p == nil {
		p = new([]float32)
	}
	*p = b[:c]
	bufPools[bits.Len(uint(c-1))].Put(p)
}

// SwapLeadingAxes returns x [A, B, ...] as [B, A, ...], the values of
// Permute(x, 1, 0, 2, ...): the change between batch-first and time-major
// sequences around a recurrent layer. Its output, and its gradient, come
// from x's arena when x has one, so a batch-first layer costs no fresh
// buffers in a training step.
func SwapLeadingAxes(x *Var) *Var {
	s := x.value.Shape()
	if len(s) < 2 {
		panic(fmt.Sprintf("autograd.SwapLeadingAxes: input %v has fewer than two axes", s))
	}
	a, b := s[0], s[1]
	inner := 1
	for _, d := range s[2:] {
		inner *= d
	}
	var buf [8]int
	shape := append(append(buf[:0], b, a), s[2:]...)
	out := wrap(alloc(shape, x), x)
	swapLeading(out.value.Data(), x.value.Data(), a, b, inner)
	if sv := out.recordFn("SwapLeadingAxes", swapLeadingBackward, x); sv != nil && !sv.setShape(s) {
		// Too many axes to keep in the node: fall back to a closure.
		out.node.fn = nil
		out.node.backward = func(g *tensor.Tensor) []*tensor.Tensor {
			gx := gradBuf(s, x)
			swapLeading(gx.Data(), g.Data(), b, a, inner)
			return []*tensor.Tensor{gx}
		}
	}
	return out
}

// swapLeadingBackward swaps the gradient's leading axes back.
func swapLeadingBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	x := n.inputs[0]
	s := n.saved.shape[:n.saved.rank]
	a, b := s[0], s[1]
	inner := 1
	for _, d := range s[2:] {
		inner *= d
	}
	gx := gradBuf(s, x)
	swapLeading(gx.Data(), g.Data(), b, a, inner)
	grads := n.saved.out(1)
	grads[0] = gx
	return grads
}

// swapLeading copies src [a, b, inner] into dst as [b, a, inner].
func swapLeading(dst, src []float32, a, b, inner int) {
	for i := 0; i < a; i++ {
		for j := 0; j < b; j++ {
			copy(dst[(j*a+i)*inner:(j*a+i+1)*inner], src[(i*b+j)*inner:(i*b+j+1)*inner])
		}
	}
}
