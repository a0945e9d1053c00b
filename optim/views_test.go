package optim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestGroupFromInnerLayer gives one layer of a Sequential its own group.
// The Sequential reports views of its layers' Params (other pointers, same
// Vars), so the optimizer must recognise them as the same parameters:
// updated once, in the group, under the model's full name.
func TestGroupFromInnerLayer(t *testing.T) {
	head := nn.NewDense(2, 1, nn.WithWeightInit(nn.Constant(0)), nn.WithBiasInit(nn.Zeros))
	model := nn.NewSequential(nn.NewDense(2, 2, nn.WithSeed(1)), head)
	opt := NewSGD(model.Params(), SGDConfig{LR: 0.1}, Group{Params: head.Params(), LR: 1})
	require.Len(t, opt.Params(), 4)
	for _, p := range model.Params() {
		p.ZeroGrad()
		p.BackwardWith(tensor.OnesLike(p.Value()))
	}
	opt.Step()
	require.Equal(t, []float32{-1, -1}, head.Weight.Value().Data(), "one step at the group's rate")
	st, err := opt.StateDict()
	require.NoError(t, err)
	var names []string
	for _, ps := range st.Params {
		names = append(names, ps.Name)
	}
	require.Equal(t, []string{"0.bias", "0.weight", "1.bias", "1.weight"}, names)
}
