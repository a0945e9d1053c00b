package autograd

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// RecurrentWeights are the parameters of one layer and direction of a
// recurrent network, in PyTorch's layout: IH is weight_ih [G·H, I], HH is
// weight_hh [G·H, H], BiasIH and BiasHH are bias_ih and bias_hh [G·H] (both
// may be nil). G is the number of gates packed along the first axis: 4 for
// an LSTM (i, f, g, o), 3 for a GRU (r, z, n) and 1 for a plain RNN.
type RecurrentWeights struct {
	IH, HH         *Var
	BiasIH, BiasHH *Var
}

// RecurrentOptions tunes a fused recurrent op. The zero value runs every
// sequence over all T steps, forwards in time.
type RecurrentOptions struct {
	// Lengths, when not nil, holds each batch element's sequence length
	// (0 ≤ Lengths[b] ≤ T). Steps at or beyond a sequence's length are
	// padding: they leave its state unchanged, output zeros and receive no
	// gradient, as with PyTorch's pack_padded_sequence and
	// pad_packed_sequence.
	Lengths []int
	// Reverse runs the sequence backwards in time, starting at each
	// sequence's own last step (the reverse half of a bidirectional layer).
	Reverse bool
	// ReLU makes RNN use max(0, ·) instead of tanh (PyTorch's
	// nonlinearity="relu"). LSTM and GRU ignore it.
	ReLU bool
}

// recurrentKind selects the cell of a fused recurrent op.
type recurrentKind int

const (
	kindRNN recurrentKind = iota
	kindLSTM
	kindGRU
)

var kindNames = [...]string{kindRNN: "RNN", kindLSTM: "LSTM", kindGRU: "GRU"}
var kindGates = [...]int{kindRNN: 1, kindLSTM: 4, kindGRU: 3}

// LSTM runs a long short-term memory layer over the time-major sequence x
// [T, B, I] from the initial state (h0, c0), each [B, H] (nil for zeros),
// and returns the hidden state at every step out [T, B, H] and the final
// states h and c [B, H]. It computes, with PyTorch's gate order i, f, g, o,
//
//	i = σ(W_ii x + b_ii + W_hi h + b_hi)    f = σ(W_if x + b_if + W_hf h + b_hf)
//	g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
//	c' = f⊙c + i⊙g                         h' = o⊙tanh(c')
//
// The op is fused: the input projection of all steps is one matrix
// product, each step adds one recurrent product and computes the gates in
// one pass, and the backward pass makes one product per step for the
// state gradient and forms the weight gradients as single large products
// at the end.
func LSTM(x, h0, c0 *Var, w RecurrentWeights, opt RecurrentOptions) (out, h, c *Var) {
	outs := recurrent(kindLSTM, x, h0, c0, w, opt)
	return outs[0], outs[1], outs[2]
}

// GRU runs a gated recurrent unit layer over the time-major sequence x
// [T, B, I] from the initial state h0 [B, H] (nil for zeros) and returns
// every step's hidden state out [T, B, H] and the final state h [B, H]. It
// follows PyTorch's gate order r, z, n, with the reset gate applied to the
// recurrent term including its bias:
//
//	r = σ(W_ir x + b_ir + W_hr h + b_hr)    z = σ(W_iz x + b_iz + W_hz h + b_hz)
//	n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn))
//	h' = (1 − z)⊙n + z⊙h
//
// It is fused in the same way as LSTM.
func GRU(x, h0 *Var, w RecurrentWeights, opt RecurrentOptions) (out, h *Var) {
	outs := recurrent(kindGRU, x, h0, nil, w, opt)
	return outs[0], outs[1]
}

// RNN runs an Elman recurrent layer, h' = tanh(W_ih x + b_ih + W_hh h +
// b_hh) (or ReLU with opt.ReLU), over the time-major sequence x [T, B, I]
// from h0 [B, H] (nil for zeros), returning every step's hidden state out
// [T, B, H] and the final state h [B, H].
func RNN(x, h0 *Var, w RecurrentWeights, opt RecurrentOptions) (out, h *Var) {
	outs := recurrent(kindRNN, x, h0, nil, w, opt)
	return outs[0], outs[1]
}

// recurrence holds the sizes of one fused run and, when gradients are
// needed, what the forward pass saved for the backward pass.
type recurrence struct {
	kind       recurrentKind
	T, B, I, H int
	G          int // gates
	reverse    bool
	relu       bool
	lengths    []int // nil: all T

	// Saved for backward, all indexed by time t (not processing order).
	gates []float32 // [T, B, G·H]: activated gates (RNN: the new state)
	hprev []float32 // [T, B, H]: the state each step started from
	cprev []float32 // LSTM [T, B, H]: the cell each step started from
	tanhc []float32 // LSTM [T, B, H]: tanh of the new cell
	hn    []float32 // GRU [T, B, H]: W_hn h + b_hn

	arena *Arena // the input's, which then supplies every buffer

	// The working state of a forward run (see begin).
	out, h, c   []float32 // outputs [T, B, H]; running state [B, H]
	save        bool
	wih         []float32 // W_ih [G·H, I]
	whh         []float32 // W_hh, or its transposed copy whhT
	whhT        []float32
	ldw         int
	transW      bool
	bias, bhh   []float32
	scratch, hp []float32
	tc          []float32

	// The working state of a backward run (see beginBackward).
	dh, dc  []float32    // state gradients [B, H], carried back through time
	dG, dHP []float32    // pre-activation gradients [T, B, G·H]
	pg      [4]paramGrad // where the weights' gradients go (weightDests)
}

// getBuf returns a scratch or saved buffer of n floats (contents stale):
// from the arena of the op's input when it has one, so that a training
// step under an arena reuses them, from the package's pools otherwise.
func (r *recurrence) getBuf(n int) []float32 {
	if r.arena != nil {
		return r.arena.tensor([]int{n}).Data()
	}
	return getBuf(n)
}

// putBuf gives a buffer from r.getBuf back (arena buffers stay with the
// arena until its Reset).
func (r *recurrence) putBuf(b []float32) {
	if r.arena == nil {
		putBuf(b)
	}
}

func (r *recurrence) valid(b, t int) bool { return r.lengths == nil || t < r.lengths[b] }

// timeAt maps processing step s to its time index.
func (r *recurrence) timeAt(s int) int {
	if r.reverse {
		return r.T - 1 - s
	}
	return s
}

// checkRecurrent panics, naming the op (and its layer when layer ≥ 0),
// unless the input shape xs, the weights, the initial states and the
// options fit together; it returns the sizes T, B, I and H.
func checkRecurrent(op string, layer int, kind recurrentKind, xs []int, h0, c0 *Var, w RecurrentWeights, opt RecurrentOptions) (T, B, I, H int) {
	if w.IH == nil || w.HH == nil {
		panic(recName(op, layer) + ": input and both weights are required")
	}
	wis, whs := w.IH.value.Shape(), w.HH.value.Shape()
	if len(xs) != 3 || xs[0] < 1 {
		panic(fmt.Sprintf("%s: input has shape %v, want [T, B, I] with T ≥ 1", recName(op, layer), xs))
	}
	G := kindGates[kind]
	T, B, I = xs[0], xs[1], xs[2]
	if len(whs) != 2 || whs[0] != G*whs[1] || whs[1] < 1 {
		panic(fmt.Sprintf("%s: weight_hh has shape %v, want [%d·H, H]", recName(op, layer), whs, G))
	}
	H = whs[1]
	if len(wis) != 2 || wis[0] != G*H || wis[1] != I {
		panic(fmt.Sprintf("%s: weight_ih has shape %v, want [%d, %d] for input %v and weight_hh %v", recName(op, layer), wis, G*H, I, xs, whs))
	}
	for _, bv := range []*Var{w.BiasIH, w.BiasHH} {
		if bv != nil && (bv.value.Rank() != 1 || bv.value.Dim(0) != G*H) {
			panic(fmt.Sprintf("%s: bias has shape %v, want [%d]", recName(op, layer), bv.value.Shape(), G*H))
		}
	}
	for i, s := range []*Var{h0, c0} {
		if s != nil && !tensor.EqualShape(s.value.Shape(), []int{B, H}) {
			panic(fmt.Sprintf("%s: initial state %d has shape %v, want [%d, %d]", recName(op, layer), i, s.value.Shape(), B, H))
		}
	}
	if kind != kindLSTM && c0 != nil {
		panic(recName(op, layer) + ": only an LSTM has a cell state")
	}
	if opt.Lengths != nil {
		if len(opt.Lengths) != B {
			panic(fmt.Sprintf("%s: %d lengths for a batch of %d", recName(op, layer), len(opt.Lengths), B))
		}
		for b, l := range opt.Lengths {
			if l < 0 || l > T {
				panic(fmt.Sprintf("%s: length %d of sequence %d outside [0, %d]", recName(op, layer), l, b, T))
			}
		}
	}
	return T, B, I, H
}

// recName names layer l of the op for a panic (l < 0: a single layer).
func recName(op string, l int) string {
	if l < 0 {
		return op
	}
	return fmt.Sprintf("%s layer %d", op, l)
}

// single is the record of a single-layer recurrent op: its recurrence,
// what its backward reads and the closure the tape calls, bound once. Under
// an arena it is an op state (see arenaState) that the next step reuses.
type single struct {
	r          recurrence
	x, h0, c0  *Var
	w          RecurrentWeights
	grads      [7]*tensor.Tensor
	backwardFn func(g *tensor.Tensor) []*tensor.Tensor
}

// singleNames are the names of the single-layer ops, by kind.
var singleNames = [...]string{kindRNN: "autograd.RNN", kindLSTM: "autograd.LSTM", kindGRU: "autograd.GRU"}

// recurrent runs one layer and returns its outputs, final h and (LSTM)
// final c.
func recurrent(kind recurrentKind, x, h0, c0 *Var, w RecurrentWeights, opt RecurrentOptions) (outs [3]*Var) {
	name := singleNames[kind]
	if x == nil {
		panic(name + ": input is required")
	}
	G := kindGates[kind]
	xs := x.value.Shape()
	T, B, I, H := checkRecurrent(name, -1, kind, xs, h0, c0, w, opt)
	sg := arenaState[single](x.arena)
	if sg.backwardFn == nil {
		sg.backwardFn = func(g *tensor.Tensor) []*tensor.Tensor {
			grads := sg.r.backward(g.Data(), sg.x, sg.h0, sg.c0, sg.w, sg.grads[:0])
			sg.x, sg.h0, sg.c0, sg.w = nil, nil, nil, RecurrentWeights{}
			return grads
		}
	}
	r := &sg.r
	lengths := r.lengths[:0]
	*r = recurrence{kind: kind, T: T, B: B, I: I, H: H, G: G, reverse: opt.Reverse, relu: opt.ReLU && kind == kindRNN, arena: x.arena}
	if opt.Lengths != nil {
		r.lengths = append(lengths, opt.Lengths...)
	}

	var ibuf [7]*Var
	inputs := append(ibuf[:0], x, w.IH, w.HH)
	for _, v := range [...]*Var{w.BiasIH, w.BiasHH, h0, c0} {
		if v != nil {
			inputs = append(inputs, v)
		}
	}
	nOut := 2
	if kind == kindLSTM {
		nOut = 3
	}
	packed := wrap(alloc([]int{T + nOut - 1, B, H}, inputs...), inputs...)
	grad := packed.requiresGrad
	r.forward(packed.value.Data(), x, h0, c0, w, grad)
	if grad {
		sg.x, sg.h0, sg.c0, sg.w = x, h0, c0, packed.arena.weights(w)
		packed.record(name, sg.backwardFn, inputs...)
	}
	outs[0], outs[1] = leadingView(packed, 0, T, T, B, H), leadingView(packed, T, T+1, B, H)
	if kind == kindLSTM {
		outs[2] = leadingView(packed, T+1, T+2, B, H)
	}
	return outs
}

// transposeInto writes the transpose of the rows×cols row-major matrix x
// into dst (cols×rows), in 8×8 tiles so that both sides stay in cache.
func transposeInto(dst, x []float32, rows, cols int) {
	for i0 := 0; i0 < rows; i0 += 8 {
		i1 := min(i0+8, rows)
		for j0 := 0; j0 < cols; j0 += 8 {
			j1 := min(j0+8, cols)
			for i := i0; i < i1; i++ {
				row := x[i*cols+j0 : i*cols+j1]
				for j, v := range row {
					dst[(j0+j)*rows+i] = v
				}
			}
		}
	}
}

// recurrentProduct sets c = h·W_hhᵀ + beta·c for c [B, G·H], with w
// either W_hh itself (trans; a batch of one then takes GEMM's
// matrix–vector path) or its transposed copy (row stride ldw).
func recurrentProduct(B, GH, H int, h, w []float32, ldw int, trans bool, beta float32, c []float32) {
	kernel.Gemm(false, trans, B, GH, H, 1, h, H, w, ldw, beta, c, GH)
}

func dataOrNil(v *Var) []float32 {
	if v == nil {
		return nil
	}
	return v.value.Data()
}

// forward fills dst ([T, B, H] outputs, then the final h, then for an LSTM
// the final c) and, when save is set, keeps what backward needs.
func (r *recurrence) forward(dst []float32, x, h0, c0 *Var, w RecurrentWeights, save bool) {
	T, B, H := r.T, r.B, r.H
	out := dst[:T*B*H]
	var c []float32
	if r.kind == kindLSTM {
		c = dst[(T+1)*B*H : (T+2)*B*H]
	}
	r.begin(out, dst[T*B*H:(T+1)*B*H], c, h0, c0, w, save)
	r.project(x.value.Data(), 0, T)
	for s := 0; s < T; s++ {
		r.step(s)
	}
	r.end()
}

// begin prepares a forward run writing the outputs into out [T, B, H] and
// carrying the state in h (and, for an LSTM, c) [B, H], which it sets from
// h0 and c0 (zeros when nil). It takes every buffer the run needs, so that
// project and step allocate nothing (and may run on another goroutine
// than begin and end).
func (r *recurrence) begin(out, h, c []float32, h0, c0 *Var, w RecurrentWeights, save bool) {
	T, B, H, G := r.T, r.B, r.H, r.G
	GH := G * H
	r.out, r.h, r.c, r.save = out, h, c, save
	r.wih = w.IH.value.Data()
	if c != nil {
		if c0 != nil {
			copy(c, c0.value.Data())
		} else {
			clear(c)
		}
	}
	if h0 != nil {
		copy(h, h0.value.Data())
	} else {
		clear(h)
	}
	// The recurrent product h·W_hhᵀ. Over many steps of a batch, W_hh is
	// transposed once ([H, G·H]) so that every step's product reads it
	// row by row instead of packing it again; a single step, or a batch of
	// one (a matrix–vector product per step, which reads W_hh in place),
	// skips the copy: decoding one token at a time then costs no
	// transposition.
	r.whh, r.ldw, r.transW = w.HH.value.Data(), H, true
	if T > 1 && B > 1 {
		// Copy W_hhᵀ once for the products of every step.
		r.whhT = r.getBuf(H * GH)
		transposeInto(r.whhT, r.whh, GH, H)
		r.whh, r.ldw, r.transW = r.whhT, GH, false
	}
	bih, bhh := dataOrNil(w.BiasIH), dataOrNil(w.BiasHH)
	r.bhh = bhh
	// The biases that add straight into the pre-activations (a GRU keeps
	// b_hh apart for its n gate) are added step by step while the rows are
	// in cache.
	if bih != nil || (bhh != nil && r.kind != kindGRU) {
		r.bias = r.getBuf(GH)
		clear(r.bias)
		if bih != nil {
			copy(r.bias, bih)
		}
		if bhh != nil && r.kind != kindGRU {
			kernel.Axpy(1, bhh, r.bias)
		}
	}
	r.gates = r.getBuf(T * B * GH)
	if save {
		r.hprev = r.getBuf(T * B * H)
		if r.kind == kindLSTM {
			r.cprev = r.getBuf(T * B * H)
			r.tanhc = r.getBuf(T * B * H)
		}
		if r.kind == kindGRU {
			r.hn = r.getBuf(T * B * H)
		}
	}
	r.scratch = r.getBuf(B * GH)
	if r.kind == kindGRU {
		r.hp = r.getBuf(B * GH)
	}
	if r.kind == kindLSTM && !save {
		r.tc = r.getBuf(B * H)
	}
}

// project computes the input projection x·W_ihᵀ of the processing steps
// [s0, s1) into the gates, as one matrix product; x is the whole input
// [T, B, I]. Every step must be projected before it is run.
func (r *recurrence) project(x []float32, s0, s1 int) {
	r.projectCols(x, s0, s1, 0, r.G*r.H)
}

// projectCols computes the columns [j0, j1) of the input projection of
// the processing steps [s0, s1). Every element is computed as by a whole
// projection, so splitting one by columns changes no result.
func (r *recurrence) projectCols(x []float32, s0, s1, j0, j1 int) {
	if s0 >= s1 || j0 >= j1 {
		return
	}
	B, I, GH := r.B, r.I, r.G*r.H
	t0, t1 := s0, s1
	if r.reverse {
		t0, t1 = r.T-s1, r.T-s0
	}
	rows := (t1 - t0) * B
	kernel.Gemm(false, true, rows, j1-j0, I, 1, x[t0*B*I:], I, r.wih[j0*I:], I, 0, r.gates[t0*B*GH+j0:t1*B*GH], GH)
}

// step runs processing step s: the recurrent product and the cell.
func (r *recurrence) step(s int) {
	B, H := r.B, r.H
	GH := r.G * H
	t := r.timeAt(s)
	h, c := r.h, r.c
	gt := r.gates[t*B*GH : (t+1)*B*GH]
	ot := r.out[t*B*H : (t+1)*B*H]
	if r.bias != nil {
		for b := 0; b < B; b++ {
			kernel.Axpy(1, r.bias, gt[b*GH:(b+1)*GH])
		}
	}
	if r.save {
		copy(r.hprev[t*B*H:], h)
		if c != nil {
			copy(r.cprev[t*B*H:], c)
		}
	}
	switch r.kind {
	case kindLSTM:
		recurrentProduct(B, GH, H, h, r.whh, r.ldw, r.transW, 1, gt)
		tc := r.tc
		if r.save {
			tc = r.tanhc[t*B*H : (t+1)*B*H]
		}
		r.lstmStep(gt, h, c, ot, tc, r.scratch, t)
	case kindGRU:
		hp := r.hp
		if r.bhh != nil {
			for b := 0; b < B; b++ {
				copy(hp[b*GH:(b+1)*GH], r.bhh)
			}
			recurrentProduct(B, GH, H, h, r.whh, r.ldw, r.transW, 1, hp)
		} else {
			recurrentProduct(B, GH, H, h, r.whh, r.ldw, r.transW, 0, hp)
		}
		var hn []float32
		if r.save {
			hn = r.hn[t*B*H : (t+1)*B*H]
		}
		r.gruStep(gt, hp, h, ot, hn, r.scratch, t)
	default:
		recurrentProduct(B, GH, H, h, r.whh, r.ldw, r.transW, 1, gt)
		r.rnnStep(gt, h, ot, r.scratch, t)
	}
}

// end gives back the forward run's scratch buffers (and, when nothing is
// saved, the gates).
func (r *recurrence) end() {
	for _, b := range [][]float32{r.scratch, r.hp, r.whhT, r.bias, r.tc} {
		r.putBuf(b)
	}
	r.scratch, r.hp, r.whhT, r.bias, r.tc = nil, nil, nil, nil, nil
	if !r.save {
		r.putBuf(r.gates)
		r.gates = nil
	}
}

// lstmStep activates the gates g [B, 4H] in place and advances h and c for
// the sequences still running at time t, writing the outputs ot and
// tanh(c') into tc.
func (r *recurrence) lstmStep(g, h, c, ot, tc, scratch []float32, t int) {
	B, H := r.B, r.H
	GH := 4 * H
	// One exponential pass over all gates: tanh needs exp(−2|v|).
	for b := 0; b < B; b++ {
		row, e := g[b*GH:(b+1)*GH], scratch[b*GH:(b+1)*GH]
		negScale(e[:2*H], row[:2*H], 1)
		negScale(e[2*H:3*H], row[2*H:3*H], 2)
		negScale(e[3*H:], row[3*H:], 1)
	}
	kernel.Exp(scratch, scratch)
	for b := 0; b < B; b++ {
		cb, ob := c[b*H:(b+1)*H], ot[b*H:(b+1)*H]
		if !r.valid(b, t) {
			clear(ob)
			continue
		}
		row, e := g[b*GH:(b+1)*GH], scratch[b*GH:(b+1)*GH]
		sigmoidFromExp(row[:2*H], e[:2*H])
		tanhFromExp(row[2*H:3*H], e[2*H:3*H])
		sigmoidFromExp(row[3*H:], e[3*H:])
		ig, fg, gg := row[:H], row[H:2*H], row[2*H:3*H]
		for j := range cb {
			cb[j] = fg[j]*cb[j] + ig[j]*gg[j]
		}
	}
	// tanh(c') for every running sequence in one more pass.
	for b := 0; b < B; b++ {
		if r.valid(b, t) {
			negScale(scratch[b*H:(b+1)*H], c[b*H:(b+1)*H], 2)
		}
	}
	kernel.Exp(scratch[:B*H], scratch[:B*H])
	for b := 0; b < B; b++ {
		if !r.valid(b, t) {
			continue
		}
		hb, ob, tb := h[b*H:(b+1)*H], ot[b*H:(b+1)*H], tc[b*H:(b+1)*H]
		tanhFromExp(tb, scratch[b*H:(b+1)*H])
		og := g[b*GH+3*H : (b+1)*GH]
		for j := range hb {
			hb[j] = og[j] * tb[j]
		}
		copy(ob, hb)
	}
}

// gruStep computes the GRU gates from the input part g [B, 3H] and the
// recurrent part hp [B, 3H] (bias included), storing r, z, n in g and
// W_hn h + b_hn in hn (when not nil), and advances h.
func (r *recurrence) gruStep(g, hp, h, ot, hn, scratch []float32, t int) {
	B, H := r.B, r.H
	GH := 3 * H
	for b := 0; b < B; b++ {
		hb, ob := h[b*H:(b+1)*H], ot[b*H:(b+1)*H]
		if !r.valid(b, t) {
			clear(ob)
			continue
		}
		row, hrow := g[b*GH:(b+1)*GH], hp[b*GH:(b+1)*GH]
		kernel.Axpy(1, hrow[:2*H], row[:2*H])
		sigmoidInPlace(row[:2*H], scratch)
		rg, zg, ng := row[:H], row[H:2*H], row[2*H:]
		hnb := hrow[2*H:]
		if hn != nil {
			copy(hn[b*H:(b+1)*H], hnb)
		}
		for j := range ng {
			ng[j] += rg[j] * hnb[j]
		}
		tanhInPlace(ng, scratch)
		for j := range hb {
			hb[j] = ng[j] + zg[j]*(hb[j]-ng[j])
		}
		copy(ob, hb)
	}
}

// rnnStep applies the nonlinearity to the pre-activations g [B, H] in place
// and advances h.
func (r *recurrence) rnnStep(g, h, ot, scratch []float32, t int) {
	B, H := r.B, r.H
	for b := 0; b < B; b++ {
		hb, ob := h[b*H:(b+1)*H], ot[b*H:(b+1)*H]
		if !r.valid(b, t) {
			clear(ob)
			continue
		}
		row := g[b*H : (b+1)*H]
		if r.relu {
			for j, v := range row {
				row[j] = max(v, 0)
			}
		} else {
			tanhInPlace(row, scratch)
		}
		copy(hb, row)
		copy(ob, row)
	}
}

// backward maps the gradient of the packed output (outputs, final h, final
// c) to the gradients of the op's inputs, in the order recurrent recorded
// them: x, weight_ih, weight_hh, then the present ones of bias_ih,
// bias_hh, h0, c0, appended to grads.
func (r *recurrence) backward(g []float32, x, h0, c0 *Var, w RecurrentWeights, grads []*tensor.Tensor) []*tensor.Tensor {
	T, B, I, H := r.T, r.B, r.I, r.H
	var gc []float32
	if r.kind == kindLSTM {
		gc = g[(T+1)*B*H : (T+2)*B*H]
	}
	dhT, dcT := r.beginBackward(g[T*B*H:(T+1)*B*H], gc, x, w)
	gOut := g[:T*B*H]
	for s := T - 1; s >= 0; s-- {
		r.stepBackward(s, gOut)
	}
	var gx *tensor.Tensor
	if x.requiresGrad {
		gx = gradBuf([]int{T, B, I}, x)
		r.inputGrad(gx.Data(), 0, T)
	}
	grads = append(grads, gx)
	grads = r.weightGrads(grads, x.value.Data(), x, w)
	if h0 != nil {
		grads = append(grads, dhT)
	}
	if c0 != nil {
		grads = append(grads, dcT)
	}
	r.release()
	return grads
}

// beginBackward prepares a backward run from the gradients of the final
// states gh and gc (nil when not an LSTM) and returns the tensors that
// end as the gradients of h0 and c0, drawn from x's arena.
func (r *recurrence) beginBackward(gh, gc []float32, x *Var, w RecurrentWeights) (dhT, dcT *tensor.Tensor) {
	T, B, H := r.T, r.B, r.H
	GH := r.G * H
	r.whh, r.wih = w.HH.value.Data(), w.IH.value.Data()
	dhT = gradBuf([]int{B, H}, x)
	r.dh = dhT.Data()
	copy(r.dh, gh)
	if r.kind == kindLSTM {
		dcT = gradBuf([]int{B, H}, x)
		r.dc = dcT.Data()
		copy(r.dc, gc)
	}
	// dG: gradient of the input pre-activations; dHP: of the recurrent
	// ones (the same except for a GRU's n gate).
	// Rows of padded steps must stay zero.
	r.dG = r.getBuf(T * B * GH)
	clear(r.dG)
	r.dHP = r.dG
	if r.kind == kindGRU {
		r.dHP = r.getBuf(T * B * GH)
		clear(r.dHP)
	}
	return dhT, dcT
}

// stepBackward runs processing step s backwards, taking the gradient of
// the step's outputs from gOut [T, B, H] (indexed by time): it fills the
// step's rows of dG and dHP and carries dh and dc to the step before.
func (r *recurrence) stepBackward(s int, gOut []float32) {
	B, H := r.B, r.H
	GH := r.G * H
	dh, dc := r.dh, r.dc
	whh := r.whh
	t := r.timeAt(s)
	gt := r.gates[t*B*GH : (t+1)*B*GH]
	dgt := r.dG[t*B*GH : (t+1)*B*GH]
	dhpt := r.dHP[t*B*GH : (t+1)*B*GH]
	active := false
	for b := 0; b < B; b++ {
		if !r.valid(b, t) {
			continue // padding: the state gradient passes through
		}
		active = true
		dhb := dh[b*H : (b+1)*H]
		kernel.Axpy(1, gOut[t*B*H+b*H:t*B*H+(b+1)*H], dhb)
		row, drow := gt[b*GH:(b+1)*GH], dgt[b*GH:(b+1)*GH]
		switch r.kind {
		case kindLSTM:
			ig, fg, gg, og := row[:H], row[H:2*H], row[2*H:3*H], row[3*H:]
			tc := r.tanhc[t*B*H+b*H : t*B*H+(b+1)*H]
			cp := r.cprev[t*B*H+b*H : t*B*H+(b+1)*H]
			dcb := dc[b*H : (b+1)*H]
			di, df, dgg, do := drow[:H], drow[H:2*H], drow[2*H:3*H], drow[3*H:]
			for j := range dhb {
				dcj := dcb[j] + dhb[j]*og[j]*(1-tc[j]*tc[j])
				do[j] = dhb[j] * tc[j] * og[j] * (1 - og[j])
				di[j] = dcj * gg[j] * ig[j] * (1 - ig[j])
				dgg[j] = dcj * ig[j] * (1 - gg[j]*gg[j])
				df[j] = dcj * cp[j] * fg[j] * (1 - fg[j])
				dcb[j] = dcj * fg[j]
				dhb[j] = 0
			}
		case kindGRU:
			rg, zg, ng := row[:H], row[H:2*H], row[2*H:]
			hn := r.hn[t*B*H+b*H : t*B*H+(b+1)*H]
			hp := r.hprev[t*B*H+b*H : t*B*H+(b+1)*H]
			dhrow := dhpt[b*GH : (b+1)*GH]
			for j := range dhb {
				d := dhb[j]
				dnp := d * (1 - zg[j]) * (1 - ng[j]*ng[j])
				drp := dnp * hn[j] * rg[j] * (1 - rg[j])
				dzp := d * (hp[j] - ng[j]) * zg[j] * (1 - zg[j])
				drow[j], drow[H+j], drow[2*H+j] = drp, dzp, dnp
				dhrow[j], dhrow[H+j], dhrow[2*H+j] = drp, dzp, dnp*rg[j]
				dhb[j] = d * zg[j]
			}
		default:
			for j, y := range row {
				if r.relu {
					if y > 0 {
						drow[j] = dhb[j]
					}
				} else {
					drow[j] = dhb[j] * (1 - y*y)
				}
				dhb[j] = 0
			}
		}
	}
	if active {
		// The recurrent product: one GEMM per step.
		kernel.Gemm(false, false, B, H, GH, 1, dhpt, GH, whh, H, 1, dh, H)
	}
}

// inputGrad writes the gradient of the input dG·W_ih for the processing
// steps [s0, s1) into their rows of gx [T, B, I].
func (r *recurrence) inputGrad(gx []float32, s0, s1 int) {
	r.inputGradCols(gx, s0, s1, 0, r.I)
}

// inputGradCols computes the columns [j0, j1) of inputGrad; like
// projectCols, it changes no result.
func (r *recurrence) inputGradCols(gx []float32, s0, s1, j0, j1 int) {
	if s0 >= s1 || j0 >= j1 {
		return
	}
	B, I, GH := r.B, r.I, r.G*r.H
	t0, t1 := s0, s1
	if r.reverse {
		t0, t1 = r.T-s1, r.T-s0
	}
	kernel.Gemm(false, false, (t1-t0)*B, j1-j0, GH, 1, r.dG[t0*B*GH:], GH, r.wih[j0:], I, 0, gx[t0*B*I+j0:t1*B*I], I)
}

// weightGrads appends the gradients of weight_ih, weight_hh and the
// present biases to grads, given the layer's input x [T, B, I] (xv
// supplies the arena).
func (r *recurrence) weightGrads(grads []*tensor.Tensor, x []float32, xv *Var, w RecurrentWeights) []*tensor.Tensor {
	r.weightDests(xv, w)
	r.computeWeightGrads(x)
	return r.appendWeightGrads(grads, w)
}

// paramGrad is where the gradient of one weight goes: it must set
// d = gradient + beta·d; t is the tensor to return to the engine, nil when
// d is the weight's own gradient.
type paramGrad struct {
	d    []float32
	beta float32
	t    *tensor.Tensor
}

// weightDest returns where the gradient of w goes: into its own gradient
// when w is a parameter (nothing returned; beta 0 when ZeroGrad left the
// buffer stale and nothing has touched it since, so that it is overwritten
// without being read or cleared first, as Linear's weight gradient is, and
// 1 otherwise), into a buffer from x's arena (beta 0, returned) otherwise,
// nowhere (d nil) when w needs none. The caller must then write the whole
// gradient, which computeWeightGrads does.
func weightDest(w, x *Var) paramGrad {
	if w == nil || !w.requiresGrad {
		return paramGrad{}
	}
	if lg, beta := leafGradOverwrite(w); lg != nil {
		return paramGrad{d: lg.Data(), beta: beta}
	}
	t := gradBuf(w.value.Shape(), x)
	return paramGrad{d: t.Data(), t: t}
}

// weightDests sets where the gradients of weight_ih, weight_hh, bias_ih
// and bias_hh go, taking any buffers from xv's arena.
func (r *recurrence) weightDests(xv *Var, w RecurrentWeights) {
	for i, v := range []*Var{w.IH, w.HH, w.BiasIH, w.BiasHH} {
		r.pg[i] = weightDest(v, xv)
	}
}

// computeWeightGrads fills the destinations set by weightDests, given the
// layer's input x [T, B, I]. The weight gradients are products over all
// steps.
func (r *recurrence) computeWeightGrads(x []float32) {
	T, B, I, H := r.T, r.B, r.I, r.H
	GH := r.G * H
	if g := r.pg[0]; g.d != nil {
		kernel.Gemm(true, false, GH, I, T*B, 1, r.dG, GH, x, I, g.beta, g.d, I)
	}
	if g := r.pg[1]; g.d != nil {
		kernel.Gemm(true, false, GH, H, T*B, 1, r.dHP, GH, r.hprev, H, g.beta, g.d, H)
	}
	for i, m := range [][]float32{r.dG, r.dHP} {
		if g := r.pg[2+i]; g.d != nil {
			if g.beta == 0 {
				clear(g.d)
			}
			colSumAcc(g.d, m, T*B, GH)
		}
	}
}

// appendWeightGrads appends the gradients of weight_ih, weight_hh and the
// present biases, as the engine takes them, to grads.
func (r *recurrence) appendWeightGrads(grads []*tensor.Tensor, w RecurrentWeights) []*tensor.Tensor {
	grads = append(grads, r.pg[0].t, r.pg[1].t)
	if w.BiasIH != nil {
		grads = append(grads, r.pg[2].t)
	}
	if w.BiasHH != nil {
		grads = append(grads, r.pg[3].t)
	}
	r.pg = [4]paramGrad{}
	return grads
}

// release gives the saved buffers back: backward runs once.
func (r *recurrence) release() {
	if r.dHP != nil && &r.dHP[0] != &r.dG[0] {
		r.putBuf(r.dHP)
	}
	for _, b := range [][]float32{r.dG, r.gates, r.hprev, r.cprev, r.tanhc, r.hn} {
		r.putBuf(b)
	}
	r.gates, r.hprev, r.cprev, r.tanhc, r.hn = nil, nil, nil, nil, nil
	r.dG, r.dHP, r.dh, r.dc = nil, nil, nil, nil
}
