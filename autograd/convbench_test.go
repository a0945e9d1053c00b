package autograd

import (
	"testing"

	"github.com/shoshin-ml/shoshin/tensor"
)

// BenchmarkKerasConvnetLayers times each layer of the Keras simple MNIST
// convnet at batch 128 on its own, forward and backward through an arena,
// as a training step runs it: conv1 (1→32, 3×3, ReLU; no input gradient),
// pool1, conv2 (32→64, 3×3, ReLU) and pool2.
func BenchmarkKerasConvnetLayers(b *testing.B) {
	const n = 128
	conv := func(b *testing.B, xs, ws []int, inputGrad bool) {
		x := convRand(1, xs...)
		w, bias := NewVar(convRand(2, ws...)), NewVar(convRand(3, ws[0]))
		a := NewArena()
		oh, ow := xs[2]-ws[2]+1, xs[3]-ws[3]+1
		g := convRand(4, xs[0], ws[0], oh, ow)
		passes := 2.0
		if inputGrad {
			passes = 3
		}
		flops := passes * 2 * float64(xs[0]*ws[0]*oh*ow*ws[1]*ws[2]*ws[3])
		b.ReportAllocs()
		for b.Loop() {
			a.Reset()
			in := a.Constant(x)
			if inputGrad {
				in = NewVar(x)
			}
			y := Conv2D(in, w, bias, Conv2DOptions{ReLU: true})
			y.BackwardWith(g)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	pool := func(b *testing.B, xs ...int) {
		x := NewVar(convRand(1, xs...))
		g := tensor.Ones(xs[0], xs[1], xs[2]/2, xs[3]/2)
		a := NewArena()
		b.ReportAllocs()
		for b.Loop() {
			a.Reset()
			_ = a
			y := MaxPool2D(x, Pool2DOptions{Kernel: [2]int{2, 2}})
			y.BackwardWith(g)
		}
	}
	b.Run("conv1", func(b *testing.B) { conv(b, []int{n, 1, 28, 28}, []int{32, 1, 3, 3}, false) })
	b.Run("pool1", func(b *testing.B) { pool(b, n, 32, 26, 26) })
	b.Run("conv2", func(b *testing.B) { conv(b, []int{n, 32, 13, 13}, []int{64, 32, 3, 3}, true) })
	b.Run("pool2", func(b *testing.B) { pool(b, n, 64, 11, 11) })
}

// BenchmarkIm2col unfolds one sample of the Keras convnet's second layer
// input (32×13×13, 3×3 kernel) into its 288×121 column matrix.
func BenchmarkIm2col(b *testing.B) {
	g := newConvGeom([]int{1, 32, 13, 13}, []int{64, 32, 3, 3}, Conv2DOptions{})
	x := convRand(1, 1, 32, 13, 13).Data()
	dst := make([]float32, g.colSz)
	for b.Loop() {
		g.im2col(dst, x, g.ckk)
	}
}

// BenchmarkMax2x2 pools the 32 planes of 26×26 of the convnet's first
// layer output for one sample, recording the winners.
func BenchmarkMax2x2(b *testing.B) {
	g := newPoolGeom("MaxPool2D", []int{1, 32, 26, 26}, Pool2DOptions{Kernel: [2]int{2, 2}})
	x := convRand(1, 1, 32, 26, 26).Data()
	y, idx := make([]float32, 32*13*13), make([]int32, 32*13*13)
	for b.Loop() {
		g.maxRange(0, 32, y, x, idx)
	}
}

// BenchmarkConv1ReLUPool times the Keras convnet's fused first layer
// (Conv2DReLUMaxPool, 1→32, 3×3, 2×2 pooling, no input gradient) at batch
// 128, forward alone and forward with backward, on the direct kernel and
// on the GEMM path.
func BenchmarkConv1ReLUPool(b *testing.B) {
	x := convRand(1, 128, 1, 28, 28)
	w, bias := NewVar(convRand(2, 32, 1, 3, 3)), NewVar(convRand(3, 32))
	g := convRand(4, 128, 32, 13, 13)
	pool := Pool2DOptions{Kernel: [2]int{2, 2}}
	for _, direct := range []bool{true, false} {
		name := "gemm"
		if direct {
			name = "direct"
		}
		for _, backward := range []bool{false, true} {
			pass := "/forward"
			if backward {
				pass = "/step"
			}
			b.Run(name+pass, func(b *testing.B) {
				directConv = direct
				defer func() { directConv = true }()
				a := NewArena()
				b.ReportAllocs()
				for b.Loop() {
					a.Reset()
					y := Conv2DReLUMaxPool(a.Constant(x), w, bias, Conv2DOptions{}, pool)
					if backward {
						y.BackwardWith(g)
					}
				}
			})
		}
	}
}
