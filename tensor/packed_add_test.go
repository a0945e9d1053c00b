package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMatMulPackedAddToAddsTheProduct checks dst = act(dst + a·op(b) +
// bias) against MatMul and Add, for row counts on and off the micro-kernel
// tiles (1 row takes the matrix-vector path) and both layouts of b.
func TestMatMulPackedAddToAddsTheProduct(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, trans := range []bool{false, true} {
		for _, m := range []int{1, 7, 17, 33, 130} {
			for _, kn := range [][2]int{{1, 1}, {7, 17}, {128, 33}} {
				k, n := kn[0], kn[1]
				b := RandN(r, 0, 1, k, n)
				if trans {
					b = RandN(r, 0, 1, n, k)
				}
				a, bias, res := RandN(r, 0, 1, m, k), RandN(r, 0, 1, n), RandN(r, 0, 1, m, n)
				for _, ep := range []Epilogue{{}, {Bias: bias}, {Bias: bias, Act: ActReLU}} {
					want := Add(res, MatMul(a, b, false, trans))
					if ep.Bias != nil {
						want = Add(want, bias)
					}
					if ep.Act == ActReLU {
						want = ReLU(want)
					}
					dst := res.Clone()
					MatMulPackedAddTo(dst, a, PackB(b, trans), ep)
					require.InDeltaSlice(t, want.Data(), dst.Data(), 1e-3, fmt.Sprintf("trans=%v m=%d k=%d n=%d bias=%v act=%d", trans, m, k, n, ep.Bias != nil, ep.Act))
				}
			}
		}
	}
	require.PanicsWithValue(t, "tensor.MatMulPackedAddTo: [2 3] times packed [3 4] gives [... 4], dst has shape [2 5]",
		func() { MatMulPackedAddTo(Zeros(2, 5), Zeros(2, 3), PackB(Zeros(3, 4), false), Epilogue{}) })
}
