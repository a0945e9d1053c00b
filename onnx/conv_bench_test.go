package onnx

import (
	"path/filepath"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// BenchmarkConvnetBatch64 times the Keras convnet fixture on a batch of
// 64 images through an arena, and reports the process's CPU time per
// batch (cpu-ns/op); bench/torch_infer.py's convnet/b=64 row is
// PyTorch's figure for the same network.
func BenchmarkConvnetBatch64(b *testing.B) {
	m, err := Load(filepath.Join("testdata", "convnet.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	arena := autograd.NewArena()
	x := tensor.Zeros(64, 1, 28, 28)
	for i := range x.Data() {
		x.Data()[i] = float32(i%251) / 251
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		arena.Reset()
		m.Forward(arena.Input(x))
	}
	if c := cpuTime() - cpu0; c > 0 {
		b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
