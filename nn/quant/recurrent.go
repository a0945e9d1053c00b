package quant

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// cell holds one recurrent layer and direction: the int8 input product
// x·W_ihᵀ + b_ih and recurrent product h·W_hhᵀ + b_hh, with G gates of
// hidden units each packed along the outputs (4 for an LSTM: i, f, g, o;
// 3 for a GRU: r, z, n), as in PyTorch.
type cell struct{ ih, hh *linear }

// quantCell quantises the float parameters p, each gate row with its own
// scale; the biases are copied and stay float32.
func quantCell(p nn.RecurrentParams) cell {
	return cell{
		ih: quantLinear(p.WeightIH.Value(), cloneOrNil(p.BiasIH)),
		hh: quantLinear(p.WeightHH.Value(), cloneOrNil(p.BiasHH)),
	}
}

// emptyCell makes a cell of zeros for a model file to fill.
func emptyCell(gates, in, hidden int, noBias bool) cell {
	return cell{ih: emptyLinear([]int{gates * hidden, in}, noBias), hh: emptyLinear([]int{gates * hidden, hidden}, noBias)}
}

// nameCell gives c's buffers PyTorch's names: prefix + "weight_ih" +
// suffix, its "_scale", "bias_ih" + suffix, and the same for hh.
func (c cell) nameCell(prefix, suffix string) {
	name(c.ih, prefix+"weight_ih"+suffix, prefix+"bias_ih"+suffix)
	name(c.hh, prefix+"weight_hh"+suffix, prefix+"bias_hh"+suffix)
}

func (c cell) buffers() []*nn.Param { return append(c.ih.buffers(), c.hh.buffers()...) }

func (c cell) pack() {
	c.ih.pack()
	c.hh.pack()
}

// seqLayout places step s of sequence r in a buffer of b sequences of t
// steps: time-major ([T, B, ·]) or batch-first ([B, T, ·]).
type seqLayout struct {
	b, t       int
	batchFirst bool
}

func (l seqLayout) row(r, s int) int {
	if l.batchFirst {
		return r*l.t + s
	}
	return s*l.b + r
}

// run runs the cell over the sequences x (rows of the input's features,
// placed by lay), carrying the states hs and, for an LSTM, cs [B, H]
// (updated in place) through the steps, and writes step s of sequence r
// to out[lay.row(r, s)·ldo + off:][:H]. lengths (nil: all t) gives each
// sequence's length: the steps after it are padding, whose outputs are
// zero and which change no state, and reverse runs each sequence from its
// own last step. xp [rows, G·H] and hp [B, G·H] receive the products.
//
// The input product of every step is one int8 product; each step then
// quantises the hidden state per row like any activation for the
// recurrent one. Gates and the cell state are float32.
func (c cell) run(gates int, x []float32, lay seqLayout, lengths []int, reverse bool, hs, cs, xp, hp, out []float32, ldo, off int) {
	b, t := lay.b, lay.t
	h := c.hh.in
	g := gates * h
	c.ih.forward(x, b*t, xp) // x·W_ihᵀ + b_ih for every step at once
	length := func(r int) int {
		if lengths == nil {
			return t
		}
		return lengths[r]
	}
	for r := range b {
		for s := length(r); s < t; s++ {
			clear(out[lay.row(r, s)*ldo+off:][:h])
		}
	}
	// The gates take their exponentials from vector calls (kernel.Exp)
	// over a row, as the float layers do: with e = exp(−v), sigmoid(v) =
	// 1/(1+e), and with e = exp(−2v), tanh(v) = 2/(1+e) − 1 (an
	// exponential that overflows to +Inf gives the limits 0 and −1).
	e := make([]float32, g+h)
	for k := range t {
		c.hh.forward(hs, b, hp) // h·W_hhᵀ + b_hh
		for r := range b {
			n := length(r)
			if k >= n {
				continue
			}
			s := k
			if reverse {
				s = n - 1 - k
			}
			row := lay.row(r, s)
			gx := xp[row*g : (row+1)*g]
			gh := hp[r*g : (r+1)*g]
			hr := hs[r*h : (r+1)*h]
			o := out[row*ldo+off:][:h]
			if gates == 4 {
				lstmGates(gx, gh, hr, cs[r*h:(r+1)*h], o, e)
			} else {
				gruGates(gx, gh, hr, o, e)
			}
		}
	}
}

// lstmGates advances one sequence's LSTM state h, c [H] from the gate
// pre-activations gx + gh [4H] (i, f, g, o) and writes h to o; e [5H] is
// scratch.
func lstmGates(gx, gh, hr, cr, o, e []float32) {
	h := len(hr)
	ex, et := e[:4*h], e[4*h:5*h]
	gx, gh = gx[:4*h], gh[:4*h]
	for j := range ex {
		ex[j] = -(gx[j] + gh[j])
	}
	for j := 2 * h; j < 3*h; j++ {
		ex[j] *= 2 // tanh for the cell gate
	}
	kernel.Exp(ex, ex)
	cr = cr[:h]
	for j := range cr {
		i := 1 / (1 + ex[j])
		f := 1 / (1 + ex[h+j])
		gg := 2/(1+ex[2*h+j]) - 1
		cv := f*cr[j] + i*gg
		cr[j] = cv
		et[j] = -2 * cv
	}
	kernel.Exp(et, et)
	o = o[:h]
	for j := range o {
		og := 1 / (1 + ex[3*h+j])
		hr[j] = og * (2/(1+et[j]) - 1)
		o[j] = hr[j]
	}
}

// gruGates advances one sequence's GRU state h [H] from the gate parts
// gx and gh [3H] (r, z, n; gh holds W_hn h + b_hn for n) and writes h to
// o; e [4H] is scratch.
func gruGates(gx, gh, hr, o, e []float32) {
	h := len(hr)
	ex, en := e[:2*h], e[2*h:3*h]
	gx, gh = gx[:3*h], gh[:3*h]
	for j := range ex {
		ex[j] = -(gx[j] + gh[j])
	}
	kernel.Exp(ex, ex)
	for j := range en {
		rg := 1 / (1 + ex[j])
		en[j] = -2 * (gx[2*h+j] + rg*gh[2*h+j])
	}
	kernel.Exp(en, en)
	o = o[:h]
	for j := range o {
		z := 1 / (1 + ex[h+j])
		nv := 2/(1+en[j]) - 1
		hr[j] = (1-z)*nv + z*hr[j]
		o[j] = hr[j]
	}
}

// recurrent is the stack of layers and directions shared by LSTM and GRU.
type recurrent struct {
	gates int // 4: LSTM, 3: GRU
	cfg   nn.RecurrentConfig
	cells []cell // PyTorch's order: layer 0, layer 0 reverse, layer 1, ...
}

func (q *recurrent) dirs() int {
	if q.cfg.Bidirectional {
		return 2
	}
	return 1
}

func (q *recurrent) layers() int { return max(q.cfg.Layers, 1) }

// newRecurrent quantises the float stack described by c with the
// parameters ws, or makes an empty one (ws nil) for a model file to fill.
func newRecurrent(gates int, c nn.RecurrentConfig, ws []nn.RecurrentParams) recurrent {
	q := recurrent{gates: gates, cfg: c}
	dirs := q.dirs()
	for l := range q.layers() {
		in := c.Input
		if l > 0 {
			in = dirs * c.Hidden
		}
		for d := range dirs {
			k := l*dirs + d
			var ce cell
			if ws != nil {
				ce = quantCell(ws[k])
			} else {
				ce = emptyCell(gates, in, c.Hidden, c.NoBias)
			}
			suffix := fmt.Sprintf("_l%d", l)
			if d == 1 {
				suffix += "_reverse"
			}
			ce.nameCell("", suffix)
			q.cells = append(q.cells, ce)
		}
	}
	return q
}

// forward runs x through the stack from the states h0 and c0 (nil:
// zeros; c0 only for an LSTM) and returns the output sequence and the
// final states, each taken from x's arena when it has one.
func (q *recurrent) forward(op string, x, h0, c0 *autograd.Var, lengths []int) (out, hN, cN *autograd.Var) {
	rejectTaped(op, x)
	xs := x.Shape()
	in, hid := q.cfg.Input, q.cfg.Hidden
	if len(xs) != 3 || xs[2] != in {
		layout := "[T, B, %d]"
		if q.cfg.BatchFirst {
			layout = "[B, T, %d]"
		}
		panic(fmt.Sprintf("%s: input has shape %v, want "+layout, op, xs, in))
	}
	t, b := xs[0], xs[1]
	if q.cfg.BatchFirst {
		t, b = b, t
	}
	dirs, nst := q.dirs(), len(q.cells)
	for i, st := range []*autograd.Var{h0, c0} {
		if st == nil {
			continue
		}
		rejectTaped(op, st)
		if s := st.Shape(); len(s) != 3 || s[0] != nst || s[1] != b || s[2] != hid {
			panic(fmt.Sprintf("%s: initial state %s has shape %v, want [%d, %d, %d]", op, [...]string{"H", "C"}[i], s, nst, b, hid))
		}
	}
	if lengths != nil {
		if len(lengths) != b {
			panic(fmt.Sprintf("%s: %d lengths for a batch of %d", op, len(lengths), b))
		}
		for r, n := range lengths {
			if n < 0 || n > t {
				panic(fmt.Sprintf("%s: length %d of sequence %d outside [0, %d]", op, n, r, t))
			}
		}
	}
	lay := seqLayout{b: b, t: t, batchFirst: q.cfg.BatchFirst}
	state := func(init *autograd.Var) *tensor.Tensor {
		s := autograd.Output(x, nst, b, hid)
		if init != nil {
			copy(s.Data(), init.Value().Data())
		} else {
			clear(s.Data())
		}
		return s
	}
	hT := state(h0)
	var cT *tensor.Tensor
	if q.gates == 4 {
		cT = state(c0)
	}
	g := q.gates * hid
	xp := autograd.Output(x, b*t*g).Data()
	hp := autograd.Output(x, b*g).Data()
	seq := x.Value().Data()
	var y *tensor.Tensor
	for l := range q.layers() {
		if l == q.layers()-1 {
			y = autograd.Output(x, xs[0], xs[1], dirs*hid)
		} else {
			y = autograd.Output(x, b*t*dirs*hid)
		}
		for d := range dirs {
			k := l*dirs + d
			hs := hT.Data()[k*b*hid : (k+1)*b*hid]
			var cs []float32
			if cT != nil {
				cs = cT.Data()[k*b*hid : (k+1)*b*hid]
			}
			q.cells[k].run(q.gates, seq, lay, lengths, d == 1, hs, cs, xp, hp, y.Data(), dirs*hid, d*hid)
		}
		seq = y.Data()
	}
	out = autograd.Result(y, x)
	hN = autograd.Result(hT, x)
	if cT != nil {
		cN = autograd.Result(cT, x)
	}
	return out, hN, cN
}

func (q *recurrent) buffers() []*nn.Param {
	var ps []*nn.Param
	for _, c := range q.cells {
		ps = append(ps, c.buffers()...)
	}
	return ps
}

func (q *recurrent) pack() {
	for _, c := range q.cells {
		c.pack()
	}
}

func (q *recurrent) describe(kind string) string {
	s := fmt.Sprintf("%s(%d → %d", kind, q.cfg.Input, q.cfg.Hidden)
	if q.layers() > 1 {
		s += fmt.Sprintf(", layers=%d", q.layers())
	}
	if q.cfg.Bidirectional {
		s += ", bidirectional"
	}
	if q.cfg.BatchFirst {
		s += ", batch first"
	}
	if q.cfg.NoBias {
		s += ", no bias"
	}
	return s + ", int8)"
}

// LSTM is the int8 counterpart of nn.LSTM, made by Quantize or NewLSTM:
// every layer's and direction's weight_ih [4H, in] and weight_hh [4H, H]
// are int8 with one scale per gate row, and run on the int8 kernels (the
// input product of every step as one product, then per step the product
// of the hidden state, quantised per row like any activation). The biases,
// the gates (sigmoid, tanh) and the cell state stay float32. It takes the
// float layer's inputs, options (layers, bidirectional, batch-first) and
// API, and its buffers carry the float layer's names (weight_ih_l0,
// weight_ih_l0_scale, bias_ih_l0, ..., _reverse), so a model keeps
// working with the layer swapped.
//
// On inputs and states of unit scale its outputs and final states are
// within 0.03 of the float layer's (measured: under 0.008 over up to 7
// steps and 3 layers; TestRecurrentMatchesFloat). Like the other layers of this package
// it is inference only: Forward panics on an input that requires a
// gradient, and dropout between layers never applies.
type LSTM struct{ r recurrent }

// NewLSTM quantises the float layer l. l is not changed.
func NewLSTM(l *nn.LSTM) *LSTM {
	if len(l.Weights) == 0 {
		panic("quant.NewLSTM: the nn.LSTM is not built (use nn.NewLSTM)")
	}
	_, c := l.LayerConfig()
	return &LSTM{newRecurrent(4, c.(nn.RecurrentConfig), l.Weights)}
}

// Forward returns the output sequence for x from a zero initial state.
func (l *LSTM) Forward(x *autograd.Var) *autograd.Var {
	out, _, _ := l.r.forward("quant.LSTM.Forward", x, nil, nil, nil)
	return out
}

// ForwardWith runs x from the initial state init (zero value: zeros; H and
// C are [layers·directions, B, hidden], either may be nil) and returns the
// output sequence and the final state, as nn.LSTM.ForwardWith does,
// lengths included.
func (l *LSTM) ForwardWith(x *autograd.Var, init nn.LSTMState, lengths []int) (*autograd.Var, nn.LSTMState) {
	out, h, c := l.r.forward("quant.LSTM.ForwardWith", x, init.H, init.C, lengths)
	return out, nn.LSTMState{H: h, C: c}
}

// Params returns nothing: a quantised layer is not trainable.
func (l *LSTM) Params() []*nn.Param { return nil }

// Buffers returns each layer's and direction's int8 weights, their scales
// and the biases, in PyTorch's order.
func (l *LSTM) Buffers() []*nn.Param { return l.r.buffers() }

// StateLoaded rebuilds the packed int8 weights after a load.
func (l *LSTM) StateLoaded() { l.r.pack() }

// String describes the layer, like "quant.LSTM(8 → 16, layers=2, int8)".
func (l *LSTM) String() string { return l.r.describe("quant.LSTM") }

// LayerConfig returns "quant.LSTM" and the float layer's
// nn.RecurrentConfig.
func (l *LSTM) LayerConfig() (string, any) { return KindLSTM, l.r.cfg }

// GRU is the int8 counterpart of nn.GRU, made by Quantize or NewGRU, in
// the same way as LSTM: int8 weight_ih [3H, in] and weight_hh [3H, H]
// with one scale per gate row (r, z, n), float32 biases and gates, the
// reset gate applied to W_hn h + b_hn as PyTorch does, and the float
// layer's inputs, options, API and buffer names.
type GRU struct{ r recurrent }

// NewGRU quantises the float layer g. g is not changed.
func NewGRU(g *nn.GRU) *GRU {
	if len(g.Weights) == 0 {
		panic("quant.NewGRU: the nn.GRU is not built (use nn.NewGRU)")
	}
	_, c := g.LayerConfig()
	return &GRU{newRecurrent(3, c.(nn.RecurrentConfig), g.Weights)}
}

// Forward returns the output sequence for x from a zero initial state.
func (g *GRU) Forward(x *autograd.Var) *autograd.Var {
	out, _, _ := g.r.forward("quant.GRU.Forward", x, nil, nil, nil)
	return out
}

// ForwardWith runs x from the initial state init (zero value: zeros; H is
// [layers·directions, B, hidden]) and returns the output sequence and the
// final state, as nn.GRU.ForwardWith does, lengths included.
func (g *GRU) ForwardWith(x *autograd.Var, init nn.RNNState, lengths []int) (*autograd.Var, nn.RNNState) {
	out, h, _ := g.r.forward("quant.GRU.ForwardWith", x, init.H, nil, lengths)
	return out, nn.RNNState{H: h}
}

// Params returns nothing: a quantised layer is not trainable.
func (g *GRU) Params() []*nn.Param { return nil }

// Buffers returns each layer's and direction's int8 weights, their scales
// and the biases, in PyTorch's order.
func (g *GRU) Buffers() []*nn.Param { return g.r.buffers() }

// StateLoaded rebuilds the packed int8 weights after a load.
func (g *GRU) StateLoaded() { g.r.pack() }

// String describes the layer, like "quant.GRU(8 → 16, bidirectional, int8)".
func (g *GRU) String() string { return g.r.describe("quant.GRU") }

// LayerConfig returns "quant.GRU" and the float layer's
// nn.RecurrentConfig.
func (g *GRU) LayerConfig() (string, any) { return KindGRU, g.r.cfg }

// recurrentConfig decodes and checks a quant.LSTM or quant.GRU
// configuration and returns the values it holds with gates gates per unit:
// weights, one scale per gate row and the biases.
func recurrentConfig(raw json.RawMessage, gates int) (nn.RecurrentConfig, int64, error) {
	var c nn.RecurrentConfig
	if err := decodeStrict(raw, &c); err != nil {
		return c, 0, err
	}
	dirs := 1
	if c.Bidirectional {
		dirs = 2
	}
	switch {
	case c.Input < 1 || c.Input > maxIn:
		return c, 0, fmt.Errorf("config: input must be between 1 and %d, got %d", maxIn, c.Input)
	case c.Hidden < 1 || dirs*c.Hidden > maxIn:
		return c, 0, fmt.Errorf("config: hidden·directions must be between 1 and %d (the int32 sums of longer rows could overflow), got %d", maxIn, dirs*c.Hidden)
	case c.Layers < 0 || c.Layers > maxLayers:
		return c, 0, fmt.Errorf("config: layers must be between 0 and %d, got %d", maxLayers, c.Layers)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return c, 0, fmt.Errorf("config: dropout must be in [0, 1), got %v", c.Dropout)
	case c.Nonlinearity != "":
		return c, 0, errors.New("config: nonlinearity applies only to RNN")
	}
	gh := int64(gates) * int64(c.Hidden)
	var n int64
	for l := range max(c.Layers, 1) {
		in := int64(c.Input)
		if l > 0 {
			in = int64(dirs * c.Hidden)
		}
		one := gh*in + gh*int64(c.Hidden) + 2*gh // weights and scales
		if !c.NoBias {
			one += 2 * gh
		}
		n += int64(dirs) * one
	}
	return c, n, nil
}

var (
	_ nn.StateLoader = (*LSTM)(nil)
	_ nn.BufferOwner = (*GRU)(nil)
	_ nn.Configurer  = (*GRU)(nil)
)
