package onnx

import (
	"fmt"
	"strings"

	"github.com/shoshin-ml/shoshin/autograd"
)

// rnnAttrs are the attributes LSTM and GRU share.
type rnnAttrs struct {
	hidden     int
	directions int
	reverse    bool // direction "reverse"
	batchFirst bool // layout 1
}

// readRNN reads the shared attributes, accepting only the default
// activations (what PyTorch exports) and no clipping.
func readRNN(a *attrReader, hasLayout bool, defaults []string) rnnAttrs {
	var r rnnAttrs
	r.hidden = int(a.int("hidden_size", 0))
	if r.hidden <= 0 || r.hidden > 1<<16 {
		a.fail("attribute \"hidden_size\" is %d, want 1 to 65536", r.hidden)
	}
	switch d := a.string("direction", "forward"); d {
	case "forward":
		r.directions = 1
	case "reverse":
		r.directions, r.reverse = 1, true
	case "bidirectional":
		r.directions = 2
	default:
		a.fail("attribute \"direction\" is %q", d)
	}
	if hasLayout {
		r.batchFirst = a.int("layout", 0) == 1
	}
	if acts := a.get("activations", atStrings); acts != nil {
		for i, s := range acts.strings {
			if !strings.EqualFold(string(s), defaults[i%len(defaults)]) {
				a.unsupported("activations", string(s))
			}
		}
	}
	if a.has("activation_alpha") || a.has("activation_beta") {
		a.unsupported("activation_alpha/beta", "set")
	}
	a.get("activation_alpha", atFloats)
	a.get("activation_beta", atFloats)
	if a.has("clip") {
		a.unsupported("clip", a.float("clip", 0))
	}
	return r
}

// reorder regroups the gate blocks of w (packed along axis 0, each hidden
// rows) into the order perm, through autograd so gradients reach w.
func reorder(w *autograd.Var, hidden int, perm []int) *autograd.Var {
	sizes := make([]int, len(perm))
	for i := range sizes {
		sizes[i] = hidden
	}
	parts := autograd.Split(w, 0, sizes...)
	out := make([]*autograd.Var, len(perm))
	for i, p := range perm {
		out[i] = parts[p]
	}
	return autograd.Concat(0, out...)
}

// rnnWeights extracts direction d's weights from ONNX's W [D, G·H, I],
// R [D, G·H, H] and B [D, 2·G·H], in PyTorch's gate order.
func rnnWeights(w, r, b *autograd.Var, d, gates, hidden int, perm []int) autograd.RecurrentWeights {
	pick := func(v *autograd.Var) *autograd.Var {
		s := v.Shape()
		return autograd.Reshape(autograd.Index(v, []int{d}), s[1:]...)
	}
	rw := autograd.RecurrentWeights{
		IH: reorder(pick(w), hidden, perm),
		HH: reorder(pick(r), hidden, perm),
	}
	if b != nil {
		bb := pick(b)
		halves := autograd.Split(bb, 0, gates*hidden, gates*hidden)
		rw.BiasIH = reorder(halves[0], hidden, perm)
		rw.BiasHH = reorder(halves[1], hidden, perm)
	}
	return rw
}

// checkRNN validates the shapes of X, W, R, B and the initial states.
func checkRNN(op string, x, w, r, b *autograd.Var, init []*autograd.Var, at rnnAttrs, gates int) error {
	xs := x.Shape()
	if len(xs) != 3 {
		return fmt.Errorf("%s: X has shape %v, want [T, N, I]", op, xs)
	}
	gh := gates * at.hidden
	if s := w.Shape(); len(s) != 3 || s[0] != at.directions || s[1] != gh || s[2] != xs[2] {
		return fmt.Errorf("%s: W has shape %v, want [%d %d %d]", op, s, at.directions, gh, xs[2])
	}
	if s := r.Shape(); len(s) != 3 || s[0] != at.directions || s[1] != gh || s[2] != at.hidden {
		return fmt.Errorf("%s: R has shape %v, want [%d %d %d]", op, s, at.directions, gh, at.hidden)
	}
	if b != nil {
		if s := b.Shape(); len(s) != 2 || s[0] != at.directions || s[1] != 2*gh {
			return fmt.Errorf("%s: B has shape %v, want [%d %d]", op, s, at.directions, 2*gh)
		}
	}
	for _, v := range init {
		if v == nil {
			continue
		}
		if s := v.Shape(); len(s) != 3 || s[0] != at.directions || s[1] != xs[1] || s[2] != at.hidden {
			return fmt.Errorf("%s: initial state has shape %v, want [%d %d %d]", op, s, at.directions, xs[1], at.hidden)
		}
	}
	return nil
}

// runRNN runs every direction and assembles ONNX's outputs: Y [T, D, N, H]
// and the final states [D, N, H].
func runRNN(op string, ins []value, at rnnAttrs, gates int, perm []int, nStates int,
	step func(x *autograd.Var, init []*autograd.Var, w autograd.RecurrentWeights, opt autograd.RecurrentOptions) (*autograd.Var, []*autograd.Var)) ([]value, error) {
	var vs [3]*autograd.Var
	for i := range 3 {
		if i < 2 || present(ins, i) {
			v, err := float(ins, i)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			vs[i] = v
		}
	}
	x, w, r, b := vs[0], vs[1], vs[2], (*autograd.Var)(nil)
	if present(ins, 3) {
		b = floatOf(ins[3])
	}
	if at.batchFirst {
		x = autograd.Permute(x, 1, 0, 2)
	}
	init := make([]*autograd.Var, nStates)
	for k := range init {
		if present(ins, 5+k) {
			init[k] = floatOf(ins[5+k])
			if at.batchFirst && len(init[k].Shape()) == 3 {
				init[k] = autograd.Permute(init[k], 1, 0, 2)
			}
		}
	}
	if err := checkRNN(op, x, w, r, b, init, at, gates); err != nil {
		return nil, err
	}
	var opt autograd.RecurrentOptions
	if present(ins, 4) {
		lens := intsOf(ins[4])
		if len(lens.data) != x.Shape()[1] {
			return nil, fmt.Errorf("%s: sequence_lens has %d entries for batch %d", op, len(lens.data), x.Shape()[1])
		}
		for _, l := range lens.data {
			if l < 0 || l > int64(x.Shape()[0]) {
				return nil, fmt.Errorf("%s: sequence length %d outside [0, %d]", op, l, x.Shape()[0])
			}
			opt.Lengths = append(opt.Lengths, int(l))
		}
	}
	T, N := x.Shape()[0], x.Shape()[1]
	ys := make([]*autograd.Var, at.directions)
	finals := make([][]*autograd.Var, nStates)
	for d := range at.directions {
		o := opt
		o.Reverse = at.reverse || d == 1
		st := make([]*autograd.Var, nStates)
		for k, v := range init {
			if v != nil {
				st[k] = autograd.Reshape(autograd.Index(v, []int{d}), N, at.hidden)
			}
		}
		y, fin := step(x, st, rnnWeights(w, r, b, d, gates, at.hidden, perm), o)
		ys[d] = autograd.Reshape(y, T, 1, N, at.hidden)
		for k := range fin {
			finals[k] = append(finals[k], autograd.Reshape(fin[k], 1, N, at.hidden))
		}
	}
	y := ys[0]
	if len(ys) > 1 {
		y = autograd.Concat(1, ys...)
	}
	if at.batchFirst {
		y = autograd.Permute(y, 2, 0, 1, 3)
	}
	out := []value{{f: y}}
	for _, f := range finals {
		s := f[0]
		if len(f) > 1 {
			s = autograd.Concat(0, f...)
		}
		if at.batchFirst {
			s = autograd.Permute(s, 1, 0, 2)
		}
		out = append(out, value{f: s})
	}
	return out, nil
}

// newLSTM builds LSTM (layout is an attribute since opset 14). ONNX packs
// gates i, o, f, c; PyTorch (and autograd.LSTM) i, f, g, o.
func newLSTM(hasLayout bool) constructor {
	return func(a *attrReader, n *nodeProto) (op, error) { return lstm(a, n, hasLayout) }
}

func lstm(a *attrReader, n *nodeProto, hasLayout bool) (op, error) {
	at := readRNN(a, hasLayout, []string{"Sigmoid", "Tanh", "Tanh"})
	if f := a.int("input_forget", 0); f != 0 {
		a.unsupported("input_forget", f)
	}
	if err := arity(n, 3, 8); err != nil {
		return nil, err
	}
	if len(n.inputs) > 7 && n.inputs[7] != "" {
		return nil, &unsupportedError{op: "LSTM", attr: "input P (peepholes)"}
	}
	return opFunc(func(ins []value) ([]value, error) {
		return runRNN("LSTM", ins, at, 4, []int{0, 2, 3, 1}, 2,
			func(x *autograd.Var, st []*autograd.Var, w autograd.RecurrentWeights, o autograd.RecurrentOptions) (*autograd.Var, []*autograd.Var) {
				y, h, c := autograd.LSTM(x, st[0], st[1], w, o)
				return y, []*autograd.Var{h, c}
			})
	}), nil
}

// newGRU builds GRU (layout is an attribute since opset 14). ONNX packs
// gates z, r, h; PyTorch r, z, n, with the reset gate applied after the
// recurrent product (linear_before_reset=1, what PyTorch exports; 0 is
// not supported).
func newGRU(hasLayout bool) constructor {
	return func(a *attrReader, n *nodeProto) (op, error) { return gru(a, n, hasLayout) }
}

func gru(a *attrReader, n *nodeProto, hasLayout bool) (op, error) {
	at := readRNN(a, hasLayout, []string{"Sigmoid", "Tanh"})
	if l := a.int("linear_before_reset", 0); l != 1 {
		a.unsupported("linear_before_reset", l)
	}
	if err := arity(n, 3, 6); err != nil {
		return nil, err
	}
	return opFunc(func(ins []value) ([]value, error) {
		return runRNN("GRU", ins, at, 3, []int{1, 0, 2}, 1,
			func(x *autograd.Var, st []*autograd.Var, w autograd.RecurrentWeights, o autograd.RecurrentOptions) (*autograd.Var, []*autograd.Var) {
				y, h := autograd.GRU(x, st[0], w, o)
				return y, []*autograd.Var{h}
			})
	}), nil
}
