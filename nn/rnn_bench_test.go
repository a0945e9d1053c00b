package nn_test

import (
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
)

// BenchmarkLSTMTrainStep times forward and backward of a two-layer LSTM
// (input 64, hidden 256) over T=128 steps of a batch of 32, the same model
// and loss as nn/testdata/bench_lstm_torch.py. tokens/s counts T·B per step.
func BenchmarkLSTMTrainStep(b *testing.B) {
	const T, B, I, H = 128, 32, 64, 256
	m := nn.NewLSTM(I, H, nn.RNNConfig{Layers: 2}, nn.WithSeed(1))
	x := randT(1, T, B, I)
	w := autograd.Constant(randT(2, T, B, H))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, p := range m.Params() {
			p.ZeroGrad()
		}
		out := m.Forward(autograd.Constant(x))
		autograd.Sum(autograd.Mul(out, w), false).Backward()
	}
	b.ReportMetric(float64(T*B)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkLSTMInference times the forward pass alone on an inference-mode
// input.
func BenchmarkLSTMInference(b *testing.B) {
	const T, B, I, H = 128, 32, 64, 256
	m := nn.NewLSTM(I, H, nn.RNNConfig{Layers: 2}, nn.WithSeed(1))
	x := randT(1, T, B, I)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Forward(autograd.NoGrad(x))
	}
	b.ReportMetric(float64(T*B)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
