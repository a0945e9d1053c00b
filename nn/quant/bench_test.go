package quant

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/train"
)

// BenchmarkPredictMLP compares train.Predict on the float32 MNIST MLP and
// its int8 quantisation, at batch 1 and 64, in the same run.
func BenchmarkPredictMLP(b *testing.B) {
	f := mlp(1)
	q, err := Quantize(f)
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 64} {
		x := randTensor(rand.New(rand.NewPCG(1, 2)), batch, 1, 28, 28)
		for _, m := range []struct {
			name  string
			model nn.Module
		}{{"float32-" + kernel.GemmImpl(), f}, {"int8-" + kernel.Int8Impl(), q}} {
			b.Run(fmt.Sprintf("batch%d/%s", batch, m.name), func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := train.Predict(m.model, x, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "examples/s")
				if c := cpuTime() - cpu0; c > 0 {
					b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}
