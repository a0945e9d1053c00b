package autograd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// stackInputs returns x, then per layer weight_ih, weight_hh and (unless
// noBias) bias_ih and bias_hh, then (with state) every layer's h0 and, for
// an LSTM, every layer's c0.
func (c recurrentCase) stackInputs(seed uint64, L, T, B, I, H int) []*tensor.Tensor {
	G := kindGates[c.kind]
	ts := []*tensor.Tensor{rnd(seed, -1, 1, T, B, I)}
	for l := range L {
		in := I
		if l > 0 {
			in = H
		}
		s := seed + uint64(10*l)
		ts = append(ts, rnd(s+1, -0.6, 0.6, G*H, in), rnd(s+2, -0.6, 0.6, G*H, H))
		if !c.noBias {
			ts = append(ts, rnd(s+3, -0.5, 0.5, G*H), rnd(s+4, -0.5, 0.5, G*H))
		}
	}
	if c.state {
		n := L
		if c.kind == kindLSTM {
			n = 2 * L
		}
		for i := range n {
			ts = append(ts, rnd(seed+uint64(100+i), -1, 1, B, H))
		}
	}
	return ts
}

// splitStack splits vars laid out as stackInputs returns them.
func (c recurrentCase) splitStack(L int, xs []*Var) (x *Var, ws []RecurrentWeights, h0, c0 []*Var) {
	k := 1
	for range L {
		w := RecurrentWeights{IH: xs[k], HH: xs[k+1]}
		k += 2
		if !c.noBias {
			w.BiasIH, w.BiasHH = xs[k], xs[k+1]
			k += 2
		}
		ws = append(ws, w)
	}
	if c.state {
		h0 = xs[k : k+L]
		if c.kind == kindLSTM {
			c0 = xs[k+L : k+2*L]
		}
	}
	return xs[0], ws, h0, c0
}

// runStack applies the fused stack and returns the last layer's outputs,
// then every layer's final h, then (LSTM) every layer's final c.
func (c recurrentCase) runStack(L int, xs ...*Var) []*Var {
	x, ws, h0, c0 := c.splitStack(L, xs)
	opt := RecurrentOptions{Lengths: c.lengths, Reverse: c.reverse, ReLU: c.relu}
	switch c.kind {
	case kindLSTM:
		o, h, cc := LSTMStack(x, h0, c0, ws, opt)
		return append(append([]*Var{o}, h...), cc...)
	case kindGRU:
		o, h := GRUStack(x, h0, ws, opt)
		return append([]*Var{o}, h...)
	default:
		o, h := RNNStack(x, h0, ws, opt)
		return append([]*Var{o}, h...)
	}
}

// runChain applies the single-layer op once per layer, like runStack.
func (c recurrentCase) runChain(L int, xs ...*Var) []*Var {
	x, ws, h0, c0 := c.splitStack(L, xs)
	at := func(s []*Var, l int) *Var {
		if s == nil {
			return nil
		}
		return s[l]
	}
	opt := RecurrentOptions{Lengths: c.lengths, Reverse: c.reverse, ReLU: c.relu}
	var hs, cs []*Var
	for l, w := range ws {
		var h, cc *Var
		switch c.kind {
		case kindLSTM:
			x, h, cc = LSTM(x, at(h0, l), at(c0, l), w, opt)
			cs = append(cs, cc)
		case kindGRU:
			x, h = GRU(x, at(h0, l), w, opt)
		default:
			x, h = RNN(x, at(h0, l), w, opt)
		}
		hs = append(hs, h)
	}
	return append(append([]*Var{x}, hs...), cs...)
}

// wavefront makes every stack in the test run its layers concurrently
// (given two workers), handing over chunks of rows rows, and restores the
// defaults at the end.
func wavefront(t *testing.T, workers, rows int) {
	prevW, prevR, prevMin := parallel.SetWorkers(workers), stackChunkRows, stackMinWork
	stackChunkRows, stackMinWork = rows, 0
	t.Cleanup(func() {
		parallel.SetWorkers(prevW)
		stackChunkRows, stackMinWork = prevR, prevMin
	})
}

// TestRecurrentStackMatchesChain checks that a fused stack gives exactly
// the outputs, final states and gradients of chaining the single-layer
// ops, one worker or two, handing steps over one at a time or in chunks.
func TestRecurrentStackMatchesChain(t *testing.T) {
	const L, T, B, I, H = 3, 7, 3, 4, 5
	cases := []recurrentCase{
		{kind: kindLSTM}, {kind: kindLSTM, state: true, lengths: []int{7, 2, 5}}, {kind: kindLSTM, reverse: true, noBias: true},
		{kind: kindGRU}, {kind: kindGRU, state: true, reverse: true, lengths: []int{3, 7, 0}},
		{kind: kindRNN, state: true}, {kind: kindRNN, relu: true, lengths: []int{6, 1, 7}},
	}
	for _, workers := range []int{1, 2} {
		for _, rows := range []int{B, 2 * B, 1000} {
			for i, c := range cases {
				t.Run(fmt.Sprintf("%v/workers%d/rows%d", c, workers, rows), func(t *testing.T) {
					wavefront(t, workers, rows)
					ins := c.stackInputs(uint64(7*i+3), L, T, B, I, H)
					results := make([][]*Var, 2)
					vars := make([][]*Var, 2)
					for k, run := range []func(int, ...*Var) []*Var{c.runStack, c.runChain} {
						vars[k] = make([]*Var, len(ins))
						for j, v := range ins {
							vars[k][j] = NewVar(v.Clone())
						}
						results[k] = run(L, vars[k]...)
						// Weight every output and state differently.
						var loss *Var
						for j, r := range results[k] {
							p := Constant(rnd(uint64(500+j), -1, 1, r.Shape()...))
							term := Sum(Mul(r, p), false)
							if loss == nil {
								loss = term
							} else {
								loss = Add(loss, term)
							}
						}
						loss.BackwardWith(tensor.Scalar(1))
					}
					require.Len(t, results[0], len(results[1]))
					for j := range results[0] {
						require.Equal(t, results[1][j].Value().Data(), results[0][j].Value().Data(), "result %d", j)
					}
					for j := range ins {
						require.Equal(t, vars[1][j].Grad().Data(), vars[0][j].Grad().Data(), "gradient of input %d", j)
					}
				})
			}
		}
	}
}

// TestRecurrentStackGrad checks the fused stack's gradients numerically,
// with the layers running as a wavefront.
func TestRecurrentStackGrad(t *testing.T) {
	wavefront(t, 2, 2)
	for i, c := range []recurrentCase{{kind: kindLSTM, state: true}, {kind: kindGRU, lengths: []int{4, 2}}, {kind: kindRNN, reverse: true, state: true}} {
		t.Run(c.String(), func(t *testing.T) {
			ins := c.stackInputs(uint64(10*i+1), 2, 4, 2, 3, 2)
			res, err := CheckGrad(func(xs ...*Var) *Var { return flatCat(c.runStack(2, xs...)) }, ins, GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
	}
}

// TestRecurrentStackNoGrad checks that inference-mode inputs give the
// values of a training run and record nothing.
func TestRecurrentStackNoGrad(t *testing.T) {
	wavefront(t, 2, 2)
	c := recurrentCase{kind: kindLSTM, state: true}
	ins := c.stackInputs(5, 2, 6, 2, 3, 4)
	vars := make([]*Var, len(ins))
	for i, v := range ins {
		vars[i] = NewVar(v)
	}
	want := c.runStack(2, vars...)
	vars[0] = NoGrad(ins[0])
	got := c.runStack(2, vars...)
	for k := range want {
		require.True(t, want[k].RequiresGrad())
		require.False(t, got[k].RequiresGrad())
		require.Equal(t, want[k].Value().Data(), got[k].Value().Data())
	}
}

func TestRecurrentStackShapePanics(t *testing.T) {
	x := Constant(tensor.Zeros(2, 3, 4))
	w := func(in, h int) RecurrentWeights {
		return RecurrentWeights{IH: Constant(tensor.Zeros(4*h, in)), HH: Constant(tensor.Zeros(4*h, h))}
	}
	require.NotPanics(t, func() { LSTMStack(x, nil, nil, []RecurrentWeights{w(4, 5), w(5, 5)}, RecurrentOptions{}) })
	require.PanicsWithValue(t, "autograd.LSTMStack: input and at least one layer are required", func() { LSTMStack(x, nil, nil, nil, RecurrentOptions{}) })
	require.PanicsWithValue(t, "autograd.LSTMStack layer 1: weight_ih has shape [20 4], want [20, 5] for input [2 3 5] and weight_hh [20 5]", func() {
		LSTMStack(x, nil, nil, []RecurrentWeights{w(4, 5), w(4, 5)}, RecurrentOptions{})
	})
	require.PanicsWithValue(t, "autograd.LSTMStack: layer 1 has hidden size 6, layer 0 5", func() {
		LSTMStack(x, nil, nil, []RecurrentWeights{w(4, 5), w(5, 6)}, RecurrentOptions{})
	})
	require.PanicsWithValue(t, "autograd.LSTMStack: 2 layers but 1 initial h and 0 initial c states", func() {
		LSTMStack(x, []*Var{nil}, nil, []RecurrentWeights{w(4, 5), w(5, 5)}, RecurrentOptions{})
	})
}

func ExampleLSTMStack() {
	// Two LSTM layers of 3 units over 5 steps of a batch of 2 sequences
	// of 4 features, from zero states.
	const T, B, I, H = 5, 2, 4, 3
	layer := func(in int, seed uint64) RecurrentWeights {
		return RecurrentWeights{IH: NewVar(rnd(seed, -0.5, 0.5, 4*H, in)), HH: NewVar(rnd(seed+1, -0.5, 0.5, 4*H, H))}
	}
	ws := []RecurrentWeights{layer(I, 1), layer(H, 3)}
	x := Constant(rnd(5, -1, 1, T, B, I))
	out, h, c := LSTMStack(x, nil, nil, ws, RecurrentOptions{})
	fmt.Println(out.Shape(), len(h), h[1].Shape(), len(c))

	// The same as two chained LSTM calls, bit for bit.
	o1, _, _ := LSTM(x, nil, nil, ws[0], RecurrentOptions{})
	o2, _, _ := LSTM(o1, nil, nil, ws[1], RecurrentOptions{})
	fmt.Println(tensor.MaxAbsDiff(out.Value(), o2.Value()))
	// Output:
	// [5 2 3] 2 [2 3] 2
	// 0
}

// TestStackPassPanic checks that a chunk that panics stops the pass: the
// panic reaches the caller, and the goroutine waiting for the failed
// layer's steps stops instead of waiting for ever.
func TestStackPassPanic(t *testing.T) {
	wavefront(t, 2, 1)
	for _, failing := range []int{0, 1} {
		t.Run(fmt.Sprint("layer", failing), func(t *testing.T) {
			st := &stackRun{layers: []*recurrence{{T: 4}, {T: 4}}, chunk: 1, concurrent: true,
				state: make([]layerState, 2), work: make([]layerWork, 2)}
			st.cond.L = &st.mu
			ready := func(l int) bool { return l == 0 || st.state[0].done > st.work[1].next }
			task := func(l int) bool {
				w := &st.work[l]
				if l == failing && w.next == 2 {
					panic(fmt.Sprint("layer ", l, " fails"))
				}
				w.next++
				if l == 0 {
					st.handOn(0, w.next)
				}
				return w.next == 4
			}
			require.PanicsWithValue(t, fmt.Sprint("layer ", failing, " fails"), func() { st.runPass(false, ready, task) })
		})
	}
}
