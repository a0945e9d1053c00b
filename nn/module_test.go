package nn

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// checkLayerGrad gradient-checks m's Forward with respect to its input
// and every Param. Containers report views of their children's Params, so
// each Var is swapped in every Param that holds it, at every level.
func checkLayerGrad(t *testing.T, m Module, x *tensor.Tensor) {
	t.Helper()
	var vars []*autograd.Var
	holders := map[*autograd.Var][]*Param{}
	for _, p := range m.Params() {
		if holders[p.Var] == nil {
			vars = append(vars, p.Var)
		}
		holders[p.Var] = append(holders[p.Var], p)
	}
	Walk(m, func(l Module) {
		for _, p := range l.Params() {
			if hs, ok := holders[p.Var]; ok && !slices.Contains(hs, p) {
				holders[p.Var] = append(hs, p)
			}
		}
	})
	inputs := []*tensor.Tensor{x}
	for _, v := range vars {
		inputs = append(inputs, v.Value())
	}
	set := func(vs []*autograd.Var) {
		for i, v := range vars {
			for _, p := range holders[v] {
				p.Var = vs[i]
			}
		}
	}
	defer set(vars)
	res, err := autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var {
		set(xs[1:])
		return m.Forward(xs[0])
	}, inputs, autograd.GradCheckOptions{})
	require.NoError(t, err, "%v", res)
}

func paramNames(ps []*Param) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func TestPrefixAndRegister(t *testing.T) {
	ps := []*Param{NewParam("weight", tensor.Zeros(1)), NewParam("", tensor.Zeros(1))}
	Prefix("gate", ps)
	require.Equal(t, []string{"gate.weight", "gate"}, paramNames(ps))

	bn := Register("norm", NewBatchNorm1D(3))
	require.Equal(t, []string{"norm.weight", "norm.bias"}, paramNames(bn.Params()))
	require.Equal(t, []string{"norm.running_mean", "norm.running_var", "norm.num_batches_tracked"}, paramNames(bn.Buffers()))
}

func TestParamAndBuffer(t *testing.T) {
	p := NewParam("w", tensor.Ones(2, 3))
	b := NewBuffer("running_mean", tensor.Zeros(3))
	require.True(t, p.RequiresGrad())
	require.False(t, b.RequiresGrad())
	d := NewDense(3, 2)
	require.Equal(t, 8, CountParams(d))
	d.Bias.SetRequiresGrad(false)
	require.Equal(t, 6, CountParams(d))
}

func layerRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 3)) }
