package nn

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

func TestFans(t *testing.T) {
	in, out := Fans([]int{10, 20})
	require.Equal(t, []int{20, 10}, []int{in, out})
	in, out = Fans([]int{32, 3, 5, 5})
	require.Equal(t, []int{75, 800}, []int{in, out})
	require.Panics(t, func() { Fans([]int{3}) })
}

func moments(d []float32) (mean, std, maxAbs float64) {
	for _, v := range d {
		mean += float64(v)
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
	}
	mean /= float64(len(d))
	for _, v := range d {
		std += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(std / float64(len(d))), maxAbs
}

func TestInitializers(t *testing.T) {
	shape := []int{200, 100, 3, 3} // fanIn 900, fanOut 1800
	const fanIn, fanOut = 900.0, 1800.0
	cases := []struct {
		name     string
		f        Initializer
		bound    float64 // uniform half-width, 0 for normal
		std      float64
		constant float64
		isConst  bool
	}{
		{name: "GlorotUniform", f: GlorotUniform, bound: math.Sqrt(6 / (fanIn + fanOut))},
		{name: "XavierUniform", f: XavierUniform, bound: math.Sqrt(6 / (fanIn + fanOut))},
		{name: "GlorotNormal", f: GlorotNormal, std: math.Sqrt(2 / (fanIn + fanOut))},
		{name: "XavierNormal", f: XavierNormal, std: math.Sqrt(2 / (fanIn + fanOut))},
		{name: "HeUniform", f: HeUniform, bound: math.Sqrt(6 / fanIn)},
		{name: "HeNormal", f: HeNormal, std: math.Sqrt(2 / fanIn)},
		{name: "KaimingUniform√5", f: KaimingUniform(math.Sqrt(5)), bound: 1 / math.Sqrt(fanIn)},
		{name: "KaimingNormal1", f: KaimingNormal(1), std: 1 / math.Sqrt(fanIn)},
		{name: "Uniform", f: Uniform(-0.5, 0.5), bound: 0.5},
		{name: "Normal", f: Normal(0, 0.3), std: 0.3},
		{name: "Zeros", f: Zeros, isConst: true},
		{name: "Ones", f: Ones, isConst: true, constant: 1},
		{name: "Constant", f: Constant(0.25), isConst: true, constant: 0.25},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := tensor.Zeros(shape...)
			tc.f(x, layerRand(1))
			mean, std, maxAbs := moments(x.Data())
			switch {
			case tc.isConst:
				require.Equal(t, tc.constant, mean)
				require.Zero(t, std)
			case tc.bound > 0:
				require.LessOrEqual(t, maxAbs, tc.bound)
				require.Greater(t, maxAbs, 0.99*tc.bound)
				require.InDelta(t, tc.bound/math.Sqrt(3), std, 0.01*tc.bound)
				require.InDelta(t, 0, mean, 0.01*tc.bound)
			default:
				require.InDelta(t, tc.std, std, 0.01*tc.std)
				require.InDelta(t, 0, mean, 0.01*tc.std)
			}
		})
	}
}

func TestDefaultInitMatchesPyTorch(t *testing.T) {
	// Linear and Conv2d: weight and bias in U(−1/√fanIn, 1/√fanIn).
	d := NewDense(400, 300)
	_, _, wmax := moments(d.Weight.Value().Data())
	_, _, bmax := moments(d.Bias.Value().Data())
	require.LessOrEqual(t, wmax, 1/math.Sqrt(400))
	require.Greater(t, wmax, 0.99/math.Sqrt(400))
	require.LessOrEqual(t, bmax, 1/math.Sqrt(400))
	c := NewConv2D(8, 16, 3, WithGroups(2))
	_, _, cmax := moments(c.Weight.Value().Data())
	require.LessOrEqual(t, cmax, 1/math.Sqrt(4*9))
	require.Greater(t, cmax, 0.9/math.Sqrt(4*9))
	_, _, cbmax := moments(c.Bias.Value().Data())
	require.LessOrEqual(t, cbmax, 1/math.Sqrt(4*9))
	// Norm layers: weight 1, bias 0.
	bn := NewBatchNorm2D(3)
	require.Equal(t, []float32{1, 1, 1}, bn.Weight.Value().Data())
	require.Equal(t, []float32{0, 0, 0}, bn.Bias.Value().Data())
	ln := NewLayerNorm(2)
	require.Equal(t, []float32{1, 1}, ln.Weight.Value().Data())
	require.Equal(t, []float32{0, 0}, ln.Bias.Value().Data())
}

func TestSeeding(t *testing.T) {
	a := NewDense(5, 4, WithSeed(7))
	b := NewDense(5, 4, WithSeed(7))
	c := NewDense(5, 4, WithSeed(8))
	require.Equal(t, a.Weight.Value().Data(), b.Weight.Value().Data())
	require.NotEqual(t, a.Weight.Value().Data(), c.Weight.Value().Data())
	r1, r2 := layerRand(3), layerRand(3)
	require.Equal(t, NewDense(5, 4, WithRand(r1)).Bias.Value().Data(), NewDense(5, 4, WithRand(r2)).Bias.Value().Data())

	// Without a seed, models are reproducible from SetSeed.
	build := func() []float32 {
		SetSeed(42)
		m := NewSequential(NewDense(3, 3), NewDense(3, 2))
		return m.Params()[2].Value().Data()
	}
	first := build()
	require.Equal(t, first, build())
	SetSeed(DefaultSeed)
}
