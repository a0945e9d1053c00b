package optim

import (
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

func TestGroupsLRAndDecay(t *testing.T) {
	w := newParam("w", 1, 2)
	b := newParam("b", 1, 2)
	fast := newParam("fast", 1, 2)
	opt := NewSGD([]*nn.Param{w, b, fast}, SGDConfig{LR: 0.1, WeightDecay: 0.5},
		Group{Params: []*nn.Param{b}, WeightDecay: Zero},
		Group{Params: []*nn.Param{fast}, LR: 1})
	for _, p := range []*nn.Param{w, b, fast} {
		setGrad(p, 1, -1)
	}
	opt.Step()
	// w: default group, g + λp = [1.5, 0]; b: no decay; fast: LR 1 with decay.
	requireClose(t, []float64{1 - 0.1*1.5, 2 - 0.1*0}, w.Value().Data(), 1e-6, "w")
	requireClose(t, []float64{1 - 0.1, 2 + 0.1}, b.Value().Data(), 1e-6, "b")
	requireClose(t, []float64{1 - 1.5, 2 - 0}, fast.Value().Data(), 1e-6, "fast")

	// SetLR keeps the groups' ratio.
	opt.SetLR(0.01)
	require.Equal(t, float32(0.01), opt.LR())
	require.InDelta(t, 0.1, opt.groups[2].lr, 1e-7)
	opt.SetLR(0.1)
	require.Equal(t, float32(1), opt.groups[2].lr)
}

func TestGroupOnlyParams(t *testing.T) {
	// Params may be given only through groups.
	a := newParam("a", 1)
	opt := NewAdam(nil, AdamConfig{LR: 0.1}, Group{Params: []*nn.Param{a}, LR: 0.2})
	require.Len(t, opt.Params(), 1)
	setGrad(a, 1)
	opt.Step()
	requireClose(t, []float64{1 - 0.2}, a.Value().Data(), 1e-6, "a")
	// Repeated params in the default list are kept once.
	opt = NewAdam([]*nn.Param{a, a}, AdamConfig{})
	require.Len(t, opt.Params(), 1)
}

func TestSplitDecay(t *testing.T) {
	w := &nn.Param{Var: autograd.NewVar(tensor.Ones(2, 2)), Name: "w"}
	b := &nn.Param{Var: autograd.NewVar(tensor.Ones(2)), Name: "b"}
	gs := SplitDecay([]*nn.Param{w, b})
	require.Equal(t, []*nn.Param{w}, gs[0].Params)
	require.Equal(t, []*nn.Param{b}, gs[1].Params)
	opt := NewAdamW(nil, AdamWConfig{LR: 0.1, WeightDecay: 0.5}, gs...)
	setGrad(w, 0, 0, 0, 0)
	setGrad(b, 0, 0)
	opt.Step()
	require.Equal(t, []float32{0.95, 0.95, 0.95, 0.95}, w.Value().Data())
	require.Equal(t, []float32{1, 1}, b.Value().Data())
}

func TestZeroGrad(t *testing.T) {
	a := newParam("a", 1, 2)
	opt := NewSGD([]*nn.Param{a}, SGDConfig{})
	setGrad(a, 3, 4)
	opt.ZeroGrad()
	require.Equal(t, []float32{0, 0}, a.Grad().Data())
}
