package main

import (
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestRun: the custom op and layer pass their gradient checks, and the
// model built from them learns the spiral: the loss falls and held-out
// accuracy passes 90%.
func TestRun(t *testing.T) {
	epochs := 200
	if testing.Short() {
		epochs = 60
	}
	res, err := run(io.Discard, epochs)
	require.NoError(t, err)
	require.LessOrEqual(t, res.siluCheck.Excess, 1.0)
	require.LessOrEqual(t, res.gluCheck.Excess, 1.0)
	require.Len(t, res.losses, epochs)
	t.Logf("loss %.4f → %.4f, held-out accuracy %.3f", res.losses[0], res.losses[epochs-1], res.testAccuracy)
	require.Less(t, res.losses[epochs-1], res.losses[0]/3)
	require.GreaterOrEqual(t, res.testAccuracy, 0.9)
}

// wrongSiLU is SiLU with the derivative of x·σ(x) taken as σ(x) alone: the
// gradient check must catch it, or it checks nothing.
type wrongSiLU struct{ silu }

func (f *wrongSiLU) Backward(g *tensor.Tensor) []*tensor.Tensor {
	return []*tensor.Tensor{tensor.Mul(g, f.s)}
}

func TestGradCheckCatchesAWrongBackward(t *testing.T) {
	x := tensor.RandU(rand.New(rand.NewPCG(1, 2)), -3, 3, 4, 5)
	_, err := autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var { return autograd.Apply(&wrongSiLU{}, xs[0]) },
		[]*tensor.Tensor{x}, autograd.GradCheckOptions{})
	require.Error(t, err)
}
