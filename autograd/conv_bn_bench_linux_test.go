//go:build linux

package autograd

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/tensor"
)

// BenchmarkBatchNormReLUMaxPool is the forward and backward of the fused
// op against BatchNormReLU followed by MaxPool2D, at the shapes of the
// BatchNorm CNN's two blocks (batch 64).
func BenchmarkBatchNormReLUMaxPool(b *testing.B) {
	for _, s := range [][4]int{{64, 32, 28, 28}, {64, 64, 14, 14}} {
		r := rand.New(rand.NewPCG(1, 2))
		x := tensor.RandN(r, 0, 1, s[:]...)
		wt, bs := NewVar(tensor.RandU(r, 0.5, 1.5, s[1])), NewVar(tensor.RandN(r, 0, 0.1, s[1]))
		gy := tensor.RandN(r, 0, 1, s[0], s[1], s[2]/2, s[3]/2)
		for _, fused := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%dx%d/fused=%v", s[0], s[1], s[2], s[3], fused), func(b *testing.B) {
				a := NewArena()
				t0 := processCPU()
				for b.Loop() {
					a.Reset()
					xv := a.Constant(x)
					xv.SetRequiresGrad(true)
					var y *Var
					if fused {
						y, _, _ = BatchNormReLUMaxPool(xv, wt, bs, 1e-5)
					} else {
						z, _, _ := BatchNormReLU(xv, wt, bs, 1e-5)
						y = MaxPool2D(z, Pool2DOptions{Kernel: [2]int{2, 2}})
					}
					y.BackwardWith(gy)
					wt.ZeroGrad()
					bs.ZeroGrad()
				}
				b.ReportMetric(float64(processCPU()-t0)/float64(b.N)/1e3, "cpuµs/op")
			})
		}
	}
}
