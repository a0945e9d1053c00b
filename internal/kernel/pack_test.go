package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// packTransposedRef is the definition of packTransposed.
func packTransposedRef(dst, x []float32, off, sj, kb, w, nr int) {
	for p := 0; p < kb; p++ {
		for j := 0; j < w; j++ {
			dst[p*nr+j] = x[off+j*sj+p]
		}
	}
}

func TestPackTransposed(t *testing.T) {
	// Every row count around the 8- and 4-row blocks, with an offset, a row
	// stride larger than kb and guard values around both slices: a wrong
	// stride, a dropped tail row or a write past the panel shows.
	rng := rand.New(rand.NewPCG(5, 5))
	const guard = -12345
	// kb crosses the 8×8 blocks of the assembly (8, 16, 64) and leaves
	// tails after them (17, 33); nr 6 and 12 are the AVX2 and AVX-512
	// kernels' A panels.
	for _, nr := range []int{6, 12, 16, 32} {
		for _, kb := range []int{0, 1, 3, 7, 8, 16, 17, 33, 64} {
			for w := 0; w <= nr; w++ {
				off, sj := 3, kb+5
				x := randSlice(rng, off+max(w, 1)*sj+4)
				got := make([]float32, kb*nr+8)
				want := make([]float32, kb*nr+8)
				for i := range got {
					got[i], want[i] = guard, guard
				}
				xc := append([]float32(nil), x...)
				packTransposed(got[:kb*nr], x, off, sj, kb, w, nr)
				packTransposedRef(want[:kb*nr], x, off, sj, kb, w, nr)
				require.Equal(t, want, got, "nr=%d kb=%d w=%d", nr, kb, w)
				require.Equal(t, xc, x, "input changed")
			}
		}
	}
}

// BenchmarkPackTransposed packs the transposed [784, 128] weight of the
// MLP's input gradient (dY·Wᵀ) in 32-wide panels, the packing that runs
// before the micro-kernel on that shape.
func BenchmarkPackTransposed(b *testing.B) {
	const n, k, nr = 784, 128, 32
	x := randSlice(rand.New(rand.NewPCG(1, 1)), n*k)
	dst := make([]float32, k*nr)
	for _, impl := range []struct {
		name string
		fn   func(dst, x []float32, off, sj, kb, w, nr int)
	}{{"fast", packTransposed}, {"ref", packTransposedRef}} {
		b.Run(fmt.Sprint(impl.name), func(b *testing.B) {
			b.SetBytes(4 * n * k)
			for b.Loop() {
				for j0 := 0; j0 < n; j0 += nr {
					impl.fn(dst, x, j0*k, k, k, min(nr, n-j0), nr)
				}
			}
		})
	}
}

func TestPackByRows(t *testing.T) {
	// Each panel of the block must equal packPanel's packing of it (zero
	// padding the last), for the A and B panels of every kernel (6, 8, 12,
	// 16, 32) and an odd width (5, the copy path), full and ragged blocks, with
	// guard values after the block: a wrong panel stride, a dropped last
	// panel or stale padding shows.
	rng := rand.New(rand.NewPCG(6, 6))
	const guard = -12345
	for _, mr := range []int{5, 6, 8, 12, 16, 32} {
		for _, kb := range []int{0, 1, 7, 33} {
			for mb := 0; mb <= 3*mr+1; mb++ {
				np := (mb + mr - 1) / mr
				off, sp := 2, mb+3
				x := randSlice(rng, off+max(kb, 1)*sp+4)
				got := make([]float32, np*kb*mr+8)
				want := make([]float32, np*kb*mr+8)
				for i := range got {
					got[i], want[i] = guard, guard
				}
				for i := range got[:np*kb*mr] {
					got[i] = float32(i) // stale values the padding must overwrite
				}
				xc := append([]float32(nil), x...)
				packByRows(got, x, off, sp, kb, mb, mr)
				for q := 0; q < np && kb > 0; q++ {
					packPanel(want[q*kb*mr:(q+1)*kb*mr], x, off+q*mr, sp, 1, kb, min(mr, mb-q*mr), mr)
				}
				require.Equal(t, want, got, "mr=%d kb=%d mb=%d", mr, kb, mb)
				require.Equal(t, xc, x, "input changed")
			}
		}
	}
}
