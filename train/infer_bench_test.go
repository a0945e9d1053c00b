package train

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// inferModel is one row of the inference benchmark: a model, the shape of
// one example and a function drawing n examples.
type inferModel struct {
	name    string
	model   nn.Module
	batches []int
	input   func(r *rand.Rand, n int) *tensor.Tensor
}

func inferModels() []inferModel {
	images := func(r *rand.Rand, n int) *tensor.Tensor { return tensor.RandU(r, 0, 1, n, 1, 28, 28) }
	return []inferModel{
		{"mlp", flagshipMLP(), []int{1, 64}, images},
		{"convnet", kerasConvnet(), []int{1, 64}, images},
		{"chargpt", charGPT(), []int{1, 32}, func(r *rand.Rand, n int) *tensor.Tensor {
			ids := tensor.Zeros(n, 128)
			for i := range ids.Data() {
				ids.Data()[i] = float32(r.IntN(benchVocab))
			}
			return ids
		}},
	}
}

// BenchmarkInfer is Predict of one batch in evaluation mode, as
// bench/torch_infer.py times PyTorch under no_grad: the MNIST MLP and the
// Keras simple convnet at batch 1 and 64, the char-GPT forward over 128
// positions (benchVocab characters) at batch 1 and 32. With -cpu 1 it also
// reports the process's CPU time per batch. bench/run.sh sets the two side by side.
func BenchmarkInfer(b *testing.B) {
	b.Logf("GEMM kernel for [64 784]·[784 128]: %s", tensor.PackB(tensor.Zeros(128, 784), true).Kernel())
	r := rand.New(rand.NewPCG(1, 2))
	for _, m := range inferModels() {
		nn.PackForInference(m.model) // weights packed once, as serve does
		for _, n := range m.batches {
			x := m.input(r, n)
			b.Run(fmt.Sprintf("%s/b=%d", m.name, n), func(b *testing.B) {
				if _, err := Predict(m.model, x, n); err != nil { // warm up
					b.Fatal(err)
				}
				// With GOMAXPROCS 1 the process's CPU time is the time
				// Predict ran (cpuµs/batch: steady on a shared machine,
				// where wall time is not).
				single := runtime.GOMAXPROCS(0) == 1
				b.ReportAllocs()
				b.ResetTimer()
				cpu0, cpuOK := processCPU()
				for range b.N {
					if _, err := Predict(m.model, x, n); err != nil {
						b.Fatal(err)
					}
				}
				cpu1, _ := processCPU()
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e6, "µs/batch")
				if single && cpuOK && cpu1 > cpu0 {
					b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N)*1e6, "cpuµs/batch")
				}
			})
		}
	}
}
