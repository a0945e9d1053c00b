package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// batchNormRef computes BatchNorm's output, statistics and gradients in
// float64, element by element, as the definition reads.
func batchNormRef(x, w, b, gy []float32, n, c, inner int, eps float64) (y, mean, variance, gx, gw, gb []float64) {
	m := float64(n * inner)
	at := func(s, ch, i int) int { return (s*c+ch)*inner + i }
	y, gx = make([]float64, len(x)), make([]float64, len(x))
	mean, variance, gw, gb = make([]float64, c), make([]float64, c), make([]float64, c), make([]float64, c)
	for ch := range c {
		for s := range n {
			for i := range inner {
				mean[ch] += float64(x[at(s, ch, i)])
			}
		}
		mean[ch] /= m
		for s := range n {
			for i := range inner {
				d := float64(x[at(s, ch, i)]) - mean[ch]
				variance[ch] += d * d
			}
		}
		variance[ch] /= m
		inv := 1 / math.Sqrt(variance[ch]+eps)
		var sg, sgx float64
		for s := range n {
			for i := range inner {
				k := at(s, ch, i)
				xh := (float64(x[k]) - mean[ch]) * inv
				y[k] = xh*float64(w[ch]) + float64(b[ch])
				sg += float64(gy[k])
				sgx += float64(gy[k]) * xh
			}
		}
		gw[ch], gb[ch] = sgx, sg
		for s := range n {
			for i := range inner {
				k := at(s, ch, i)
				xh := (float64(x[k]) - mean[ch]) * inv
				gx[k] = float64(w[ch]) * inv / m * (m*float64(gy[k]) - sg - xh*sgx)
			}
		}
	}
	return y, mean, variance, gx, gw, gb
}

// TestBatchNormMatchesFloat64 checks BatchNorm's output, statistics and
// gradients against a float64 reference on awkward shapes (batches of 1,
// 7, 17 and 33; odd planes; inputs off zero, where the variance's sum
// must not cancel), with one and two workers, which must agree bit for
// bit (the larger shapes are spread over the workers).
func TestBatchNormMatchesFloat64(t *testing.T) {
	shapes := [][]int{{1, 3, 5, 7}, {7, 4, 3, 3}, {17, 5, 9, 9}, {33, 8, 13, 11}, {9, 6}, {2, 3, 31}}
	for si, s := range shapes {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			n, c := s[0], s[1]
			inner := 1
			for _, d := range s[2:] {
				inner *= d
			}
			x := convRand(uint64(si+1), s...)
			for i := range x.Data() {
				x.Data()[i] = 3*x.Data()[i] + 20 // mean ≈ 20, deviation ≈ 1.7
			}
			w, b, gy := convRand(uint64(si+10), c), convRand(uint64(si+20), c), convRand(uint64(si+30), s...)
			yr, mr, vr, gxr, gwr, gbr := batchNormRef(x.Data(), w.Data(), b.Data(), gy.Data(), n, c, inner, 1e-5)
			run := func(workers int) []*tensor.Tensor {
				prev := parallel.SetWorkers(workers)
				defer parallel.SetWorkers(prev)
				xv, wv, bv := NewVar(x), NewVar(w), NewVar(b)
				y, mean, variance := BatchNorm(xv, wv, bv, 1e-5)
				y.BackwardWith(gy)
				return []*tensor.Tensor{y.Value(), mean, variance, xv.Grad(), wv.Grad(), bv.Grad()}
			}
			got := run(1)
			for j, ref := range [][]float64{yr, mr, vr, gxr, gwr, gbr} {
				scale := 0.0
				for _, v := range ref {
					scale = max(scale, math.Abs(v))
				}
				for i, v := range ref {
					require.InDelta(t, v, got[j].Data()[i], 2e-6*max(scale, 1), "tensor %d at %d", j, i)
				}
			}
			two := run(2)
			for j := range got {
				require.Equal(t, got[j].Data(), two[j].Data(), "tensor %d: two workers differ from one", j)
			}
		})
	}
}

// TestBatchNormReLUMatchesSeparate checks the fused op against BatchNorm
// then ReLU on awkward shapes: the same output and statistics bit for
// bit, gradients to float32 rounding (the sums are taken in another
// order), and bit-identical results on one and two workers.
func TestBatchNormReLUMatchesSeparate(t *testing.T) {
	shapes := [][]int{{1, 3, 5, 7}, {7, 4, 3, 3}, {17, 5, 9, 9}, {33, 8, 13, 11}, {9, 6}, {2, 3, 31}}
	for si, s := range shapes {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			x, gy := convRand(uint64(si+1), s...), convRand(uint64(si+30), s...)
			w, b := convRand(uint64(si+10), s[1]), convRand(uint64(si+20), s[1])
			run := func(workers int, fused bool) []*tensor.Tensor {
				prev := parallel.SetWorkers(workers)
				defer parallel.SetWorkers(prev)
				xv, wv, bv := NewVar(x), NewVar(w), NewVar(b)
				var y *Var
				var mean, variance *tensor.Tensor
				if fused {
					y, mean, variance = BatchNormReLU(xv, wv, bv, 1e-5)
				} else {
					y, mean, variance = BatchNorm(xv, wv, bv, 1e-5)
					y = ReLU(y)
				}
				y.BackwardWith(gy)
				return []*tensor.Tensor{y.Value(), mean, variance, xv.Grad(), wv.Grad(), bv.Grad()}
			}
			want, got := run(1, false), run(1, true)
			for j := range 3 {
				require.Equal(t, want[j].Data(), got[j].Data(), "tensor %d", j)
			}
			for j := 3; j < len(want); j++ {
				for i, v := range want[j].Data() {
					require.InDelta(t, v, got[j].Data()[i], 1e-5*float64(max(abs32(v), 1)), "tensor %d at %d", j, i)
				}
			}
			two := run(2, true)
			for j := range got {
				require.Equal(t, got[j].Data(), two[j].Data(), "tensor %d: two workers differ from one", j)
			}
		})
	}
}

func TestBatchNormReLUGrad(t *testing.T) {
	for i, s := range [][]int{{5, 3}, {4, 2, 3}, {3, 2, 3, 4}} {
		c := s[1]
		res, err := CheckGrad(func(xs ...*Var) *Var {
			y, _, _ := BatchNormReLU(xs[0], xs[1], xs[2], 1e-5)
			return y
		}, []*tensor.Tensor{convRand(uint64(i+1), s...), convRand(uint64(i+10), c), convRand(uint64(i+20), c)}, GradCheckOptions{})
		require.NoError(t, err, "%v: %v", s, res)
	}
}
