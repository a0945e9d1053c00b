package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/chewxy/math32"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/stretchr/testify/require"
)

func TestUnaryHandComputed(t *testing.T) {
	x := t32([]float32{-2, -0.5, 0, 1, 4}, 5)
	pos := t32([]float32{0.25, 1, 4, 9}, 2, 2)
	e := float32(math.E)
	cases := []struct {
		name string
		f    func(*Tensor) *Tensor
		to   func(dst, a *Tensor)
		in   *Tensor
		want []float32
	}{
		{"Neg", Neg, NegTo, x, []float32{2, 0.5, 0, -1, -4}},
		{"Exp", Exp, ExpTo, t32([]float32{0, 1, -1}, 3), []float32{1, e, 1 / e}},
		{"Log", Log, LogTo, t32([]float32{1, e, 1 / e}, 3), []float32{0, 1, -1}},
		{"Sqrt", Sqrt, SqrtTo, pos, []float32{0.5, 1, 2, 3}},
		{"Abs", Abs, AbsTo, x, []float32{2, 0.5, 0, 1, 4}},
		{"Tanh", Tanh, TanhTo, t32([]float32{0, 1, -1}, 3), []float32{0, 0.7615942, -0.7615942}},
		{"Sigmoid", Sigmoid, SigmoidTo, t32([]float32{0, 2, -2, 100, -100}, 5), []float32{0.5, 0.8807971, 0.1192029, 1, 0}},
		{"ReLU", ReLU, ReLUTo, x, []float32{0, 0, 0, 1, 4}},
		{"Square", Square, SquareTo, x, []float32{4, 0.25, 0, 1, 16}},
		{"Sign", Sign, SignTo, x, []float32{-1, -1, 0, 1, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.f(c.in)
			require.Equal(t, c.in.Shape(), got.Shape())
			require.InDeltaSlice(t, c.want, got.Data(), 1e-6)
			dst := ZerosLike(c.in)
			c.to(dst, c.in)
			require.Equal(t, got.Data(), dst.Data())
			// In place through the To form.
			in := c.in.Clone()
			c.to(in, in)
			require.InDeltaSlice(t, got.Data(), in.Data(), 1e-7)
		})
	}
}

func TestSigmoidStable(t *testing.T) {
	got := Sigmoid(t32([]float32{-1000, 1000, -80, 80}, 4)).Data()
	for _, v := range got {
		require.False(t, math32.IsNaN(v) || math32.IsInf(v, 0))
	}
	require.Equal(t, float32(0), got[0])
	require.Equal(t, float32(1), got[1])
	require.Greater(t, got[2], float32(0))
}

func TestScalarOps(t *testing.T) {
	x := t32([]float32{-2, 0.5, 1, 4}, 2, 2)
	cases := []struct {
		name string
		got  *Tensor
		want []float32
	}{
		{"AddScalar", AddScalar(x, 1.5), []float32{-0.5, 2, 2.5, 5.5}},
		{"MulScalar", MulScalar(x, -2), []float32{4, -1, -2, -8}},
		{"Scale", Scale(x, 3), []float32{-6, 1.5, 3, 12}},
		{"Pow2", Pow(x, 2), []float32{4, 0.25, 1, 16}},
		{"Pow3", Pow(x, 3), []float32{-8, 0.125, 1, 64}},
		{"Pow0", Pow(x, 0), []float32{1, 1, 1, 1}},
		{"Pow1", Pow(x, 1), []float32{-2, 0.5, 1, 4}},
		{"Pow-1", Pow(x, -1), []float32{-0.5, 2, 1, 0.25}},
		{"Pow0.5", Pow(Abs(x), 0.5), []float32{1.4142135, 0.70710677, 1, 2}},
		{"Pow1.5", Pow(Abs(x), 1.5), []float32{2.828427, 0.35355338, 1, 8}},
		{"Clamp", Clamp(x, -1, 2), []float32{-1, 0.5, 1, 2}},
	}
	for _, c := range cases {
		require.Equal(t, x.Shape(), c.got.Shape(), c.name)
		require.InDeltaSlice(t, c.want, c.got.Data(), 1e-6, c.name)
	}
	require.Equal(t, []float32{-2, 0.5, 1, 4}, x.Data(), "inputs are not modified")
	require.PanicsWithValue(t, "tensor.Clamp: lo 2 > hi 1", func() { Clamp(x, 2, 1) })
	dst := ZerosLike(x)
	AddScalarTo(dst, x, 1)
	require.Equal(t, []float32{-1, 1.5, 2, 5}, dst.Data())
	MulScalarTo(dst, x, 2)
	require.Equal(t, []float32{-4, 1, 2, 8}, dst.Data())
	PowTo(dst, x, 2)
	require.Equal(t, []float32{4, 0.25, 1, 16}, dst.Data())
	ClampTo(dst, x, 0, 1)
	require.Equal(t, []float32{0, 0.5, 1, 1}, dst.Data())
}

func TestUnaryLargeParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randT(r, 3, 50000)
	got := Tanh(x)
	for i, v := range x.Data() {
		require.InDelta(t, math.Tanh(float64(v)), got.Data()[i], 1e-6)
	}
	got = AddScalar(x, 1)
	for i, v := range x.Data() {
		require.Equal(t, v+1, got.Data()[i])
	}
}

func TestUnaryToPanics(t *testing.T) {
	require.PanicsWithValue(t, "tensor.ExpTo: dst shape [3] does not match input shape [2 2]",
		func() { ExpTo(Zeros(3), Zeros(2, 2)) })
}

func TestSigmoidMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	x := RandU(r, -90, 90, 1000) // several blocks, both signs
	x.Data()[0] = 0
	got := Sigmoid(x)
	for i, v := range x.Data() {
		want := 1 / (1 + math.Exp(-float64(v)))
		require.InDelta(t, want, got.Data()[i], 1e-7, "x=%g", v)
	}
}

func BenchmarkSigmoid(b *testing.B) {
	x := RandU(rand.New(rand.NewPCG(1, 1)), -5, 5, 4096)
	dst := ZerosLike(x)
	b.SetBytes(int64(4 * x.Size()))
	b.ReportAllocs()
	for b.Loop() {
		SigmoidTo(dst, x)
	}
}

func TestSigmoidInPlace(t *testing.T) {
	x := t32([]float32{-3, -0.5, 0, 0.5, 3}, 5)
	want := Sigmoid(x)
	SigmoidTo(x, x)
	require.InDeltaSlice(t, want.Data(), x.Data(), 1e-7)
	small := Ones(16, 32)
	require.Zero(t, testalloc.PerRun(10, func() { SigmoidTo(small, small) }))
	out := ZerosLike(small)
	require.Zero(t, testalloc.PerRun(10, func() { SigmoidTo(out, small) }))
}
