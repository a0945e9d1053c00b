package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// reportBytes makes ns/op comparable across sizes via MB/s of output.
func benchBinary(b *testing.B, x, y *Tensor) {
	dst := Zeros(x.Shape()...)
	b.SetBytes(int64(4 * dst.Size()))
	b.ReportAllocs()
	for b.Loop() {
		AddTo(dst, x, y)
	}
}

func BenchmarkAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][2]int{{64, 128}, {1024, 1024}} {
		x, same, row := randT(r, s[0], s[1]), randT(r, s[0], s[1]), randT(r, s[1])
		col := randT(r, s[0], 1)
		b.Run(fmt.Sprintf("same/%dx%d", s[0], s[1]), func(b *testing.B) { benchBinary(b, x, same) })
		b.Run(fmt.Sprintf("row/%dx%d", s[0], s[1]), func(b *testing.B) { benchBinary(b, x, row) })
		b.Run(fmt.Sprintf("col/%dx%d", s[0], s[1]), func(b *testing.B) { benchBinary(b, x, col) })
		b.Run(fmt.Sprintf("alloc/%dx%d", s[0], s[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Add(x, row)
			}
		})
	}
}

func BenchmarkAddGeneral(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x, y := randT(r, 32, 1, 256), randT(r, 64, 1)
	dst := Zeros(32, 64, 256)
	b.SetBytes(int64(4 * dst.Size()))
	b.ReportAllocs()
	for b.Loop() {
		MulTo(dst, x, y)
	}
}

func BenchmarkSum(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 3))
	for _, s := range [][2]int{{64, 128}, {1024, 1024}} {
		x := randT(r, s[0], s[1])
		for axis := range 2 {
			b.Run(fmt.Sprintf("axis%d/%dx%d", axis, s[0], s[1]), func(b *testing.B) {
				b.SetBytes(int64(4 * x.Size()))
				b.ReportAllocs()
				for b.Loop() {
					Sum(x, false, axis)
				}
			})
		}
	}
}

func BenchmarkSoftmax(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 4))
	for _, s := range [][2]int{{64, 10}, {256, 1000}} {
		x := randT(r, s[0], s[1])
		dst := ZerosLike(x)
		b.Run(fmt.Sprintf("%dx%d", s[0], s[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				SoftmaxTo(dst, x, -1)
			}
		})
	}
}

func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 5))
	for _, n := range []int{64, 256} {
		x, y := randT(r, n, n), randT(r, n, n)
		dst := Zeros(n, n)
		for _, tb := range []bool{false, true} {
			b.Run(fmt.Sprintf("%d/transB=%v", n, tb), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					MatMulTo(dst, x, y, false, tb)
				}
				b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkTranspose(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 6))
	x := randT(r, 1024, 1024)
	b.SetBytes(int64(4 * x.Size()))
	b.ReportAllocs()
	for b.Loop() {
		Transpose(x)
	}
}
