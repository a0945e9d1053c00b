//go:build linux

package autograd

import (
	"fmt"
	"syscall"
	"testing"
)

// processCPU returns the CPU time the process has used, in nanoseconds:
// on a shared machine far steadier than wall time for a one-thread run.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkWinograd compares the Winograd and im2col paths at inference
// with the fused ReLU, on the second layer of the Keras MNIST convnet
// (32→64 channels, 13×13 → 11×11) and wider layers.
func BenchmarkWinograd(b *testing.B) {
	for _, sh := range [][4]int{{32, 64, 13, 1}, {32, 64, 13, 64}, {64, 64, 13, 64}, {128, 128, 13, 16}, {64, 64, 28, 16}} {
		c, oc, hw, n := sh[0], sh[1], sh[2], sh[3]
		for _, minC := range []int{1, 1 << 30} {
			name := "winograd"
			if minC > 1 {
				name = "im2col"
			}
			b.Run(fmt.Sprintf("%d-%d-%d/b=%d/%s", c, oc, hw, n, name), func(b *testing.B) {
				x, w, bias := Constant(convRand(1, n, c, hw, hw)), Constant(convRand(2, oc, c, 3, 3)), Constant(convRand(3, oc))
				t0 := processCPU()
				withWinograd(minC, func() {
					for b.Loop() {
						Conv2D(x, w, bias, Conv2DOptions{ReLU: true})
					}
				})
				b.ReportMetric(float64(processCPU()-t0)/float64(b.N)/1e3, "cpuµs/op")
			})
		}
	}
}

// BenchmarkWinogradTrain compares the two paths on a training step of one
// layer (forward with the fused ReLU, then the input, weight and bias
// gradients).
func BenchmarkWinogradTrain(b *testing.B) {
	for _, sh := range [][4]int{{32, 64, 13, 128}, {64, 64, 13, 64}, {64, 64, 28, 16}, {16, 16, 28, 32}, {8, 16, 28, 32}, {16, 32, 14, 64}} {
		c, oc, hw, n := sh[0], sh[1], sh[2], sh[3]
		for _, minC := range []int{1, 1 << 30} {
			name := "winograd"
			if minC > 1 {
				name = "im2col"
			}
			b.Run(fmt.Sprintf("%d-%d-%d/b=%d/%s", c, oc, hw, n, name), func(b *testing.B) {
				x, w, bias := convRand(1, n, c, hw, hw), NewVar(convRand(2, oc, c, 3, 3)), NewVar(convRand(3, oc))
				gy := convRand(4, n, oc, hw-2, hw-2)
				t0 := processCPU()
				withWinograd(minC, func() {
					for b.Loop() {
						xv := NewVar(x)
						Conv2D(xv, w, bias, Conv2DOptions{ReLU: true}).BackwardWith(gy)
					}
				})
				b.ReportMetric(float64(processCPU()-t0)/float64(b.N)/1e3, "cpuµs/op")
			})
		}
	}
}

// BenchmarkWinogradTrainPooled compares the Winograd and im2col training
// passes on the Keras convnet's second layer as it trains: Conv2D 32→64
// on 13×13 planes fused with the ReLU and 2×2 pooling, then the input,
// weight and bias gradients, at batch 128.
func BenchmarkWinogradTrainPooled(b *testing.B) {
	const n = 128
	x, w, bias := convRand(1, n, 32, 13, 13), NewVar(convRand(2, 64, 32, 3, 3)), NewVar(convRand(3, 64))
	gy := convRand(4, n, 64, 5, 5)
	pool := Pool2DOptions{Kernel: [2]int{2, 2}}
	for _, on := range []bool{true, false} {
		name := "winograd"
		if !on {
			name = "im2col"
		}
		b.Run(name, func(b *testing.B) {
			a := NewArena()
			t0 := processCPU()
			withWinoTrain(on, func() {
				for b.Loop() {
					a.Reset()
					xv := a.Constant(x)
					xv.SetRequiresGrad(true)
					Conv2DReLUMaxPool(xv, w, bias, Conv2DOptions{}, pool).BackwardWith(gy)
					w.ZeroGrad()
					bias.ZeroGrad()
				}
			})
			b.ReportMetric(float64(processCPU()-t0)/float64(b.N)/1e3, "cpuµs/op")
		})
	}
}
