package train

import (
	"fmt"
	"testing"
)

// BenchmarkPredictConvnet is Predict with the Keras simple convnet in one
// batch of 1 and of 64 MNIST-sized images (bench/torch_cnnstep.py infer is
// PyTorch's figure for the same model); µs/batch is the time per call.
func BenchmarkPredictConvnet(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			m := kerasConvnet()
			x := mnistLike(n).X()
			if _, err := Predict(m, x, n); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := Predict(m, x, n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/batch")
		})
	}
}
