package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// conv3x3Filters returns oc filters and biases from few values, so that
// the convolution outputs tie within windows.
func conv3x3Filters(rng *rand.Rand, oc int, ties bool) ([]float32, []float32) {
	vals := []float32{-1, 0, 0.5, 1}
	f, b := make([]float32, 9*oc), make([]float32, oc)
	for i := range f {
		if ties {
			f[i] = vals[rng.IntN(len(vals))]
		} else {
			f[i] = rng.Float32()*2 - 1
		}
	}
	for i := range b {
		b[i] = vals[rng.IntN(len(vals))]
	}
	return f, b
}

func TestConv3x3ReLUPool2x2MatchesPortable(t *testing.T) {
	if !conv3x3PoolFits(8) {
		t.Skip("no vector kernel on this build")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	// Pooled widths 8 (one block), 9, 13 (the Keras convnet's), 16, 17
	// and 33 (overlapping last blocks); odd and even planes.
	for _, sz := range [][2]int{{4, 18}, {4, 19}, {5, 20}, {28, 28}, {29, 29}, {7, 36}, {6, 37}, {11, 68}, {5, 70}} {
		h, w := sz[0], sz[1]
		for _, oc := range []int{1, 3, 32} {
			for rep := range 4 {
				ties := rep%2 == 0
				var x []float32
				if ties {
					x = poolInput(rng, h, w)
				} else {
					x = make([]float32, h*w)
					for i := range x {
						x[i] = rng.Float32()*2 - 1
					}
				}
				f, b := conv3x3Filters(rng, oc, ties)
				n := oc * ((h - 2) / 2) * ((w - 2) / 2)
				want, wantIdx := make([]float32, n), make([]int32, n)
				conv3x3PoolPortable(want, wantIdx, x, h, w, f, b)
				got, idx := make([]float32, n+1), make([]int32, n+1)
				got[n], idx[n] = 42, 42 // must not be written
				eo := make([]float32, Conv3x3PoolScratch(h, w))
				require.True(t, Conv3x3ReLUPool2x2(got, idx, x, h, w, f, b, eo))
				for i := range n {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%dx%d oc %d rep %d: output %d", h, w, oc, rep, i)
					require.Equal(t, wantIdx[i], idx[i], "%dx%d oc %d rep %d: winner %d", h, w, oc, rep, i)
				}
				require.Equal(t, float32(42), got[n])
				require.Equal(t, int32(42), idx[n])
				got2 := make([]float32, n)
				require.True(t, Conv3x3ReLUPool2x2(got2, nil, x, h, w, f, b, eo))
				for i := range n {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got2[i]), "%dx%d no winners: output %d", h, w, i)
				}
			}
		}
	}
}

// TestConv3x3PoolPortableMatchesPool checks the twin against a stored
// convolution plane pooled by MaxPool2x2: the same values and winners.
func TestConv3x3PoolPortableMatchesPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sz := range [][2]int{{3, 3}, {4, 5}, {9, 8}, {28, 28}, {13, 21}} {
		h, w := sz[0], sz[1]
		x := poolInput(rng, h, w)
		f, b := conv3x3Filters(rng, 2, true)
		ch, cw := h-2, w-2
		n := (ch / 2) * (cw / 2)
		got, idx := make([]float32, 2*n), make([]int32, 2*n)
		conv3x3PoolPortable(got, idx, x, h, w, f, b)
		for o := range 2 {
			z := make([]float32, ch*cw)
			for r := range ch {
				for c := range cw {
					var s float32
					for t := range 9 {
						s = float32(math.FMA(float64(f[o*9+t]), float64(x[(r+t/3)*w+c+t%3]), float64(s)))
					}
					z[r*cw+c] = s + b[o]
				}
			}
			want, wantIdx := poolReference(z, ch, cw, true)
			for i := range n {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[o*n+i]), "%dx%d filter %d: output %d", h, w, o, i)
				if want[i] > 0 || want[i] != want[i] {
					require.Equal(t, wantIdx[i], idx[o*n+i], "%dx%d filter %d: winner %d", h, w, o, i)
				}
			}
		}
	}
}

func TestConv3x3ReLUPool2x2Narrow(t *testing.T) {
	// Pooled rows narrower than 8 have no vector kernel: false, nothing written.
	x := make([]float32, 5*17)
	dst := []float32{42, 42, 42, 42, 42, 42, 42}
	eo := make([]float32, Conv3x3PoolScratch(5, 17))
	require.False(t, Conv3x3ReLUPool2x2(dst, nil, x, 5, 17, make([]float32, 9), []float32{1}, eo))
	require.Equal(t, float32(42), dst[0])
	require.Panics(t, func() { Conv3x3ReLUPool2x2(dst, nil, x, 5, 17, make([]float32, 9), []float32{1}, eo[:1]) })
}

// BenchmarkConv3x3ReLUPool2x2 runs the Keras convnet's first layer on one
// 28×28 sample: 32 filters, pooled to 13×13, with winners.
func BenchmarkConv3x3ReLUPool2x2(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 28*28)
	for i := range x {
		x[i] = rng.Float32()
	}
	f, bias := conv3x3Filters(rng, 32, false)
	dst, idx := make([]float32, 32*13*13), make([]int32, 32*13*13)
	eo := make([]float32, Conv3x3PoolScratch(28, 28))
	for b.Loop() {
		Conv3x3ReLUPool2x2(dst, idx, x, 28, 28, f, bias, eo)
	}
}
