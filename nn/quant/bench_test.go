package quant

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
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
	nn.PackForInference(f) // the float model at its fastest: weights packed once
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

// BenchmarkGenerate compares train.Generate (incremental decoding, one
// token at a time, sampling) on examples/char-gpt's default model (4
// blocks of 128, 4 heads, context 128, 80 characters) and a 2-layer LSTM
// of 256 (examples/char-lstm's) with their int8 versions, in the same run,
// in tokens per second.
func BenchmarkGenerate(b *testing.B) {
	const vocab, tokens = 80, 100
	for _, c := range []struct {
		name  string
		model nn.Module
	}{
		{"gpt", nn.NewGPT(nn.GPTModelConfig{VocabSize: vocab, BlockSize: 128, Layers: 4, Block: nn.GPTConfig{DModel: 128, Heads: 4}}, nn.WithSeed(1))},
		{"lstm", nn.NewRNNLM(nn.RNNLMConfig{Vocab: vocab, Embed: 64, Hidden: 256, Layers: 2}, nn.WithSeed(1))},
	} {
		q, err := Quantize(c.model)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []struct {
			name  string
			model nn.Module
		}{{"float32", c.model}, {"int8-" + kernel.Int8Impl(), q}} {
			b.Run(c.name+"/"+m.name, func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					_, err := train.Generate(context.Background(), m.model, []int{1, 2, 3}, train.GenerateConfig{
						MaxTokens: tokens, Temperature: 0.8, Rand: rand.New(rand.NewPCG(1, 2)),
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(tokens*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
				if c := cpuTime() - cpu0; c > 0 {
					b.ReportMetric(tokens*float64(b.N)/c.Seconds(), "tokens/cpu-s")
				}
			})
		}
	}
}

// BenchmarkLSTMForward runs a one-layer LSTM (input 128, hidden 256) over
// 32 sequences of 50 steps, float32 against int8 (the same weights). On
// one thread of a shared Zen 4 (go test -run '^$' -bench LSTMForward -cpu
// 1 -benchtime 10x -count 3) int8 took 14–16 ms against float32's 28–31 ms.
func BenchmarkLSTMForward(b *testing.B) {
	f := nn.NewLSTM(128, 256, nn.RNNConfig{BatchFirst: true}, nn.WithSeed(1))
	x := autograd.NoGrad(randTensor(rand.New(rand.NewPCG(1, 2)), 32, 50, 128))
	for _, m := range []struct {
		name string
		m    nn.Module
	}{{"float32", f}, {"int8", NewLSTM(f)}} {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				m.m.Forward(x)
			}
		})
	}
}
