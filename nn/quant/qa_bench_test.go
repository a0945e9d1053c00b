package quant

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkQuantizeActivations(b *testing.B) {
	rows, cols := 64, 784
	x := randTensor(rand.New(rand.NewPCG(1, 2)), rows, cols).Data()
	q := make([]uint8, rows*cols)
	s := make([]float32, rows)
	zp := make([]int32, rows)
	for b.Loop() {
		quantizeActivations(x, rows, cols, q, cols, s, zp)
	}
	b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
}
