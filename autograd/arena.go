package autograd

import (
	"slices"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// NoGrad returns t as an inference-mode constant. Every op that takes an
// inference-mode Var records nothing, even when its other inputs (a model's
// parameters) require gradients, and its output is in inference mode too.
// This is how a model runs for prediction: the mode travels with the data,
// so many goroutines may run inference on one model at once while another
// trains a different one.
func NoGrad(t *tensor.Tensor) *Var { return &Var{value: t, inference: true} }

// Arena supplies the output buffers of ops so that a forward pass (and, for
// a training step, its backward pass) repeated with the same shapes
// allocates almost nothing once warm. Ops take buffers in call order; Reset
// makes them available again.
//
// The rule for buffers: everything an arena handed out since the last
// Reset — the Vars of op outputs, their values, the loss, the gradients
// that Backward passes between ops — stays valid until the next Reset and
// must not be used afterwards. Gradients accumulated into leaves (Var.Grad
// of parameters) are owned by the leaves, never by the arena, and stay
// valid. A value that must outlive the step (a metric's input, a recurrent
// state carried to the next batch) must be copied (Clone) before Reset.
//
// An Arena must not be used by two goroutines at once; pool them
// (sync.Pool) for concurrent inference.
type Arena struct {
	bufs  []*tensor.Tensor
	ints  [][]int32
	vars  []*Var
	nodes []*node
	views []*tensor.Tensor
	objs  []any // op state (see arenaState)
	idx   [][]int
	nw    int
	no    int
	nx    int
	nb    int
	ni    int
	nv    int
	nn    int
	tape  tape
	// sep holds the arena's own gradients of the parameters its graphs
	// use, when SeparateGrads is on (nil otherwise).
	sep *separateGrads
}

// separateGrads maps each parameter an arena's graphs used to the leaf
// that stands in for it in those graphs: same value, own gradient.
type separateGrads struct {
	of    map[*Var]*standIn
	mine  map[*Var]bool // the stand-ins themselves
	pairs []*standIn    // in first-use order
	merge func(lo, hi int)
}

// standIn is a parameter and the leaf that stands in for it.
type standIn struct {
	p, own *Var
	used   bool // recorded since the last MergeGrads
}

// tape is the scratch of Backward, kept by an arena so that a training
// step reuses it.
type tape struct {
	order   []*Var
	stack   []frame
	visited map[*Var]bool
	pending map[*Var]*tensor.Tensor
	owned   map[*Var]*tensor.Tensor // pending gradients no one else holds
}

// NewArena returns an empty arena.
func NewArena() *Arena { return &Arena{} }

// Input returns t as an inference-mode constant whose downstream ops draw
// their outputs from a.
func (a *Arena) Input(t *tensor.Tensor) *Var {
	v := a.variable()
	v.value = t
	v.inference = true
	v.arena = a
	return v
}

// Constant returns t as a constant (it requires no gradient) in training
// mode: ops downstream of it record their backward as usual, and draw
// their outputs, their graph records and the gradients passed between them
// from a. A training loop calls Reset, then runs the model on
// a.Constant(batch), computes the loss and calls Backward; once warm, a
// step allocates no tensor data for the ops that support arenas (all
// forward outputs; the backward of Linear, Conv2D, pooling and the
// engine's own bookkeeping), and a step made of Reshape/Flatten, Linear,
// the element-wise activations, Add (of equal shapes, or of a shape and
// its trailing part), SoftmaxCrossEntropy and the ops of a
// recurrent language model (EmbeddingIDs, SwapLeadingAxes, the recurrent
// stacks, Stack) or of a GPT's embeddings (AddPositions) allocates
// nothing at all. See Arena for how long the values stay valid.
func (a *Arena) Constant(t *tensor.Tensor) *Var {
	v := a.variable()
	v.value = t
	v.arena = a
	return v
}

// SeparateGrads sets whether the graphs recorded on a keep their own
// gradients of the trainable leaves (parameters) they use, rather than
// accumulating into each leaf's Grad; MergeGrads then adds them in. This
// is how several goroutines train one model side by side on shares of a
// batch (data parallelism, as package train's Config.Shards does): each
// runs the forward and backward of its share under its own arena with
// separate gradients — the model's values are read, never written, and
// each arena's gradients are its own — and once every share is done one
// goroutine merges the arenas' gradients, in a fixed order, and steps the
// optimizer. The parameters' values are shared, never copied; each arena
// keeps one gradient buffer per parameter.
//
// An op recorded on a (one with an input from a) takes a's stand-in for
// every parameter among its inputs, and for the parameters below any
// input computed without an arena (Reshape of a weight, a product with an
// arena-less Constant). The model's training forward must be safe for
// concurrent use, which nn's layers are except those that change state
// while training (nn.CheckConcurrentTraining names them). Turning
// SeparateGrads off drops any gradients not yet merged.
func (a *Arena) SeparateGrads(on bool) {
	switch {
	case !on:
		a.sep = nil
	case a.sep == nil:
		a.sep = &separateGrads{of: map[*Var]*standIn{}, mine: map[*Var]bool{}}
		a.sep.merge = a.mergeRange
	}
}

// MergeGrads adds into each parameter's gradient the gradient that the
// graphs recorded on a (with SeparateGrads on) accumulated for it since
// the last MergeGrads, as their Backward would have added it without
// SeparateGrads, and clears a's own gradients for the next step.
// Parameters that no backward reached since the last merge are left
// untouched, and a forgets the parameters no graph has used since the
// last merge. MergeGrads must not run while a graph of a is in Backward,
// nor concurrently with another MergeGrads or Backward that touches the
// same parameters.
func (a *Arena) MergeGrads() {
	if a.sep == nil {
		return
	}
	sep := a.sep
	parallel.For(len(sep.pairs), 1, sep.merge)
	kept := sep.pairs[:0]
	for _, si := range sep.pairs {
		if si.used {
			si.used = false
			kept = append(kept, si)
			continue
		}
		delete(sep.of, si.p)
		delete(sep.mine, si.own)
	}
	clear(sep.pairs[len(kept):])
	sep.pairs = kept
}

// mergeRange merges pairs [lo, hi) of a.sep.
func (a *Arena) mergeRange(lo, hi int) {
	for _, si := range a.sep.pairs[lo:hi] {
		own := si.own
		if own.grad == nil || own.gradStale {
			continue
		}
		si.p.accumulate(own.grad)
		own.gradStale = true
	}
}

// param returns what stands for v in a graph recorded on a: v itself,
// unless a keeps separate gradients and v is a trainable leaf, in which
// case a's own leaf for it (made on first use, its value kept in step
// with v's). When v was computed by an op without an arena, the
// parameters among that op's inputs (and so on down) are replaced there.
func (a *Arena) param(v *Var) *Var {
	if a == nil || a.sep == nil || v == nil || !v.requiresGrad || v.freed || v.arena != nil {
		return v
	}
	if v.node != nil {
		// An op that had no arena input: Reshape of a weight, a product
		// with an arena-less Constant. Its backward reaches the
		// parameters below it through its inputs.
		a.params(v.node.inputs)
		return v
	}
	if a.sep.mine[v] {
		return v
	}
	si, ok := a.sep.of[v]
	if !ok {
		si = &standIn{p: v, own: &Var{requiresGrad: true}}
		a.sep.of[v] = si
		a.sep.mine[si.own] = true
		a.sep.pairs = append(a.sep.pairs, si)
	}
	si.used = true
	si.own.value = v.value // SetValue may have replaced it
	return si.own
}

// params applies param to each of vs in place.
func (a *Arena) params(vs []*Var) {
	if a == nil || a.sep == nil {
		return
	}
	for i, v := range vs {
		vs[i] = a.param(v)
	}
}

// weights applies param to each of w's parameters: the recurrent ops
// keep their weights beside their graph record, not only in its inputs.
func (a *Arena) weights(w RecurrentWeights) RecurrentWeights {
	if a == nil || a.sep == nil {
		return w
	}
	return RecurrentWeights{IH: a.param(w.IH), HH: a.param(w.HH), BiasIH: a.param(w.BiasIH), BiasHH: a.param(w.BiasHH)}
}

// Reset returns every buffer to the arena. Values obtained since the last
// Reset must not be used afterwards.
func (a *Arena) Reset() {
	a.nb, a.ni, a.nv, a.nn, a.nw, a.no, a.nx = 0, 0, 0, 0, 0, 0, 0
}

// arenaState returns the next op-state slot of a as a *T: the one left in
// that slot by the same op in the previous step when it has that type, a
// new one otherwise (always a new one when a is nil). Ops whose record
// does not fit in a node (the fused recurrent stack) keep it there, with
// the closures they hand on bound to it once, so that a step repeated with
// the same ops allocates nothing for them. The caller must set every field
// it reads; slices may keep their capacity.
func arenaState[T any](a *Arena) *T {
	if a == nil {
		return new(T)
	}
	if a.no < len(a.objs) {
		p, ok := a.objs[a.no].(*T)
		if !ok {
			p = new(T)
			a.objs[a.no] = p
		}
		a.no++
		return p
	}
	p := new(T)
	a.objs = append(a.objs, p)
	a.no++
	return p
}

// slab returns data viewed with the given shape (the caller has checked
// the sizes), reusing the view in the same slot when it already shows the
// same elements with that shape: the fused recurrent ops hand out views of
// their packed output this way without allocating.
func (a *Arena) slab(data []float32, shape []int) *tensor.Tensor {
	if a.nw < len(a.views) {
		v := a.views[a.nw]
		if d := v.Data(); len(d) != len(data) || (len(d) > 0 && &d[0] != &data[0]) || !tensor.EqualShape(v.Shape(), shape) {
			v = tensor.New(data, shape...)
			a.views[a.nw] = v
		}
		a.nw++
		return v
	}
	v := tensor.New(data, shape...)
	a.views = append(a.views, v)
	a.nw++
	return v
}

// view returns t reshaped (one axis may be -1), reusing the view in the
// same slot when it already shows t's storage with that shape: a model
// that flattens the loader's (reused) batch buffer then allocates nothing.
func (a *Arena) view(t *tensor.Tensor, shape []int) *tensor.Tensor {
	var buf [8]int
	want, ok := resolveShape(buf[:0], shape, t.Size())
	if a.nw < len(a.views) {
		v := a.views[a.nw]
		if !ok || !sameStorage(v, t) || !tensor.EqualShape(v.Shape(), want) {
			v = t.Reshape(slices.Clone(shape)...) // shape must not escape
			a.views[a.nw] = v
		}
		a.nw++
		return v
	}
	v := t.Reshape(slices.Clone(shape)...)
	a.views = append(a.views, v)
	a.nw++
	return v
}

// resolveShape appends shape to dst with a -1 axis inferred from size; ok
// is false when the shape does not hold size elements (Reshape then says
// why).
func resolveShape(dst, shape []int, size int) (out []int, ok bool) {
	infer, n := -1, 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return dst, false
		default:
			n *= d
		}
		dst = append(dst, d)
	}
	if infer >= 0 {
		if n == 0 || size%n != 0 {
			return dst, false
		}
		dst[len(dst)-len(shape)+infer] = size / n
		n = size
	}
	return dst, n == size
}

// sameStorage reports whether a and b view the same elements.
func sameStorage(a, b *tensor.Tensor) bool {
	da, db := a.Data(), b.Data()
	return len(da) == len(db) && (len(da) == 0 || &da[0] == &db[0])
}

// tensor returns the next buffer, reusing the one in the same slot when its
// shape matches, or its storage when that is large enough (the last, short
// batch of an epoch then costs no new storage). The contents are stale.
func (a *Arena) tensor(shape []int) *tensor.Tensor {
	if a.nb < len(a.bufs) {
		t := a.bufs[a.nb]
		if !tensor.EqualShape(t.Shape(), shape) {
			size := 1
			for _, d := range shape {
				size *= d
			}
			if d := t.Data(); cap(d) >= size && size > 0 {
				t = tensor.New(d[:size], shape...)
			} else {
				t = tensor.Zeros(shape...)
			}
			a.bufs[a.nb] = t
		}
		a.nb++
		return t
	}
	t := tensor.Zeros(shape...)
	a.bufs = append(a.bufs, t)
	a.nb++
	return t
}

// variable returns the next Var slot, cleared.
func (a *Arena) variable() *Var {
	if a.nv < len(a.vars) {
		v := a.vars[a.nv]
		*v = Var{}
		a.nv++
		return v
	}
	v := &Var{}
	a.vars = append(a.vars, v)
	a.nv++
	return v
}

// node returns the next graph record slot, cleared but keeping the
// capacity of its input list.
func (a *Arena) node() *node {
	if a.nn < len(a.nodes) {
		n := a.nodes[a.nn]
		*n = node{inputs: n.inputs[:0]}
		a.nn++
		return n
	}
	n := &node{}
	a.nodes = append(a.nodes, n)
	a.nn++
	return n
}

// gradBuf returns a buffer of the given shape for a gradient computed in
// an op's backward: from the inputs' arena when they have one, freshly
// allocated otherwise. Its contents are stale under an arena, zero
// otherwise; the caller must overwrite every element (or clear it).
func gradBuf(shape []int, inputs ...*Var) *tensor.Tensor { return alloc(shape, inputs...) }

// zeroGradBuf is gradBuf cleared to zero.
func zeroGradBuf(shape []int, inputs ...*Var) *tensor.Tensor {
	if a := arenaOf(inputs...); a != nil {
		t := a.tensor(shape)
		clear(t.Data())
		return t
	}
	return tensor.Zeros(shape...)
}

// int32s returns the next index buffer (max-pooling's winners) of length
// n, reusing the storage of the same slot when it is large enough. The
// contents are stale.
func (a *Arena) int32s(n int) []int32 {
	if a.ni < len(a.ints) {
		b := a.ints[a.ni]
		if cap(b) < n {
			b = make([]int32, n)
			a.ints[a.ni] = b
		}
		a.ni++
		return b[:n]
	}
	b := make([]int32, n)
	a.ints = append(a.ints, b)
	a.ni++
	return b
}

// int32Buf returns an index buffer of length n from the inputs' arena, or
// a fresh one. The caller must overwrite every element.
func int32Buf(n int, inputs ...*Var) []int32 {
	if a := arenaOf(inputs...); a != nil {
		return a.int32s(n)
	}
	return make([]int32, n)
}

// ScratchInts returns n ints with unspecified contents from the arena of
// like when it has one — valid, like the arena's other buffers, until its
// next Reset — and a fresh slice otherwise. A loss uses it for the class
// indices it converts from a target tensor and hands to
// SoftmaxCrossEntropy or NLL (which keep them until Backward), so that a
// training step under an arena allocates nothing for them.
func ScratchInts(like *Var, n int) []int {
	a := like.arena
	if a == nil {
		return make([]int, n)
	}
	if a.nx < len(a.idx) {
		b := a.idx[a.nx]
		if cap(b) < n {
			b = make([]int, n)
			a.idx[a.nx] = b
		}
		a.nx++
		return b[:n]
	}
	b := make([]int, n)
	a.idx = append(a.idx, b)
	a.nx++
	return b
}
