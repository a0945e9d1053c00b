package nn_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// torchTensor is a tensor as rnn_fixtures.py writes it.
type torchTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (t *torchTensor) tensor() *tensor.Tensor {
	if t == nil {
		return nil
	}
	d := make([]float32, len(t.Data))
	for i, v := range t.Data {
		d[i] = float32(v)
	}
	return tensor.New(d, t.Shape...)
}

// rnnTorchCase is one module of nn/testdata/rnn_torch.json.
type rnnTorchCase struct {
	Name          string                  `json:"name"`
	Kind          string                  `json:"kind"`
	Input         int                     `json:"input"`
	Hidden        int                     `json:"hidden"`
	Layers        int                     `json:"layers"`
	Bidirectional bool                    `json:"bidirectional"`
	BatchFirst    bool                    `json:"batch_first"`
	Nonlinearity  string                  `json:"nonlinearity"`
	Bias          bool                    `json:"bias"`
	Lengths       []int                   `json:"lengths"`
	X             *torchTensor            `json:"x"`
	H0            *torchTensor            `json:"h0"`
	C0            *torchTensor            `json:"c0"`
	Params        map[string]*torchTensor `json:"params"`
	StateDict     [][2]json.RawMessage    `json:"state_dict"`
	WOut          *torchTensor            `json:"w_out"`
	WH            *torchTensor            `json:"w_h"`
	WC            *torchTensor            `json:"w_c"`
	Out           *torchTensor            `json:"out"`
	HN            *torchTensor            `json:"h_n"`
	CN            *torchTensor            `json:"c_n"`
	Loss          float64                 `json:"loss"`
	Grads         map[string]*torchTensor `json:"grads"`
	GradX         *torchTensor            `json:"grad_x"`
	GradH0        *torchTensor            `json:"grad_h0"`
	GradC0        *torchTensor            `json:"grad_c0"`
}

func loadRNNTorchCases(t *testing.T) []rnnTorchCase {
	t.Helper()
	b, err := os.ReadFile("testdata/rnn_torch.json")
	require.NoError(t, err)
	var f struct {
		Cases []rnnTorchCase `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	require.Len(t, f.Cases, 15)
	return f.Cases
}

// build makes the module of a case with its own (random) weights.
func (c *rnnTorchCase) build() nn.Module {
	var opts []nn.Option
	if !c.Bias {
		opts = append(opts, nn.WithoutBias())
	}
	cfg := nn.RNNConfig{Layers: c.Layers, Bidirectional: c.Bidirectional, BatchFirst: c.BatchFirst}
	switch c.Kind {
	case "LSTM":
		return nn.NewLSTM(c.Input, c.Hidden, cfg, opts...)
	case "GRU":
		return nn.NewGRU(c.Input, c.Hidden, cfg, opts...)
	case "RNN":
		cfg.Nonlinearity = c.Nonlinearity
		return nn.NewRNN(c.Input, c.Hidden, cfg, opts...)
	case "LSTMCell":
		return nn.NewLSTMCell(c.Input, c.Hidden, opts...)
	case "GRUCell":
		return nn.NewGRUCell(c.Input, c.Hidden, opts...)
	case "RNNCell":
		return nn.NewRNNCell(c.Input, c.Hidden, c.Nonlinearity, opts...)
	}
	panic("unknown kind " + c.Kind)
}

// run feeds the case's input through m (cells step by step) and returns the
// outputs, the final h and, for LSTMs, the final c.
func (c *rnnTorchCase) run(m nn.Module, x, h0, c0 *autograd.Var) (out, h, cc *autograd.Var) {
	switch m := m.(type) {
	case *nn.LSTM:
		o, st := m.ForwardWith(x, nn.LSTMState{H: h0, C: c0}, c.Lengths)
		return o, st.H, st.C
	case *nn.GRU:
		o, st := m.ForwardWith(x, nn.RNNState{H: h0}, c.Lengths)
		return o, st.H, nil
	case *nn.RNN:
		o, st := m.ForwardWith(x, nn.RNNState{H: h0}, c.Lengths)
		return o, st.H, nil
	}
	T := x.Shape()[0]
	var hs []*autograd.Var
	step := func(xt *autograd.Var) {}
	switch m := m.(type) {
	case *nn.LSTMCell:
		st := nn.LSTMState{H: h0, C: c0}
		step = func(xt *autograd.Var) { st = m.Step(xt, st); hs = append(hs, st.H); cc = st.C }
	case *nn.GRUCell:
		st := nn.RNNState{H: h0}
		step = func(xt *autograd.Var) { st = m.Step(xt, st); hs = append(hs, st.H) }
	case *nn.RNNCell:
		st := nn.RNNState{H: h0}
		step = func(xt *autograd.Var) { st = m.Step(xt, st); hs = append(hs, st.H) }
	}
	for i := 0; i < T; i++ {
		xs := x.Shape()
		step(autograd.Reshape(autograd.Slice(x, 0, i, i+1), xs[1], xs[2]))
	}
	return autograd.Stack(0, hs...), hs[len(hs)-1], cc
}

// requireClose checks max|got − want| ≤ 1e-5·max|want| (and 1e-6 absolute
// for an all-zero reference).
func requireClose(t *testing.T, want *torchTensor, got *tensor.Tensor, what string) {
	t.Helper()
	require.NotNil(t, got, what)
	require.Equal(t, want.Shape, got.Shape(), what)
	scale, worst, at := 0.0, 0.0, 0
	for i, w := range want.Data {
		scale = math.Max(scale, math.Abs(w))
		if d := math.Abs(float64(got.Data()[i]) - w); d > worst {
			worst, at = d, i
		}
	}
	tol := math.Max(1e-5*scale, 1e-6)
	require.LessOrEqual(t, worst, tol, "%s: element %d is %v, PyTorch %v (scale %.3g)", what, at, got.Data()[at], want.Data[at], scale)
}

// TestRNNMatchesTorch loads PyTorch's weights by name into each recurrent
// module and compares outputs, final states and every gradient with
// PyTorch 1.13's (nn/testdata/rnn_fixtures.py).
func TestRNNMatchesTorch(t *testing.T) {
	for _, c := range loadRNNTorchCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			m := c.build()
			var state []nn.NamedTensor
			for name, p := range c.Params {
				state = append(state, nn.NamedTensor{Name: name, Value: p.tensor()})
			}
			require.NoError(t, nn.LoadStateDict(m, state))

			x := autograd.NewVar(c.X.tensor())
			var h0, c0 *autograd.Var
			if c.H0 != nil {
				h0 = autograd.NewVar(c.H0.tensor())
			}
			if c.C0 != nil {
				c0 = autograd.NewVar(c.C0.tensor())
			}
			out, h, cc := c.run(m, x, h0, c0)
			requireClose(t, c.Out, out.Value(), "output")
			requireClose(t, c.HN, h.Value(), "h_n")
			loss := autograd.Add(autograd.Sum(autograd.Mul(out, autograd.Constant(c.WOut.tensor())), false),
				autograd.Sum(autograd.Mul(h, autograd.Constant(c.WH.tensor())), false))
			if c.CN != nil {
				requireClose(t, c.CN, cc.Value(), "c_n")
				loss = autograd.Add(loss, autograd.Sum(autograd.Mul(cc, autograd.Constant(c.WC.tensor())), false))
			} else {
				require.Nil(t, cc)
			}
			require.InDelta(t, c.Loss, float64(loss.Value().Item()), 1e-5*math.Max(1, math.Abs(c.Loss)))
			loss.Backward()
			for _, p := range m.Params() {
				want, ok := c.Grads[p.Name]
				require.True(t, ok, "PyTorch has no parameter %s", p.Name)
				requireClose(t, want, p.Grad(), "gradient of "+p.Name)
			}
			requireClose(t, c.GradX, x.Grad(), "gradient of the input")
			if h0 != nil {
				requireClose(t, c.GradH0, h0.Grad(), "gradient of h0")
			}
			if c0 != nil {
				requireClose(t, c.GradC0, c0.Grad(), "gradient of c0")
			}
		})
	}
}

// TestRNNStateDictNamesMatchTorch checks that each module's state_dict has
// exactly PyTorch's keys and shapes.
func TestRNNStateDictNamesMatchTorch(t *testing.T) {
	for _, c := range loadRNNTorchCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			var want []string
			for _, kv := range c.StateDict {
				var name string
				var shape []int
				require.NoError(t, json.Unmarshal(kv[0], &name))
				require.NoError(t, json.Unmarshal(kv[1], &shape))
				want = append(want, fmt.Sprint(name, shape))
			}
			var got []string
			for _, nt := range nn.StateDict(c.build()) {
				got = append(got, fmt.Sprint(nt.Name, nt.Value.Shape()))
			}
			sort.Strings(want)
			sort.Strings(got)
			require.Equal(t, want, got)
		})
	}
}
