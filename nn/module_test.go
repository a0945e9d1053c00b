package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// checkLayerGrad gradient-checks m's Forward with respect to its input
// and every Param.
func checkLayerGrad(t *testing.T, m Module, x *tensor.Tensor) {
	t.Helper()
	ps := m.Params()
	inputs := []*tensor.Tensor{x}
	for _, p := range ps {
		inputs = append(inputs, p.Value())
	}
	orig := make([]*autograd.Var, len(ps))
	for i, p := range ps {
		orig[i] = p.Var
	}
	defer func() {
		for i, p := range ps {
			p.Var = orig[i]
		}
	}()
	res, err := autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var {
		for i, p := range ps {
			p.Var = xs[i+1]
		}
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
