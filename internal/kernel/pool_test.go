package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// poolInput returns an h×w plane drawn from few values, so that windows
// hold ties, both zeros, negatives and NaNs.
func poolInput(rng *rand.Rand, h, w int) []float32 {
	vals := []float32{-2, -1, float32(math.Copysign(0, -1)), 0, 1, 3, float32(math.NaN())}
	x := make([]float32, h*w)
	for i := range x {
		if rng.IntN(4) == 0 {
			x[i] = rng.Float32()*4 - 2
		} else {
			x[i] = vals[rng.IntN(len(vals))]
		}
	}
	return x
}

// poolReference pools one window at a time in the plainest way: the first
// NaN, else the first maximal tap (±0 equal).
func poolReference(x []float32, h, w int, relu bool) ([]float32, []int32) {
	oh, ow := h/2, w/2
	y, idx := make([]float32, oh*ow), make([]int32, oh*ow)
	for i := range oh {
		for j := range ow {
			bi := -1
			var best float32
			for _, o := range []int{2*i*w + 2*j, 2*i*w + 2*j + 1, (2*i+1)*w + 2*j, (2*i+1)*w + 2*j + 1} {
				v := x[o]
				if bi < 0 || (best == best && (v != v || v > best)) {
					best, bi = v, o
				}
			}
			if relu && best == best && best <= 0 {
				best = 0
			}
			y[i*ow+j], idx[i*ow+j] = best, int32(bi)
		}
	}
	return y, idx
}

var poolSizes = [][2]int{{1, 1}, {2, 1}, {2, 2}, {3, 3}, {2, 7}, {4, 8}, {5, 9}, {2, 14}, {3, 15}, {2, 16}, {7, 17}, {26, 26}, {11, 11}, {6, 33}, {4, 40}}

// TestMaxPool2x2MatchesReference checks the kernel in use (assembly where
// the CPU has it) and the portable twin against the reference, bit for bit
// in value and winner, on widths that take every kernel width and its
// overlapping last step, with and without the ReLU and the winners.
func TestMaxPool2x2MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range poolSizes {
		h, w := sz[0], sz[1]
		for rep := range 20 {
			x := poolInput(rng, h, w)
			for _, relu := range []bool{false, true} {
				want, wantIdx := poolReference(x, h, w, relu)
				n := len(want)
				for _, port := range []bool{false, true} {
					y, idx := make([]float32, n+1), make([]int32, n+1)
					y[n], idx[n] = 42, 42 // must not be written
					if port {
						if n > 0 {
							maxPool2x2Portable(y, idx, x, h/2, w/2, w, relu)
						}
					} else {
						MaxPool2x2(y, idx, x, h, w, relu)
					}
					for i := range n {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(y[i]), "%dx%d rep %d relu %v portable %v: output %d", h, w, rep, relu, port, i)
						if !relu || want[i] > 0 || want[i] != want[i] {
							require.Equal(t, wantIdx[i], idx[i], "%dx%d rep %d relu %v portable %v: winner %d", h, w, rep, relu, port, i)
						}
					}
					require.Equal(t, float32(42), y[n])
					require.Equal(t, int32(42), idx[n])
					y2 := make([]float32, n)
					MaxPool2x2(y2, nil, x, h, w, relu)
					for i := range n {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(y2[i]), "%dx%d no winners relu %v: output %d", h, w, relu, i)
					}
				}
			}
		}
	}
}

// TestMaxPool2x2GradMatchesReference checks the gradient kernel and its
// twin against a clear-and-scatter reference over a plane full of stale
// values, with and without the mask of zero pooled values.
func TestMaxPool2x2GradMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range poolSizes {
		h, w := sz[0], sz[1]
		for rep := range 10 {
			x := poolInput(rng, h, w)
			p, idx := poolReference(x, h, w, true)
			gy := poolInput(rng, h/2, w/2)
			for _, masked := range []bool{false, true} {
				want := make([]float32, h*w)
				for i, o := range idx {
					if !masked || math.Float32bits(p[i]) != 0 {
						want[o] += gy[i]
					}
				}
				var pm []float32
				if masked {
					pm = p
				}
				for _, port := range []bool{false, true} {
					gx := make([]float32, h*w+1)
					for i := range gx {
						gx[i] = 7 // stale
					}
					if port {
						if len(idx) > 0 {
							maxPool2x2GradPortable(gx, gy, idx, pm, h/2, w/2, w)
							for r := range h {
								for c := range w {
									if r >= 2*(h/2) || c >= 2*(w/2) {
										gx[r*w+c] = 0
									}
								}
							}
						} else {
							clear(gx[:h*w])
						}
					} else {
						MaxPool2x2Grad(gx, gy, idx, pm, h, w)
					}
					for i := range want {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(gx[i]), "%dx%d rep %d masked %v portable %v: element %d", h, w, rep, masked, port, i)
					}
					require.Equal(t, float32(7), gx[h*w])
				}
			}
		}
	}
}

func BenchmarkMaxPool2x2(b *testing.B) {
	x := poolInput(rand.New(rand.NewPCG(1, 1)), 26, 26)
	y, idx := make([]float32, 13*13), make([]int32, 13*13)
	for b.Loop() {
		MaxPool2x2(y, idx, x, 26, 26, false)
	}
}

func BenchmarkMaxPool2x2Grad(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := poolInput(rng, 26, 26)
	p, idx := poolReference(x, 26, 26, true)
	gx := make([]float32, 26*26)
	for b.Loop() {
		MaxPool2x2Grad(gx, p, idx, p, 26, 26)
	}
}
