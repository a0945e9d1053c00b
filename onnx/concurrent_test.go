package onnx

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

// TestConcurrentPredict runs one model from several goroutines at once
// (run it with -race): each gets the outputs of a sequential run.
func TestConcurrentPredict(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "gpt.onnx"))
	require.NoError(t, err)
	cases := readFixture(t, "gpt").Cases
	var wg sync.WaitGroup
	errs := make([]error, 8)
	outs := make([]*tensor.Tensor, 8)
	for g := range 8 {
		wg.Go(func() {
			c := cases[g%len(cases)]
			outs[g], errs[g] = train.Predict(m, c.Inputs["idx"].tensor(), 2)
		})
	}
	wg.Wait()
	for g := range 8 {
		require.NoError(t, errs[g])
		want := cases[g%len(cases)].Outputs["logits"].tensor()
		require.Less(t, maxRelErr(t, outs[g], want), 1e-5)
	}
}

// BenchmarkConvnetBatch1 times the Keras convnet fixture on one image, as
// train.PredictOne runs it, and reports the process's CPU time per image
// (cpu-ns/op), the figure to compare on a machine shared with other work.
func BenchmarkConvnetBatch1(b *testing.B) {
	m, err := Load(filepath.Join("testdata", "convnet.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	benchBatch1(b, m)
}

func benchBatch1(b *testing.B, m *Model) {
	arena := autograd.NewArena()
	x := tensor.Zeros(1, 1, 28, 28)
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
