package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// poolTapGradRef is PoolTapGrad3x3 by its definition, in float64: the
// gradient of the convolution's output scattered to the winners, then
// every filter tap's product with the input summed over the whole plane.
func poolTapGradRef(x, gp, p []float32, idx []int32, rows, cols, ow, w int) [10]float64 {
	var acc [10]float64
	oh := len(x)/w - 2
	dz := make([]float64, oh*ow)
	for q := range rows * cols {
		if p[q] != 0 {
			dz[idx[q]] += float64(gp[q])
		}
	}
	for pos, d := range dz {
		oy, ox := pos/ow, pos%ow
		for ki := range 3 {
			for kj := range 3 {
				acc[3*ki+kj] += d * float64(x[(oy+ki)*w+ox+kj])
			}
		}
		acc[9] += d
	}
	return acc
}

// poolTapCase builds an input plane h×w (w ≥ ow + 2), its convolution
// output's winners for rows×cols windows (as MaxPool2x2 leaves them), the
// pooled values (a quarter +0, one NaN) and the pooled gradient.
func poolTapCase(r *rand.Rand, rows, cols, ow, w int) (x, gp, p []float32, idx []int32) {
	oh := 2*rows + r.IntN(2) // an odd last row, left out of the windows
	h := oh + 2
	x = make([]float32, h*w)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	n := rows * cols
	gp, p, idx = make([]float32, n), make([]float32, n), make([]int32, n)
	for py := range rows {
		for px := range cols {
			q := py*cols + px
			k := r.IntN(4)
			idx[q] = int32((2*py+k/2)*ow + 2*px + k%2)
			gp[q] = r.Float32()*2 - 1
			p[q] = r.Float32()
			if r.IntN(4) == 0 {
				p[q] = 0
			}
		}
	}
	if n > 2 {
		p[n/2] = float32(math.NaN()) // a NaN window passes its gradient
	}
	return x, gp, p, idx
}

// TestPoolTapGrad3x3 checks the kernel and its portable twin against the
// definition on awkward sizes (one window, odd widths and heights, rows of
// fewer windows than the vector width, input rows wider than ow + 2), and
// that both add onto acc rather than overwrite it.
func TestPoolTapGrad3x3(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cases := []struct{ rows, cols, ow, w int }{
		{1, 1, 2, 4}, {1, 1, 3, 5}, {13, 13, 26, 28}, {12, 12, 25, 27}, {3, 7, 15, 17}, {5, 2, 4, 9}, {7, 17, 35, 37}, {2, 3, 6, 11},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			x, gp, p, idx := poolTapCase(r, tc.rows, tc.cols, tc.ow, tc.w)
			want := poolTapGradRef(x, gp, p, idx, tc.rows, tc.cols, tc.ow, tc.w)
			for name, f := range map[string]func(acc []float32){
				"kernel":   func(acc []float32) { PoolTapGrad3x3(acc, x, gp, p, idx, tc.rows, tc.cols, tc.ow, tc.w) },
				"portable": func(acc []float32) { poolTapGrad3x3Portable(acc, x, gp, p, idx, tc.rows, tc.cols, tc.ow, tc.w) },
			} {
				acc := make([]float32, 11)
				for i := range acc {
					acc[i] = float32(i)
				}
				f(acc)
				for i := range 10 {
					require.InDelta(t, want[i]+float64(i), float64(acc[i]), 1e-4*float64(tc.rows*tc.cols+1), "%s: acc[%d]", name, i)
				}
				require.Equal(t, float32(10), acc[10], "%s wrote past acc[9]", name)
			}
		})
	}
	require.Panics(t, func() {
		PoolTapGrad3x3(make([]float32, 9), make([]float32, 16), []float32{1}, []float32{1}, []int32{0}, 1, 1, 2, 4)
	})
	require.Panics(t, func() {
		PoolTapGrad3x3(make([]float32, 10), make([]float32, 15), []float32{1}, []float32{1}, []int32{0}, 1, 1, 2, 4)
	})
}

// BenchmarkPoolTapGrad3x3 sums one output channel of the Keras convnet's
// first layer: 13×13 windows over a 26×26 output of a 28×28 input.
func BenchmarkPoolTapGrad3x3(b *testing.B) {
	x, gp, p, idx := poolTapCase(rand.New(rand.NewPCG(1, 2)), 13, 13, 26, 28)
	acc := make([]float32, 10)
	for b.Loop() {
		PoolTapGrad3x3(acc, x, gp, p, idx, 13, 13, 26, 28)
	}
}
