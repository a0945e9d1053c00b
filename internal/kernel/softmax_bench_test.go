package kernel

import (
	"fmt"
	"testing"
)

// BenchmarkSoftmaxRow times the softmax row kernels on cache-resident
// rows of the char-GPT's causal attention (lengths 1 to 128 in turn)
// against the separate passes they replace.
func BenchmarkSoftmaxRow(b *testing.B) {
	const ld = 144
	e := make([]float32, 128*ld)
	dp := make([]float32, 128*ld)
	ones := Ones(128)
	for i := range e {
		e[i], dp[i] = float32(i%13)*0.01, float32(i%7)*0.1-0.3
	}
	for _, fused := range []bool{false, true} {
		b.Run(fmt.Sprintf("backward/fused=%v", fused), func(b *testing.B) {
			for b.Loop() {
				for i := range 128 {
					er, dr := e[i*ld:i*ld+i+1], dp[i*ld:i*ld+i+1]
					if fused {
						SoftmaxBackward(er, dr, 1)
						continue
					}
					Scale(1, er)
					Axpy(-Dot(er, dr), ones[:i+1], dr)
					Mul(dr, dr, er)
				}
			}
		})
		b.Run(fmt.Sprintf("forward/fused=%v", fused), func(b *testing.B) {
			for b.Loop() {
				for i := range 128 {
					row := e[i*ld : i*ld+i+1]
					if fused {
						ExpShiftSum(row, 0)
						continue
					}
					n8 := min((i+8)&^7, ld)
					Axpy(0, ones[:i+1], row)
					Exp(e[i*ld:i*ld+n8], e[i*ld:i*ld+n8])
					Sum(row)
				}
			}
		})
	}
}
