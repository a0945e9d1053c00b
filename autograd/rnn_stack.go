package autograd

import (
	"fmt"
	"sync"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// LSTMStack runs len(w) LSTM layers over the time-major sequence x
// [T, B, I], layer l > 0 reading the outputs of layer l − 1, from the
// initial states h0[l] and c0[l] [B, H] (h0 and c0, or any of their
// elements, may be nil for zeros). It returns the last layer's outputs
// out [T, B, H] and every layer's final states h[l] and c[l] [B, H]. Every
// layer has the same hidden size H; opt applies to every layer.
//
// The result, and every gradient, equals that of chaining LSTM calls
// bit for bit. The layers run as a wavefront: with two or more workers
// (internal/parallel), layer l + 1 works on step t while layer l works on
// later steps, and the backward pass runs the same way from the top layer
// down, so that a stack keeps several cores busy where the one small
// matrix product per step of a single layer cannot.
func LSTMStack(x *Var, h0, c0 []*Var, w []RecurrentWeights, opt RecurrentOptions) (out *Var, h, c []*Var) {
	outs := recurrentStack(kindLSTM, x, h0, c0, w, opt)
	L := len(w)
	return outs[0], outs[1 : 1+L], outs[1+L:]
}

// GRUStack runs len(w) GRU layers as LSTMStack runs LSTM layers, from the
// initial states h0[l] (nil for zeros), and returns the last layer's
// outputs out [T, B, H] and every layer's final state h[l] [B, H]. It
// equals chaining GRU calls bit for bit.
func GRUStack(x *Var, h0 []*Var, w []RecurrentWeights, opt RecurrentOptions) (out *Var, h []*Var) {
	outs := recurrentStack(kindGRU, x, h0, nil, w, opt)
	return outs[0], outs[1:]
}

// RNNStack runs len(w) Elman layers as LSTMStack runs LSTM layers, from
// the initial states h0[l] (nil for zeros), and returns the last layer's
// outputs out [T, B, H] and every layer's final state h[l] [B, H]. It
// equals chaining RNN calls bit for bit.
func RNNStack(x *Var, h0 []*Var, w []RecurrentWeights, opt RecurrentOptions) (out *Var, h []*Var) {
	outs := recurrentStack(kindRNN, x, h0, nil, w, opt)
	return outs[0], outs[1:]
}

// stackChunkRows is the number of rows (steps × batch) a layer of a stack
// waits for before it projects the outputs of the layer below (forward)
// or maps the gradients of the layer above to its outputs (backward): one
// matrix product that size runs near full speed, and the wait it costs at
// the start of the wavefront is a few steps. (A variable for the tests.)
var stackChunkRows = 256

// stackMinWork is the size of one step's recurrent product (B·G·H·H)
// below which a stack runs its layers one after another on the caller's
// goroutine: handing steps between goroutines would cost more than it
// saves. (A variable for the tests.)
var stackMinWork = 1 << 16

// progress counts the steps a layer has finished, for the layer that
// waits on it. A layer that fails marks its progress failed, so that the
// waiting layer stops instead of waiting for ever.
type progress struct {
	mu     sync.Mutex
	cond   sync.Cond
	n      int  // steps done
	want   int  // the waiter needs n ≥ want; 0: nobody waits
	failed bool // the layer stopped early (it panicked or its input did)
}

// set records that n steps are done, waking the waiter once it has what
// it asked for.
func (p *progress) set(n int) {
	p.mu.Lock()
	p.n = n
	wake := p.want > 0 && n >= p.want
	p.mu.Unlock()
	if wake {
		p.cond.Signal()
	}
}

// fail marks the layer as stopped early and wakes the waiter.
func (p *progress) fail() {
	p.mu.Lock()
	p.failed = true
	p.mu.Unlock()
	p.cond.Signal()
}

// wait blocks until at least n steps are done and returns the steps done,
// or returns ok false when the layer failed.
func (p *progress) wait(n int) (done int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.n < n && !p.failed {
		p.want = n
		p.cond.Wait()
	}
	p.want = 0
	return p.n, !p.failed
}

// stackRun holds one fused stack: its layers and what flows between them.
type stackRun struct {
	layers []*recurrence
	prog   []progress
	chunk  int         // steps per projection (see stackChunkRows)
	ins    [][]float32 // each layer's input [T, B, I_l]: x, then the outputs below
	// concurrent is set when the layers run as a wavefront.
	concurrent bool
	// split[l] is the number of columns of layer l + 1's input projection
	// that layer l computes.
	split  []int
	splitH int // the columns of an output gradient the layer above computes
	// Backward: each layer's output gradient [T, B, H], the input's
	// gradient (nil when not needed), whether the layers' goroutines
	// compute their weights' gradients.
	gOut     [][]float32
	gx       []float32
	ownGrads bool
}

// runLayers calls fn(l) for every layer: concurrently as a wavefront when
// the pool has several workers and the stack is large enough, in order on
// the caller otherwise. Layer order is bottom up, or top down when down
// is set. fn(l) may wait only on the progress of the layer before it in
// that order: For hands out layer indices in order, so that layer is
// already running (or done) on another goroutine whenever fn waits.
func (st *stackRun) runLayers(down bool, fn func(l int)) {
	L := len(st.layers)
	layer := func(i int) int {
		if down {
			return L - 1 - i
		}
		return i
	}
	if !st.concurrent {
		for i := range L {
			fn(layer(i))
		}
		return
	}
	parallel.For(L, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(layer(i))
		}
	})
}

// guard marks layer l's progress failed unless the layer finished; use it
// deferred at the top of a layer's work.
func (st *stackRun) guard(l int, finished *bool) {
	if !*finished {
		st.prog[l].fail()
	}
}

// halfCols returns about half of n columns, a multiple of 16 when n is
// large enough, so that both halves fill whole micro-kernel tiles.
func halfCols(n int) int {
	if n >= 64 {
		return n / 2 &^ 15
	}
	return n / 2
}

// roundCols rounds k of n columns down to a multiple of 16 when n is
// large enough.
func roundCols(k, n int) int {
	if n >= 64 {
		return k &^ 15
	}
	return k
}

func recurrentStack(kind recurrentKind, x *Var, h0, c0 []*Var, ws []RecurrentWeights, opt RecurrentOptions) []*Var {
	name := "autograd." + kindNames[kind] + "Stack"
	L := len(ws)
	if x == nil || L == 0 {
		panic(name + ": input and at least one layer are required")
	}
	if (h0 != nil && len(h0) != L) || (c0 != nil && len(c0) != L) {
		panic(fmt.Sprintf("%s: %d layers but %d initial h and %d initial c states", name, L, len(h0), len(c0)))
	}
	if kind != kindLSTM && c0 != nil {
		panic(name + ": only an LSTM has a cell state")
	}
	at := func(s []*Var, l int) *Var {
		if s == nil {
			return nil
		}
		return s[l]
	}
	G := kindGates[kind]
	xs := x.value.Shape()
	var T, B, H int
	st := &stackRun{layers: make([]*recurrence, L), prog: make([]progress, L), ins: make([][]float32, L)}
	inputs := []*Var{x}
	for l, w := range ws {
		var I, Hl int
		T, B, I, Hl = checkRecurrent(fmt.Sprintf("%s layer %d", name, l), kind, xs, at(h0, l), at(c0, l), w, opt)
		if l > 0 && Hl != H {
			panic(fmt.Sprintf("%s: layer %d has hidden size %d, layer 0 %d", name, l, Hl, H))
		}
		H = Hl
		xs = []int{T, B, H}
		r := &recurrence{kind: kind, T: T, B: B, I: I, H: H, G: G, reverse: opt.Reverse, relu: opt.ReLU && kind == kindRNN, arena: x.arena}
		if opt.Lengths != nil {
			r.lengths = append([]int(nil), opt.Lengths...)
		}
		st.layers[l] = r
		for _, v := range []*Var{w.IH, w.HH, w.BiasIH, w.BiasHH} {
			if v != nil {
				inputs = append(inputs, v)
			}
		}
	}
	for _, s := range [][]*Var{h0, c0} {
		for _, v := range s {
			if v != nil {
				inputs = append(inputs, v)
			}
		}
	}
	st.chunk = max(1, stackChunkRows/B)
	st.concurrent = T > st.chunk && B*G*H*H >= stackMinWork && parallel.Workers() >= 2
	// Layer l hands on split[l] columns of layer l + 1's projection: half,
	// except that the first layer, which also projects its own input
	// chunk by chunk when concurrent (I columns against H), hands on
	// fewer, so that both goroutines do the same work per step.
	st.split = make([]int, L)
	for l := range st.split {
		st.split[l] = halfCols(G * H)
	}
	if I0 := st.layers[0].I; st.concurrent && I0 < H {
		st.split[0] = roundCols(G*H*(H-I0)/(2*H), G*H)
	}
	st.splitH = halfCols(H)
	nState := L
	if kind == kindLSTM {
		nState = 2 * L
	}
	packed := wrap(alloc([]int{T + nState, B, H}, inputs...), inputs...)
	grad := packed.requiresGrad
	dst := packed.value.Data()
	st.ins[0] = x.value.Data()
	for l, r := range st.layers {
		out := dst[:T*B*H]
		if l < L-1 {
			out = r.getBuf(T * B * H)
			st.ins[l+1] = out
		}
		h := dst[(T+l)*B*H : (T+l+1)*B*H]
		var c []float32
		if kind == kindLSTM {
			c = dst[(T+L+l)*B*H : (T+L+l+1)*B*H]
		}
		r.begin(out, h, c, at(h0, l), at(c0, l), ws[l], grad)
		st.prog[l].cond.L = &st.prog[l].mu
	}
	st.runLayers(false, func(l int) { st.forwardLayer(l) })
	for _, r := range st.layers {
		r.end()
	}
	if grad {
		packed.record(name, func(g *tensor.Tensor) []*tensor.Tensor {
			return st.backward(g.Data(), x, h0, c0, ws)
		}, inputs...)
	} else {
		for l := 0; l < L-1; l++ {
			st.layers[l].putBuf(st.ins[l+1])
		}
	}
	outs := make([]*Var, 0, 1+nState)
	outs = append(outs, leadingView(packed, 0, T, T, B, H))
	for i := range nState {
		outs = append(outs, leadingView(packed, T+i, T+i+1, B, H))
	}
	return outs
}

// forwardLayer runs every step of layer l. The input projection of a
// layer above the first is split by columns: the layer below computes the
// first columns for each chunk of steps it finishes, and the layer itself
// the rest once the chunk is ready, which balances the two goroutines.
func (st *stackRun) forwardLayer(l int) {
	finished := false
	defer st.guard(l, &finished)
	r := st.layers[l]
	T, GH := r.T, r.G*r.H
	var up *recurrence
	if l+1 < len(st.layers) {
		up = st.layers[l+1]
	}
	projected, shared := 0, 0 // steps projected for this layer, and for the next
	for s := 0; s < T; s++ {
		if s == projected {
			avail, j0 := T, 0
			if l > 0 {
				var ok bool
				if avail, ok = st.prog[l-1].wait(min(T, s+st.chunk)); !ok {
					return
				}
				j0 = st.split[l-1]
			} else if st.concurrent {
				// Chunk by chunk, so that the layer above starts early.
				avail = min(T, s+st.chunk)
			}
			r.projectCols(st.ins[l], projected, avail, j0, GH)
			projected = avail
		}
		r.step(s)
		if up != nil && (s+1-shared == st.chunk || s+1 == T) {
			up.projectCols(st.ins[l+1], shared, s+1, 0, st.split[l])
			shared = s + 1
			st.prog[l].set(s + 1)
		}
	}
	finished = true
}

// backward maps the gradient of the packed output to the gradients of the
// inputs in the order recurrentStack recorded them.
func (st *stackRun) backward(g []float32, x *Var, h0, c0 []*Var, ws []RecurrentWeights) []*tensor.Tensor {
	L := len(st.layers)
	r0 := st.layers[0]
	T, B, H := r0.T, r0.B, r0.H
	dhs := make([]*tensor.Tensor, L)
	dcs := make([]*tensor.Tensor, L)
	st.gOut = make([][]float32, L)
	// The weights' gradients are computed by each layer's goroutine as
	// soon as its steps are done, unless two layers share a weight (their
	// sums would then race): they are computed afterwards, top down, in
	// the order of chained single-layer ops.
	st.ownGrads = true
	seen := make(map[*Var]bool, 4*L)
	for l, r := range st.layers {
		st.prog[l].n, st.prog[l].want, st.prog[l].failed = 0, 0, false
		var gc []float32
		if r.kind == kindLSTM {
			gc = g[(T+L+l)*B*H : (T+L+l+1)*B*H]
		}
		dhs[l], dcs[l] = r.beginBackward(g[(T+l)*B*H:(T+l+1)*B*H], gc, x, ws[l])
		if l == L-1 {
			st.gOut[l] = g[:T*B*H]
		} else {
			st.gOut[l] = r.getBuf(T * B * H)
		}
		for _, v := range []*Var{ws[l].IH, ws[l].HH, ws[l].BiasIH, ws[l].BiasHH} {
			if v != nil {
				st.ownGrads = st.ownGrads && !seen[v]
				seen[v] = true
			}
		}
	}
	if st.ownGrads {
		for l, r := range st.layers {
			r.weightDests(x, ws[l])
		}
	}
	var gx *tensor.Tensor
	st.gx = nil
	if x.requiresGrad {
		gx = gradBuf(x.value.Shape(), x)
		st.gx = gx.Data()
	}
	st.runLayers(true, func(l int) { st.backwardLayer(l) })

	grads := make([]*tensor.Tensor, 0, 1+6*L)
	grads = append(grads, gx)
	if !st.ownGrads {
		for l := L - 1; l >= 0; l-- {
			st.layers[l].weightDests(x, ws[l])
			st.layers[l].computeWeightGrads(st.ins[l])
		}
	}
	for l, r := range st.layers {
		grads = r.appendWeightGrads(grads, ws[l])
	}
	for _, s := range []struct {
		v []*Var
		d []*tensor.Tensor
	}{{h0, dhs}, {c0, dcs}} {
		for l, v := range s.v {
			if v != nil {
				grads = append(grads, s.d[l])
			}
		}
	}
	for l, r := range st.layers {
		if l < L-1 {
			r.putBuf(st.gOut[l])
			r.putBuf(st.ins[l+1])
		}
		r.release()
	}
	st.gOut, st.ins, st.gx = nil, nil, nil
	return grads
}

// backwardLayer runs every step of layer l backwards, then computes its
// weights' gradients (and, for the first layer, the input's). The
// gradient of a layer's outputs comes from the layer above, split by
// columns like the forward projection: the layer above computes the first
// half for each chunk of steps it finishes, this layer the rest.
func (st *stackRun) backwardLayer(l int) {
	finished := false
	defer st.guard(l, &finished)
	r := st.layers[l]
	T, I := r.T, r.I
	// Steps are counted from the last: done of this layer's have their
	// output gradient ready, shared of its own are passed down.
	done, shared := 0, 0
	for s := T - 1; s >= 0; s-- {
		if T-1-s == done && l < len(st.layers)-1 {
			avail, ok := st.prog[l+1].wait(min(T, done+st.chunk))
			if !ok {
				return
			}
			st.layers[l+1].inputGradCols(st.gOut[l], T-avail, T-done, st.splitH, st.layers[l+1].I)
			done = avail
		}
		r.stepBackward(s, st.gOut[l])
		if n := T - s; l > 0 && (n-shared == st.chunk || n == T) {
			r.inputGradCols(st.gOut[l-1], T-n, T-shared, 0, st.splitH)
			shared = n
			st.prog[l].set(n)
		}
	}
	if st.ownGrads {
		r.computeWeightGrads(st.ins[l])
	}
	if l == 0 && st.gx != nil {
		r.inputGradCols(st.gx, 0, T, 0, I)
	}
	finished = true
}
