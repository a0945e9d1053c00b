//go:build amd64 && !purego

package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExpShiftSumAVX512 checks the AVX-512 row kernel against the AVX2
// one (where the machine has both) on rows of every awkward length, with
// masked (−Inf) scores, arguments down to underflow and past the clamp,
// and a NaN, and at every alignment: the exponentials must have the AVX2
// kernel's bits, the sum must agree with the AVX2 and the float64 sums to
// rounding, and no value before or after the row may change.
func TestExpShiftSumAVX512(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this machine")
	}
	r := rand.New(rand.NewPCG(11, 12))
	negInf := float32(math.Inf(-1))
	for _, n := range append(softmaxLens, 2, 15, 47, 48, 49, 200) {
		for _, spread := range []float64{1, 20, 120} {
			x0 := make([]float32, n)
			for i := range x0 {
				x0[i] = float32((r.Float64()*2 - 1) * spread)
				if i%5 == 3 {
					x0[i] = negInf
				}
			}
			nan := spread == 20 && n > 2
			if nan {
				x0[1] = float32(math.NaN())
			}
			shift := float32(spread / 2)
			want := append([]float32(nil), x0...)
			var wantSum float32
			if n > 0 {
				wantSum = expShiftSumAVX2(&want[0], n&^7, shift, tailMask(n))
			}
			var ref float64
			for _, v := range want {
				ref += float64(v)
			}
			for off := range 3 {
				msg := fmt.Sprintf("n=%d spread=%v off=%d", n, spread, off)
				all := make([]float32, off+n+20)
				for i := range all {
					all[i] = 12345
				}
				x := all[off : off+n]
				copy(x, x0)
				var s float32
				if n > 0 {
					s = expShiftSumAVX512(&x[0], n, shift)
				}
				for i := range all {
					if i < off || i >= off+n {
						require.Equal(t, float32(12345), all[i], "%s: wrote outside the row at %d", msg, i-off)
					}
				}
				for i := range x {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(x[i]), "%s: exp at %d", msg, i)
				}
				if nan {
					require.True(t, math.IsNaN(float64(s)), "%s: the sum drops a NaN", msg)
					continue
				}
				require.InDelta(t, float64(wantSum), float64(s), math.Abs(float64(wantSum))*float64(n+8)*0x1p-23+1e-30, "%s: sum", msg)
				require.InDelta(t, ref, float64(s), math.Abs(ref)*float64(n+8)*0x1p-23+1e-30, "%s: sum", msg)
			}
		}
	}
}

// TestSoftmaxBackwardAVX512 checks the AVX-512 form of the softmax
// gradient against the AVX2 kernel (where the machine has both): rows of
// every awkward length and alignment, with zero (masked) tails, must give
// the AVX2 kernel's bits in e, dp and the returned sum, and leave every
// value around the rows alone. The values around dp are NaNs, which
// would reach the sum if a lane past the row were read.
func TestSoftmaxBackwardAVX512(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this machine")
	}
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range append(softmaxLens, 2, 15, 47, 48, 49, 200) {
		e0, dp0 := make([]float32, n), make([]float32, n)
		for i := range n {
			e0[i] = r.Float32()
			if i%7 == 5 {
				e0[i] = 0
			}
			dp0[i] = r.Float32()*4 - 2
		}
		inv := float32(1 / (1 + float64(n)*r.Float64()))
		we, wdp := append([]float32(nil), e0...), append([]float32(nil), dp0...)
		var ws float32
		if n > 0 {
			ws = softmaxBackwardAVX2(&we[0], &wdp[0], n&^7, inv, tailMask(n))
		}
		for off := range 3 {
			msg := fmt.Sprintf("n=%d off=%d", n, off)
			ea, da := make([]float32, off+n+20), make([]float32, off+n+20)
			nan := math.Float32frombits(0x7fc00777)
			for i := range ea {
				ea[i], da[i] = 777, nan
			}
			e, dp := ea[off:off+n], da[off:off+n]
			copy(e, e0)
			copy(dp, dp0)
			var s float32
			if n > 0 {
				s = softmaxBackwardAVX512(&e[0], &dp[0], n&^7, inv, n&7)
			}
			require.Equal(t, math.Float32bits(ws), math.Float32bits(s), "%s: sum", msg)
			for i := range ea {
				if i < off || i >= off+n {
					require.Equal(t, float32(777), ea[i], "%s: e written outside the row at %d", msg, i-off)
					require.Equal(t, math.Float32bits(nan), math.Float32bits(da[i]), "%s: dp written outside the row at %d", msg, i-off)
				}
			}
			for i := range n {
				require.Equal(t, math.Float32bits(we[i]), math.Float32bits(e[i]), "%s: p at %d", msg, i)
				require.Equal(t, math.Float32bits(wdp[i]), math.Float32bits(dp[i]), "%s: dS at %d", msg, i)
			}
		}
	}
}
