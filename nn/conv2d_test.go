package nn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func TestConv2DForwardHandComputed(t *testing.T) {
	c := NewConv2D(1, 2, 2, WithWeightInit(Ones), WithBiasInit(Zeros))
	copy(c.Weight.Value().Data()[4:], []float32{1, 0, 0, -1}) // second filter: x[i,j] − x[i+1,j+1]
	c.Bias.Value().Data()[1] = 10
	x := tensor.New([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3)
	y := c.Forward(autograd.Constant(x))
	require.Equal(t, []int{1, 2, 2, 2}, y.Shape())
	require.Equal(t, []float32{12, 16, 24, 28, 6, 6, 6, 6}, y.Value().Data())

	// Padding 1, stride 2 on a 3×3 input: windows centred on the corners.
	p := NewConv2D(1, 1, 3, WithPadding(1), WithStride(2), WithWeightInit(Ones), WithoutBias())
	yp := p.Forward(autograd.Constant(x))
	require.Equal(t, []int{1, 1, 2, 2}, yp.Shape())
	require.Equal(t, []float32{12, 16, 24, 28}, yp.Value().Data())
	require.Equal(t, "Conv2D(1 → 1, 3x3, stride [2 2], padding [1 1])", p.String())

	// A rectangular kernel with dilation and a fused activation.
	r := NewConv2D(1, 1, 0, WithKernel(1, 2), WithDilation(1, 2), WithWeightInit(Constant(-1)), WithoutBias(), WithActivation(ActReLU))
	yr := r.Forward(autograd.Constant(tensor.Neg(x)))
	require.Equal(t, []int{1, 1, 3, 1}, yr.Shape())
	require.Equal(t, []float32{4, 10, 16}, yr.Value().Data())
	require.Panics(t, func() { NewConv2D(3, 4, 3, WithGroups(2)) })
}

func TestConv2DLayerGrad(t *testing.T) {
	cases := []struct {
		in, out, k int
		opts       []Option
		x          []int
	}{
		{1, 3, 3, nil, []int{2, 1, 5, 5}},
		{2, 4, 3, []Option{WithPadding(1), WithStride(2)}, []int{2, 2, 6, 5}},
		{2, 2, 2, []Option{WithDilation(2), WithPadding(1, 0), WithActivation(ActTanh)}, []int{1, 2, 5, 6}},
		{4, 4, 3, []Option{WithGroups(2), WithPadding(1), WithoutBias()}, []int{2, 4, 4, 4}},
	}
	for _, tc := range cases {
		c := NewConv2D(tc.in, tc.out, tc.k, append(tc.opts, WithSeed(3))...)
		checkLayerGrad(t, c, tensor.RandU(layerRand(4), -1, 1, tc.x...))
	}
}

// BenchmarkConv2D times a forward and backward pass of the Conv2D layer on
// the two convolutions of an MNIST CNN, with a batch of 64.
func BenchmarkConv2D(b *testing.B) {
	cases := []struct {
		name      string
		x         []int
		out       int
		inputGrad bool
	}{
		{"64x1x28x28-32c3x3", []int{64, 1, 28, 28}, 32, false},
		{"64x32x14x14-64c3x3", []int{64, 32, 14, 14}, 64, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c := NewConv2D(tc.x[1], tc.out, 3, WithPadding(1), WithSeed(1))
			xt := tensor.RandU(layerRand(1), -1, 1, tc.x...)
			x := autograd.Constant(xt)
			passes := 2.0
			if tc.inputGrad {
				x, passes = autograd.NewVar(xt), 3
			}
			g := tensor.Ones(c.Forward(x).Shape()...)
			flops := passes * 2 * float64(tc.x[0]*tc.out*tc.x[2]*tc.x[3]*tc.x[1]*9)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c.Forward(x).BackwardWith(g)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestTinyCNNLearns trains a small CNN (Conv2D, BatchNorm, pooling, Dense)
// to tell whether the bright blob of an 8×8 image is in its left or right
// half, checking that every layer's gradient drives the loss down.
func TestTinyCNNLearns(t *testing.T) {
	r := layerRand(11)
	const n = 64
	x := tensor.Zeros(n, 1, 8, 8)
	labels := tensor.Zeros(n)
	for i := range n {
		side := i % 2
		row, col := r.IntN(6)+1, r.IntN(3)+1+4*side
		for dr := -1; dr <= 1; dr++ {
			for dc := -1; dc <= 1; dc++ {
				if c := col + dc; c >= 0 && c < 8 {
					x.Set(1, i, 0, row+dr, c)
				}
			}
		}
		labels.Data()[i] = float32(side)
	}
	m := NewSequential(
		NewConv2D(1, 4, 3, WithPadding(1), WithSeed(1)),
		NewBatchNorm2D(4),
		NewReLU(),
		NewMaxPool2D(2),
		NewConv2D(4, 4, 3, WithPadding(1), WithSeed(2), WithActivation(ActReLU)),
		NewGlobalAvgPool2D(),
		NewDense(4, 2, WithSeed(3)),
	)
	loss := CrossEntropyLoss{}
	var first, last float32
	for step := range 60 {
		for _, p := range m.Params() {
			p.ZeroGrad()
		}
		l := loss.Forward(m.Forward(autograd.Constant(x)), labels)
		l.Backward()
		for _, p := range m.Params() {
			tensor.AddScaled(p.Value(), -0.5, p.Grad())
		}
		if step == 0 {
			first = l.Value().Item()
		}
		last = l.Value().Item()
	}
	require.Less(t, last, first/4, "loss %v → %v", first, last)
	Eval(m)
	pred := tensor.ArgMax(m.Forward(autograd.NoGrad(x)).Value(), 1)
	right := 0
	for i, p := range pred {
		if float32(p) == labels.Data()[i] {
			right++
		}
	}
	require.Greater(t, right, n*9/10)
}

// TestSequentialFusesConvReLUMaxPool checks that a Sequential runs a ReLU
// Conv2D and the MaxPool2D after it as one op, and that the model's output
// and parameter gradients are those of running the layers one by one, bit
// for bit.
func TestSequentialFusesConvReLUMaxPool(t *testing.T) {
	build := func() *Sequential {
		return NewSequential(
			NewConv2D(2, 4, 3, WithActivation(ActReLU), WithPadding(1), WithSeed(1)),
			NewMaxPool2D(2),
			NewConv2D(4, 3, 3, WithActivation(ActReLU), WithSeed(2)),
			NewMaxPool2D(3, WithStride(1)),
			NewFlatten(),
			NewDense(3, 2, WithSeed(3)),
		)
	}
	fused, plain := build(), build()
	c0 := fused.Layer(0).(*Conv2D)
	_, ok := c0.forwardWithNext(autograd.Constant(tensor.Zeros(1, 2, 6, 6)), fused.Layer(1))
	require.True(t, ok, "Conv2D(ReLU) + MaxPool2D fuse")
	_, ok = c0.forwardWithNext(nil, NewAvgPool2D(2))
	require.False(t, ok, "Conv2D + AvgPool2D do not fuse")
	tanh := NewConv2D(2, 4, 3, WithActivation(ActTanh))
	_, ok = tanh.forwardWithNext(nil, NewMaxPool2D(2))
	require.False(t, ok, "Conv2D(Tanh) + MaxPool2D do not fuse")

	x := tensor.RandU(layerRand(5), -1, 1, 3, 2, 10, 10)
	yf := fused.Forward(autograd.Constant(x))
	autograd.SumAll(autograd.Square(yf)).Backward()
	h := autograd.Constant(x)
	for i := range plain.Len() {
		h = plain.Layer(i).Forward(h)
	}
	autograd.SumAll(autograd.Square(h)).Backward()
	require.Equal(t, h.Value().Data(), yf.Value().Data())
	pf, pp := fused.Params(), plain.Params()
	for i := range pf {
		require.Equal(t, pp[i].Grad().Data(), pf[i].Grad().Data(), pf[i].Name)
	}
}
