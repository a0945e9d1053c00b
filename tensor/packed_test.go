package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/stretchr/testify/require"
)

// TestMatMulPackedMatchesMatMul compares packed products, with every
// epilogue, against MatMul followed by the bias and ReLU, for both
// layouts of b, batch sizes around the micro-kernel tiles and a 3-D input.
func TestMatMulPackedMatchesMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, trans := range []bool{false, true} {
		for _, m := range []int{1, 2, 3, 7, 17, 33, 64} {
			for _, kn := range [][2]int{{1, 1}, {7, 17}, {33, 10}, {784, 128}} {
				k, n := kn[0], kn[1]
				b := RandN(r, 0, 1, k, n)
				if trans {
					b = RandN(r, 0, 1, n, k)
				}
				a := RandN(r, 0, 1, m, k)
				bias := RandN(r, 0, 1, n)
				p := PackB(b, trans)
				require.Equal(t, k, p.Rows())
				require.Equal(t, n, p.Cols())
				require.Same(t, b, p.Source())
				require.Equal(t, trans, p.Trans())
				plain := MatMul(a, b, false, trans)
				for _, ep := range []Epilogue{{}, {Bias: bias}, {Act: ActReLU}, {Bias: bias, Act: ActReLU}, {Bias: bias, Act: ActGELU}} {
					want := plain
					if ep.Bias != nil {
						want = Add(want, bias)
					}
					switch ep.Act {
					case ActReLU:
						want = ReLU(want)
					case ActGELU:
						want = geluRef(want)
					}
					name := fmt.Sprintf("trans=%v m=%d k=%d n=%d bias=%v act=%d", trans, m, k, n, ep.Bias != nil, ep.Act)
					got := MatMulPacked(a, p, ep)
					require.Equal(t, want.Shape(), got.Shape(), name)
					require.InDeltaSlice(t, want.Data(), got.Data(), 1e-3, name)
					dst := Full(7, m, n)
					MatMulPackedTo(dst, a, p, ep)
					require.Equal(t, got.Data(), dst.Data(), name)
				}
			}
		}
	}
	// Leading axes are rows of one product.
	a := RandN(r, 0, 1, 2, 5, 9)
	w := RandN(r, 0, 1, 4, 9)
	got := MatMulPacked(a, PackB(w, true), Epilogue{})
	requireClose(t, MatMul(a, w, false, true), got)
}

func TestMatMulPackedPanics(t *testing.T) {
	w := Zeros(4, 3)
	require.PanicsWithValue(t, "tensor.PackB: want a matrix, got shape [12]", func() { PackB(w.Reshape(12), false) })
	p := PackB(w, true) // op(w) is [3 4]
	require.PanicsWithValue(t, "tensor.MatMulPacked: shape [2 4] does not end in the 3 rows of the packed operand [3 4]", func() {
		MatMulPacked(Zeros(2, 4), p, Epilogue{})
	})
	require.PanicsWithValue(t, "tensor.MatMulPacked: bias has shape [3], want [4]", func() {
		MatMulPacked(Zeros(2, 3), p, Epilogue{Bias: Zeros(3)})
	})
	require.PanicsWithValue(t, "tensor.MatMulPackedTo: [2 3] times packed [3 4] gives [... 4], dst has shape [3 4]", func() {
		MatMulPackedTo(Zeros(3, 4), Zeros(2, 3), p, Epilogue{})
	})
	require.Panics(t, func() { MatMulPacked(Zeros(3), p, Epilogue{}) })
	require.PanicsWithValue(t, "tensor.MatMulPacked: unknown activation 9", func() {
		MatMulPacked(Zeros(2, 3), p, Epilogue{Act: 9})
	})
}

func TestMatMulPackedToAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	w, bias := RandN(r, 0, 1, 128, 784), RandN(r, 0, 1, 128)
	p := PackB(w, true)
	x, dst := RandN(r, 0, 1, 1, 784), Zeros(1, 128)
	ep := Epilogue{Bias: bias, Act: ActReLU}
	require.Zero(t, testalloc.PerRun(20, func() { MatMulPackedTo(dst, x, p, ep) }))
}

// geluRef is the exact GELU, x·Φ(x), in float64.
func geluRef(x *Tensor) *Tensor {
	y := Zeros(x.Shape()...)
	for i, v := range x.Data() {
		f := float64(v)
		y.Data()[i] = float32(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
	}
	return y
}
