package nn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestDropoutTrainAndEval(t *testing.T) {
	x := tensor.Ones(100, 100)
	d := NewDropout(0.3, WithSeed(1))
	y := d.Forward(autograd.Constant(x)).Value().Data()
	zeros := 0
	for _, v := range y {
		if v == 0 {
			zeros++
		} else {
			require.InDelta(t, 1/0.7, v, 1e-6)
		}
	}
	require.InDelta(t, 0.3, float64(zeros)/float64(len(y)), 0.02)

	// The same seed gives the same mask.
	y2 := NewDropout(0.3, WithSeed(1)).Forward(autograd.Constant(x)).Value().Data()
	require.Equal(t, y, y2)

	Eval(d)
	in := autograd.Constant(x)
	require.Same(t, in, d.Forward(in), "dropout is the identity in eval mode")
	require.Equal(t, "Dropout(p=0.3)", d.String())
	require.Panics(t, func() { NewDropout(1) })
}

func TestDropoutGrad(t *testing.T) {
	x := tensor.RandU(layerRand(1), -1, 1, 4, 5)
	// A fresh layer with a fixed seed per call draws the same mask every
	// time, as the finite differences need.
	res, err := autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var {
		return NewDropout(0.4, WithSeed(9)).Forward(xs[0])
	}, []*tensor.Tensor{x}, autograd.GradCheckOptions{})
	require.NoError(t, err, "%v", res)
}
