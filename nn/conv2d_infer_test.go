package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestConv2DPackedInference checks that a convnet after PackForInference
// (the filters packed once, autograd.ConvCache) computes what it computes
// without, to float32 rounding, fused with the pooling or not, and that
// the packed filters follow a weight set with SetValue.
func TestConv2DPackedInference(t *testing.T) {
	build := func() *Sequential {
		return NewSequential(
			NewConv2D(1, 8, 3, WithActivation(ActReLU), WithSeed(1)), NewMaxPool2D(2),
			NewConv2D(8, 16, 3, WithActivation(ActReLU), WithPadding(1), WithSeed(2)),
			NewConv2D(16, 4, 3, WithSeed(3)),
		)
	}
	plain, packed := build(), build()
	PackForInference(packed)
	x := tensor.RandU(rand.New(rand.NewPCG(4, 5)), -1, 1, 3, 1, 17, 15)
	check := func(msg string) {
		want := plain.Forward(autograd.NoGrad(x)).Value()
		got := packed.Forward(autograd.NoGrad(x)).Value()
		require.Equal(t, want.Shape(), got.Shape(), msg)
		for i, w := range want.Data() {
			require.InDelta(t, w, got.Data()[i], 1e-4*(1+math.Abs(float64(w))), "%s: element %d", msg, i)
		}
	}
	check("packed")
	for _, m := range []*Sequential{plain, packed} {
		c := m.layers[2].(*Conv2D)
		c.Weight.SetValue(tensor.RandU(rand.New(rand.NewPCG(6, 7)), -1, 1, c.Weight.Shape()...))
	}
	check("after SetValue")
}
