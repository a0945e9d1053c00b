package nn

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestActivationLayers(t *testing.T) {
	x := []float32{-2, -0.5, 0.5, 2}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	gelu := func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }
	cases := []struct {
		m    Module
		want func(v float64) float64
	}{
		{NewReLU(), func(v float64) float64 { return math.Max(v, 0) }},
		{NewLeakyReLU(0.1), func(v float64) float64 { return math.Max(v, 0.1*v) }},
		{NewGELU(), gelu},
		{NewSigmoid(), sig},
		{NewTanh(), math.Tanh},
	}
	for _, tc := range cases {
		t.Run(typeName(tc.m), func(t *testing.T) {
			y := tc.m.Forward(autograd.Constant(tensor.New(append([]float32(nil), x...), 2, 2))).Value().Data()
			for i, v := range x {
				require.InDelta(t, tc.want(float64(v)), y[i], 1e-6)
			}
			require.Empty(t, tc.m.Params())
			checkLayerGrad(t, tc.m, tensor.New([]float32{-1.5, -0.3, 0.4, 1.7, 2.2, -0.8}, 3, 2))
		})
	}
}

func TestSoftmaxLayers(t *testing.T) {
	x := tensor.New([]float32{1, 2, 3, 0, 0, 0}, 2, 3)
	y := NewSoftmax().Forward(autograd.Constant(x)).Value()
	e := []float64{math.Exp(1), math.Exp(2), math.Exp(3)}
	s := e[0] + e[1] + e[2]
	for j := range 3 {
		require.InDelta(t, e[j]/s, y.At(0, j), 1e-6)
		require.InDelta(t, 1.0/3, y.At(1, j), 1e-6)
	}
	ly := NewLogSoftmax().Forward(autograd.Constant(x)).Value()
	require.InDelta(t, 1-math.Log(s), ly.At(0, 0), 1e-5)
	// Axis −2 of a matrix: columns sum to one.
	y0 := (&Softmax{Axis: -2}).Forward(autograd.Constant(x)).Value()
	require.InDelta(t, 1, y0.At(0, 1)+y0.At(1, 1), 1e-6)
	checkLayerGrad(t, NewSoftmax(), tensor.RandU(layerRand(2), -2, 2, 3, 4))
	checkLayerGrad(t, NewLogSoftmax(), tensor.RandU(layerRand(3), -2, 2, 3, 4))
}

func TestActivationNames(t *testing.T) {
	require.Equal(t, "LeakyReLU", ActLeakyReLU.String())
	require.Equal(t, "Activation(42)", Activation(42).String())
	require.Panics(t, func() { Activation(42).Apply(autograd.Constant(tensor.Zeros(1))) })
	y := ActLeakyReLU.Apply(autograd.Constant(tensor.New([]float32{-1, 1}, 2)))
	require.InDeltaSlice(t, []float32{-0.01, 1}, y.Value().Data(), 1e-7)
}

type probsLayer struct{ ReLU }

func (probsLayer) OutputActivation() Activation { return ActSigmoid }

func TestOutputActivation(t *testing.T) {
	for _, c := range []struct {
		name string
		m    Module
		want Activation
	}{
		{"dense linear", NewDense(2, 3), ActNone},
		{"dense fused softmax", NewDense(2, 3, WithActivation(ActSoftmax)), ActSoftmax},
		{"conv fused relu", NewConv2D(1, 2, 3, WithActivation(ActReLU)), ActReLU},
		{"softmax layer", NewSequential(NewDense(2, 3), NewSoftmax()), ActSoftmax},
		{"softmax value", NewSequential(NewDense(2, 3), Softmax{Axis: -1}), ActSoftmax},
		{"log-softmax", NewSequential(NewDense(2, 3), NewLogSoftmax()), ActLogSoftmax},
		{"sigmoid", NewSequential(NewDense(2, 1), NewSigmoid()), ActSigmoid},
		{"tanh", NewTanh(), ActTanh},
		{"gelu", NewGELU(), ActGELU},
		{"leaky", NewLeakyReLU(0.1), ActLeakyReLU},
		{"relu then linear", NewSequential(NewReLU(), NewDense(2, 3)), ActNone},
		{"nested", NewSequential(NewDense(2, 3), NewSequential(NewReLU(), NewSequential(NewDense(3, 3), NewLogSoftmax()))), ActLogSoftmax},
		{"trailing dropout", NewSequential(NewDense(2, 3), NewSoftmax(), NewDropout(0.1)), ActSoftmax},
		{"residual", NewResidual(NewSequential(NewDense(3, 3), NewSoftmax())), ActNone},
		{"empty", NewSequential(), ActNone},
		{"flatten", NewFlatten(), ActNone},
		{"custom", NewSequential(NewDense(2, 3), probsLayer{}), ActSigmoid},
		{"nil", nil, ActNone},
	} {
		require.Equal(t, c.want, OutputActivation(c.m), c.name)
	}
	require.Equal(t, "LogSoftmax", ActLogSoftmax.String())
}
