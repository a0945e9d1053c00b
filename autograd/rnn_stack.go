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
// The result, and every gradient, equals that of chaining LSTM calls to
// float32 rounding (bit for bit at the sizes of our tests): the stack
// computes each layer's input projection in chunks of steps, and a chunk's
// matrix product can take another kernel path than one product over all
// steps (a one-row chunk, for instance, runs as a matrix-vector product).
// The layers run as a wavefront: with two or more workers
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
// equals chaining GRU calls to float32 rounding, as LSTMStack explains.
func GRUStack(x *Var, h0 []*Var, w []RecurrentWeights, opt RecurrentOptions) (out *Var, h []*Var) {
	outs := recurrentStack(kindGRU, x, h0, nil, w, opt)
	return outs[0], outs[1:]
}

// RNNStack runs len(w) Elman layers as LSTMStack runs LSTM layers, from
// the initial states h0[l] (nil for zeros), and returns the last layer's
// outputs out [T, B, H] and every layer's final state h[l] [B, H]. It
// equals chaining RNN calls to float32 rounding, as LSTMStack explains.
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

// layerState is what the scheduler of a pass knows of a layer (guarded
// by stackRun.mu).
type layerState struct {
	busy     bool // a goroutine is running one of its chunks
	complete bool // every step has run
	done     int  // steps handed on to the next layer, in the pass's order
}

// layerWork is where a layer stands in a pass, counted in the pass's
// order of steps (backward: from the last): steps run, steps whose input
// (forward: projection; backward: output gradient) is ready, and steps
// handed on. Only the goroutine running one of the layer's chunks touches
// it.
type layerWork struct {
	next, ready, shared int
}

// stackRun holds one fused stack: its layers and what flows between them.
type stackRun struct {
	layers []*recurrence
	chunk  int         // steps per hand-on (see stackChunkRows)
	ins    [][]float32 // each layer's input [T, B, I_l]: x, then the outputs below
	// concurrent is set when the layers run as a wavefront.
	concurrent bool
	// split[l] is the number of columns of layer l + 1's input projection
	// that layer l computes.
	split  []int
	splitH int // the columns of an output gradient the layer above computes
	// Backward: each layer's output gradient [T, B, H], the input's
	// gradient (nil when not needed), whether the layers' tasks compute
	// their weights' gradients.
	gOut     [][]float32
	gx       []float32
	ownGrads bool

	// The scheduler of a pass: mu guards state and failed; cond signals
	// every change.
	mu     sync.Mutex
	cond   sync.Cond
	state  []layerState
	work   []layerWork
	failed bool

	// The pass running (see runPass): its direction and functions.
	down        bool
	ready, task func(l int) bool
	// Bound to the record once, when it is first made, so that a step
	// under an arena, which reuses the record, allocates none of them.
	workers           func(lo, hi int)
	fwdReady, fwdTask func(l int) bool
	bwdReady, bwdTask func(l int) bool
	backwardFn        func(g *tensor.Tensor) []*tensor.Tensor

	// What the backward pass reads (set by the forward pass), and scratch
	// kept for the next step under an arena.
	x        *Var
	h0, c0   []*Var
	h0buf    []*Var
	c0buf    []*Var
	ws       []RecurrentWeights
	xs       [3]int
	inputs   []*Var
	outs     []*Var
	dhs, dcs []*tensor.Tensor
	grads    []*tensor.Tensor
	seen     map[*Var]bool
}

// runPass runs every layer's steps as chunks of work: task(l) runs the
// next chunk of layer l and reports whether the layer is complete. Layers
// are ordered bottom up, or top down when down is set; ready(l), called
// with mu held, reports whether layer l has what its next chunk needs from
// the layer before it in that order. When the stack is concurrent, the
// pool's goroutines take chunks as they become ready, each preferring a
// layer of its own, so that the layers run as a wavefront; a goroutine
// that finds no work waits, and one whose layer is done takes the others'
// chunks, so that a pass never waits on a goroutine the system has not
// scheduled yet. Otherwise the caller runs the chunks in order.
func (st *stackRun) runPass(down bool, ready, task func(l int) bool) {
	st.failed = false
	for l := range st.state {
		st.state[l], st.work[l] = layerState{}, layerWork{}
	}
	st.down, st.ready, st.task = down, ready, task
	defer func() { st.ready, st.task = nil, nil }()
	if !st.concurrent {
		st.worker(0)
		return
	}
	if st.workers == nil {
		st.workers = func(lo, hi int) {
			for id := lo; id < hi; id++ {
				st.worker(id)
			}
		}
	}
	parallel.For(min(len(st.layers), parallel.Workers()), 1, st.workers)
}

// order maps the i-th layer of the pass's order to its index.
func (st *stackRun) order(i int) int {
	if st.down {
		return len(st.layers) - 1 - i
	}
	return i
}

// try reports whether the i-th layer of the pass's order may run its next
// chunk, and clears *finished unless the layer is complete; mu must be
// held.
func (st *stackRun) try(i int, finished *bool) bool {
	ll := st.order(i)
	ls := &st.state[ll]
	if ls.complete {
		return false
	}
	*finished = false
	return !ls.busy && st.ready(ll)
}

// pick returns a layer whose next chunk may run (−1 for none), trying
// goroutine id's own layer first, and whether every layer is complete; mu
// must be held.
func (st *stackRun) pick(id int) (l int, finished bool) {
	finished = true
	L := len(st.layers)
	if id < L && st.try(id, &finished) {
		return st.order(id), false
	}
	for i := range L {
		if i != id && st.try(i, &finished) {
			return st.order(i), false
		}
	}
	return -1, finished
}

// worker is goroutine id of a pass: it runs chunks until every layer is
// complete or one has failed.
func (st *stackRun) worker(id int) {
	// mu is held except while a chunk runs (a chunk that panics leaves
	// it unlocked, so no deferred Unlock).
	st.mu.Lock()
	for !st.failed {
		l, finished := st.pick(id)
		if finished {
			break
		}
		if l < 0 {
			st.cond.Wait()
			continue
		}
		st.state[l].busy = true
		st.mu.Unlock()
		complete := st.runTask(st.task, l)
		st.mu.Lock()
		st.state[l].busy, st.state[l].complete = false, complete
		st.cond.Broadcast()
	}
	st.mu.Unlock()
}

// runTask runs task(l), marking the pass failed if it panics, so that the
// other goroutines stop instead of waiting for ever.
func (st *stackRun) runTask(task func(l int) bool, l int) bool {
	ok := false
	defer func() {
		if !ok {
			st.mu.Lock()
			st.failed = true
			st.cond.Broadcast()
			st.mu.Unlock()
		}
	}()
	complete := task(l)
	ok = true
	return complete
}

// handOn records that layer l has handed on n steps, waking the
// goroutines waiting for work.
func (st *stackRun) handOn(l, n int) {
	st.mu.Lock()
	st.state[l].done = n
	st.cond.Broadcast()
	st.mu.Unlock()
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
	name := stackNames[kind]
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
	// Under an arena the record, its layers and its slices are those of
	// the same op in the previous step.
	st := arenaState[stackRun](x.arena)
	st.bind()
	st.layers = resize(st.layers, L)
	st.ins = resize(st.ins, L)
	st.state = resize(st.state, L)
	st.work = resize(st.work, L)
	st.split = resize(st.split, L)
	st.cond.L = &st.mu
	// Copies, so that the caller may reuse its slices (and keep them on
	// its stack) before Backward.
	st.x, st.ws = x, append(st.ws[:0], ws...)
	st.h0, st.c0 = keepVars(&st.h0buf, h0), keepVars(&st.c0buf, c0)
	inputs := append(st.inputs[:0], x)
	for l, w := range ws {
		var I, Hl int
		T, B, I, Hl = checkRecurrent(name, l, kind, xs, at(h0, l), at(c0, l), w, opt)
		if l > 0 && Hl != H {
			panic(fmt.Sprintf("%s: layer %d has hidden size %d, layer 0 %d", name, l, Hl, H))
		}
		H = Hl
		st.xs = [3]int{T, B, H}
		xs = st.xs[:]
		r := st.layers[l]
		if r == nil {
			r = new(recurrence)
			st.layers[l] = r
		}
		lengths := r.lengths[:0]
		*r = recurrence{kind: kind, T: T, B: B, I: I, H: H, G: G, reverse: opt.Reverse, relu: opt.ReLU && kind == kindRNN, arena: x.arena}
		if opt.Lengths != nil {
			r.lengths = append(lengths, opt.Lengths...)
		}
		for _, v := range [...]*Var{w.IH, w.HH, w.BiasIH, w.BiasHH} {
			if v != nil {
				inputs = append(inputs, v)
			}
		}
	}
	for _, s := range [...][]*Var{h0, c0} {
		for _, v := range s {
			if v != nil {
				inputs = append(inputs, v)
			}
		}
	}
	st.inputs = inputs
	st.chunk = max(1, stackChunkRows/B)
	st.concurrent = T > st.chunk && B*G*H*H >= stackMinWork && parallel.Workers() >= 2
	// Layer l hands on split[l] columns of layer l + 1's projection: half,
	// except that the first layer, which also projects its own input
	// chunk by chunk (I columns against H), hands on fewer, so that both
	// goroutines do the same work per step.
	for l := range st.split {
		st.split[l] = halfCols(G * H)
	}
	if I0 := st.layers[0].I; I0 < H {
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
	}
	st.runPass(false, st.fwdReady, st.fwdTask)
	for _, r := range st.layers {
		r.end()
	}
	if grad {
		for l, w := range st.ws {
			st.ws[l] = packed.arena.weights(w)
		}
		packed.record(name, st.backwardFn, inputs...)
	} else {
		for l := 0; l < L-1; l++ {
			st.layers[l].putBuf(st.ins[l+1])
		}
		st.drop()
	}
	// Under an arena the slice of results is the record's too: it is
	// valid until the arena's next Reset, like the results.
	outs := st.outs[:0]
	if x.arena == nil {
		outs = make([]*Var, 0, 1+nState)
	}
	outs = append(outs, leadingView(packed, 0, T, T, B, H))
	for i := range nState {
		outs = append(outs, leadingView(packed, T+i, T+i+1, B, H))
	}
	if x.arena != nil {
		st.outs = outs
	}
	return outs
}

// stackNames are the names of the fused stacks, by kind.
var stackNames = [...]string{kindRNN: "autograd.RNNStack", kindLSTM: "autograd.LSTMStack", kindGRU: "autograd.GRUStack"}

// resize returns s with length n, reusing its storage when large enough.
// The elements are stale.
func resize[E any](s []E, n int) []E {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]E, n)
}

// keepVars copies s into *buf, reusing its storage, and returns the
// copy; nil stays nil.
func keepVars(buf *[]*Var, s []*Var) []*Var {
	if s == nil {
		return nil
	}
	*buf = append((*buf)[:0], s...)
	return *buf
}

// drop forgets the inputs the backward pass would read, keeping the
// storage of their copies.
func (st *stackRun) drop() {
	clear(st.ws)
	clear(st.h0buf)
	clear(st.c0buf)
	st.x, st.h0, st.c0, st.ws = nil, nil, nil, st.ws[:0]
}

// bind makes the closures the record hands on, once.
func (st *stackRun) bind() {
	if st.backwardFn != nil {
		return
	}
	st.fwdReady, st.fwdTask = st.forwardReady, st.forwardChunk
	st.bwdReady, st.bwdTask = st.backwardReady, st.backwardChunk
	st.backwardFn = func(g *tensor.Tensor) []*tensor.Tensor { return st.backward(g.Data()) }
}

// forwardReady reports whether layer l's next chunk may run: the first
// layer's always, a later one's once the layer below has handed on the
// steps it needs (a chunk's worth, or the rest). mu is held.
func (st *stackRun) forwardReady(l int) bool {
	w := &st.work[l]
	if l == 0 || w.next < w.ready {
		return true
	}
	return st.state[l-1].done >= min(st.layers[l].T, w.ready+st.chunk)
}

// forwardChunk runs layer l's steps up to its next hand-on and reports
// whether the layer is complete. The input projection of a layer above
// the first is split by columns: the layer below computes the first
// columns for each chunk of steps it finishes, and the layer itself the
// rest once the chunk is ready, which balances the two goroutines.
func (st *stackRun) forwardChunk(l int) bool {
	r, w := st.layers[l], &st.work[l]
	T, GH := r.T, r.G*r.H
	if w.next == w.ready {
		avail, j0 := T, 0
		if l > 0 {
			st.mu.Lock()
			avail = st.state[l-1].done
			st.mu.Unlock()
			j0 = st.split[l-1]
		} else {
			// Chunk by chunk, so that the layer above starts early (and
			// the same way on one worker, so that the results are too).
			avail = min(T, w.next+st.chunk)
		}
		r.projectCols(st.ins[l], w.ready, avail, j0, GH)
		w.ready = avail
	}
	var up *recurrence
	if l+1 < len(st.layers) {
		up = st.layers[l+1]
	}
	for w.next < w.ready {
		s := w.next
		r.step(s)
		w.next++
		if up != nil && (s+1-w.shared == st.chunk || s+1 == T) {
			up.projectCols(st.ins[l+1], w.shared, s+1, 0, st.split[l])
			w.shared = s + 1
			st.handOn(l, s+1)
			break
		}
	}
	return w.next == T
}

// backward maps the gradient of the packed output to the gradients of the
// inputs in the order recurrentStack recorded them.
func (st *stackRun) backward(g []float32) []*tensor.Tensor {
	x, h0, c0, ws := st.x, st.h0, st.c0, st.ws
	L := len(st.layers)
	r0 := st.layers[0]
	T, B, H := r0.T, r0.B, r0.H
	st.dhs = resize(st.dhs, L)
	st.dcs = resize(st.dcs, L)
	dhs, dcs := st.dhs, st.dcs
	st.gOut = resize(st.gOut, L)
	// The weights' gradients are computed by each layer's goroutine as
	// soon as its steps are done, unless two layers share a weight (their
	// sums would then race): they are computed afterwards, top down, in
	// the order of chained single-layer ops.
	st.ownGrads = true
	if st.seen == nil {
		st.seen = make(map[*Var]bool, 4*L)
	}
	seen := st.seen
	defer clear(seen)
	for l, r := range st.layers {
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
		for _, v := range [...]*Var{ws[l].IH, ws[l].HH, ws[l].BiasIH, ws[l].BiasHH} {
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
	st.runPass(true, st.bwdReady, st.bwdTask)

	grads := st.grads[:0]
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
	for _, s := range [...]struct {
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
	// Keep the storage of the slices, not what they held.
	clear(st.gOut)
	clear(st.ins)
	clear(dhs)
	clear(dcs)
	st.gx = nil
	st.drop()
	st.grads = grads
	return grads
}

// backwardReady reports whether layer l's next chunk may run backwards:
// the top layer's always, a lower one's once the layer above has handed
// on the steps it needs. mu is held.
func (st *stackRun) backwardReady(l int) bool {
	w := &st.work[l]
	if l == len(st.layers)-1 || w.next < w.ready {
		return true
	}
	return st.state[l+1].done >= min(st.layers[l].T, w.ready+st.chunk)
}

// backwardChunk runs layer l's steps backwards up to its next hand-on and,
// after its last step, computes its weights' gradients (and, for the
// first layer, the input's); it reports whether the layer is complete.
// The gradient of a layer's outputs comes from the layer above, split by
// columns like the forward projection: the layer above computes the first
// columns for each chunk of steps it finishes, this layer the rest.
func (st *stackRun) backwardChunk(l int) bool {
	r, w := st.layers[l], &st.work[l]
	T, I := r.T, r.I
	// Steps are counted from the last.
	if w.next == w.ready {
		avail := T
		if l < len(st.layers)-1 {
			st.mu.Lock()
			avail = st.state[l+1].done
			st.mu.Unlock()
			st.layers[l+1].inputGradCols(st.gOut[l], T-avail, T-w.ready, st.splitH, st.layers[l+1].I)
		}
		w.ready = avail
	}
	for w.next < w.ready {
		n := w.next + 1
		r.stepBackward(T-n, st.gOut[l])
		w.next = n
		if l > 0 && (n-w.shared == st.chunk || n == T) {
			r.inputGradCols(st.gOut[l-1], T-n, T-w.shared, 0, st.splitH)
			w.shared = n
			st.handOn(l, n)
			break
		}
	}
	if w.next < T {
		return false
	}
	if st.ownGrads {
		r.computeWeightGrads(st.ins[l])
	}
	if l == 0 && st.gx != nil {
		r.inputGradCols(st.gx, 0, T, 0, I)
	}
	return true
}
