package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

// recurrentCase describes one configuration of a fused recurrent op.
type recurrentCase struct {
	kind    recurrentKind
	relu    bool
	reverse bool
	lengths []int
	state   bool // pass h0 (and c0)
	noBias  bool
}

func (c recurrentCase) String() string {
	s := kindNames[c.kind]
	if c.relu {
		s += "-relu"
	}
	if c.reverse {
		s += "-reverse"
	}
	if c.lengths != nil {
		s += fmt.Sprintf("-len%v", c.lengths)
	}
	if c.state {
		s += "-state"
	}
	if c.noBias {
		s += "-nobias"
	}
	return s
}

// inputs returns x, weight_ih, weight_hh, then the optional bias_ih,
// bias_hh, h0 and c0.
func (c recurrentCase) inputs(seed uint64, T, B, I, H int) []*tensor.Tensor {
	G := kindGates[c.kind]
	ts := []*tensor.Tensor{rnd(seed, -1, 1, T, B, I), rnd(seed+1, -0.6, 0.6, G*H, I), rnd(seed+2, -0.6, 0.6, G*H, H)}
	if !c.noBias {
		ts = append(ts, rnd(seed+3, -0.5, 0.5, G*H), rnd(seed+4, -0.5, 0.5, G*H))
	}
	if c.state {
		ts = append(ts, rnd(seed+5, -1, 1, B, H))
		if c.kind == kindLSTM {
			ts = append(ts, rnd(seed+6, -1, 1, B, H))
		}
	}
	return ts
}

// run applies the op to vars laid out as inputs returns them and packs every
// result into one Var (outputs, final h, final c) for checking.
func (c recurrentCase) run(xs ...*Var) []*Var {
	w := RecurrentWeights{IH: xs[1], HH: xs[2]}
	k := 3
	if !c.noBias {
		w.BiasIH, w.BiasHH = xs[3], xs[4]
		k = 5
	}
	var h0, c0 *Var
	if c.state {
		h0 = xs[k]
		if c.kind == kindLSTM {
			c0 = xs[k+1]
		}
	}
	opt := RecurrentOptions{Lengths: c.lengths, Reverse: c.reverse, ReLU: c.relu}
	switch c.kind {
	case kindLSTM:
		o, h, cc := LSTM(xs[0], h0, c0, w, opt)
		return []*Var{o, h, cc}
	case kindGRU:
		o, h := GRU(xs[0], h0, w, opt)
		return []*Var{o, h}
	default:
		o, h := RNN(xs[0], h0, w, opt)
		return []*Var{o, h}
	}
}

func flatCat(vs []*Var) *Var {
	flat := make([]*Var, len(vs))
	for i, v := range vs {
		flat[i] = Reshape(v, -1)
	}
	return Concat(0, flat...)
}

func recurrentCases() []recurrentCase {
	var cases []recurrentCase
	for _, kind := range []recurrentKind{kindRNN, kindLSTM, kindGRU} {
		for _, rev := range []bool{false, true} {
			cases = append(cases,
				recurrentCase{kind: kind, reverse: rev},
				recurrentCase{kind: kind, reverse: rev, state: true, lengths: []int{4, 2, 0}},
			)
		}
		cases = append(cases, recurrentCase{kind: kind, noBias: true, state: true})
	}
	cases = append(cases,
		recurrentCase{kind: kindRNN, relu: true, state: true},
		recurrentCase{kind: kindRNN, relu: true, reverse: true, lengths: []int{3, 4, 1}},
	)
	return cases
}

func TestRecurrentGrad(t *testing.T) {
	for i, c := range recurrentCases() {
		t.Run(c.String(), func(t *testing.T) {
			ins := c.inputs(uint64(10*i+1), 4, 3, 3, 2)
			res, err := CheckGrad(func(xs ...*Var) *Var { return flatCat(c.run(xs...)) }, ins, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
	}
}

// TestRecurrentLengths checks padding against running each sequence alone
// on its own steps: same outputs on the real steps, zeros on the padding,
// same final state, and the same gradients for every input, with none
// reaching padded inputs.
func TestRecurrentLengths(t *testing.T) {
	const T, B, I, H = 5, 3, 2, 3
	lengths := []int{5, 2, 3}
	for _, kind := range []recurrentKind{kindRNN, kindLSTM, kindGRU} {
		for _, rev := range []bool{false, true} {
			c := recurrentCase{kind: kind, reverse: rev, state: true, lengths: lengths}
			t.Run(c.String(), func(t *testing.T) {
				ins := c.inputs(3, T, B, I, H)
				vars := make([]*Var, len(ins))
				for i, v := range ins {
					vars[i] = NewVar(v)
				}
				res := c.run(vars...)
				proj := rnd(99, -1, 1, T, B, H)
				Sum(Mul(res[0], Constant(proj)), false).BackwardWith(tensor.Scalar(1))
				gx := vars[0].Grad()

				for b, L := range lengths {
					// The same sequence alone, truncated to its length.
					solo := make([]*Var, len(ins))
					for i, v := range ins {
						switch {
						case i == 0:
							solo[i] = NewVar(tensor.Slice(tensor.Slice(v, 1, b, b+1), 0, 0, L))
						case i >= 5: // h0, c0
							solo[i] = NewVar(tensor.Slice(v, 0, b, b+1))
						default:
							solo[i] = NewVar(v)
						}
					}
					sc := c
					sc.lengths = nil
					sres := sc.run(solo...)
					out := tensor.Slice(res[0].Value(), 1, b, b+1)
					require.InDelta(t, 0, tensor.MaxAbsDiff(tensor.Slice(out, 0, 0, L), sres[0].Value()), 1e-6, "outputs of sequence %d", b)
					if L < T {
						require.Zero(t, tensor.MaxAbsDiff(tensor.Slice(out, 0, L, T), tensor.Zeros(T-L, 1, H)), "padded outputs of sequence %d", b)
						require.Zero(t, tensor.MaxAbsDiff(tensor.Slice(tensor.Slice(gx, 1, b, b+1), 0, L, T), tensor.Zeros(T-L, 1, I)), "gradient at padded inputs of sequence %d", b)
					}
					for k := 1; k < len(res); k++ {
						require.InDelta(t, 0, tensor.MaxAbsDiff(tensor.Slice(res[k].Value(), 0, b, b+1), sres[k].Value()), 1e-6, "final state %d of sequence %d", k, b)
					}
					sp := tensor.Slice(tensor.Slice(proj, 1, b, b+1), 0, 0, L)
					Sum(Mul(sres[0], Constant(sp)), false).BackwardWith(tensor.Scalar(1))
					require.InDelta(t, 0, tensor.MaxAbsDiff(tensor.Slice(tensor.Slice(gx, 1, b, b+1), 0, 0, L), solo[0].Grad()), 1e-5, "input gradient of sequence %d", b)
					require.InDelta(t, 0, tensor.MaxAbsDiff(tensor.Slice(vars[len(vars)-1].Grad(), 0, b, b+1), solo[len(solo)-1].Grad()), 1e-5, "initial state gradient of sequence %d", b)
				}
			})
		}
	}
}

// TestRecurrentNoGrad checks that inference-mode inputs give the same
// values and record nothing.
func TestRecurrentNoGrad(t *testing.T) {
	c := recurrentCase{kind: kindLSTM, state: true, lengths: []int{2, 3}}
	ins := c.inputs(5, 3, 2, 2, 3)
	vars := make([]*Var, len(ins))
	inf := make([]*Var, len(ins))
	for i, v := range ins {
		vars[i] = NewVar(v)
		inf[i] = vars[i]
	}
	inf[0] = NoGrad(ins[0])
	want := c.run(vars...)
	got := c.run(inf...)
	for k := range want {
		require.True(t, want[k].RequiresGrad())
		require.False(t, got[k].RequiresGrad())
		require.Equal(t, want[k].Value().Data(), got[k].Value().Data())
	}
}

func TestRecurrentShapePanics(t *testing.T) {
	x := Constant(tensor.Zeros(2, 3, 4))
	w := RecurrentWeights{IH: Constant(tensor.Zeros(20, 4)), HH: Constant(tensor.Zeros(20, 5))}
	require.NotPanics(t, func() { LSTM(x, nil, nil, w, RecurrentOptions{}) })
	require.PanicsWithValue(t, "autograd.GRU: weight_hh has shape [20 5], want [3·H, H]", func() { GRU(x, nil, w, RecurrentOptions{}) })
	require.Panics(t, func() { LSTM(Constant(tensor.Zeros(2, 3, 5)), nil, nil, w, RecurrentOptions{}) })
	require.Panics(t, func() { LSTM(x, Constant(tensor.Zeros(3, 4)), nil, w, RecurrentOptions{}) })
	require.PanicsWithValue(t, "autograd.LSTM: length 3 of sequence 1 outside [0, 2]", func() {
		LSTM(x, nil, nil, w, RecurrentOptions{Lengths: []int{1, 3, 2}})
	})
	require.Panics(t, func() { LSTM(x, nil, nil, w, RecurrentOptions{Lengths: []int{1}}) })
}
