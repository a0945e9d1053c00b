package train

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// mnistLike makes n random 1×28×28 images in [0,1) with labels 0..9: the
// shapes and sizes of MNIST without needing the files.
func mnistLike(n int) *data.TensorDataset {
	r := rand.New(rand.NewPCG(1, 1))
	x := tensor.RandU(r, 0, 1, n, 1, 28, 28)
	y := tensor.Zeros(n)
	for i := range y.Data() {
		y.Data()[i] = float32(r.IntN(10))
	}
	ds, err := data.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	return ds
}

// flagshipMLP is the model of examples/mnist.
func flagshipMLP() *nn.Sequential {
	return nn.NewSequential(
		nn.NewFlatten(),
		nn.NewDense(784, 128, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)),
		nn.NewDense(128, 10, nn.WithSeed(2)),
	)
}

// lenet is the CNN of examples/mnist-cnn's shape class.
func lenet() *nn.Sequential {
	return nn.NewSequential(
		nn.NewConv2D(1, 32, 3, nn.WithPadding(1), nn.WithSeed(1)),
		nn.NewBatchNorm2D(32),
		nn.NewReLU(),
		nn.NewMaxPool2D(2),
		nn.NewConv2D(32, 64, 3, nn.WithPadding(1), nn.WithSeed(2)),
		nn.NewBatchNorm2D(64),
		nn.NewReLU(),
		nn.NewMaxPool2D(2),
		nn.NewFlatten(),
		nn.NewDropout(0.25, nn.WithSeed(3)),
		nn.NewDense(64*7*7, 128, nn.WithActivation(nn.ActReLU), nn.WithSeed(4)),
		nn.NewDense(128, 10, nn.WithSeed(5)),
	)
}

func benchEpoch(b *testing.B, model nn.Module, n int) {
	ds := mnistLike(n)
	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 1e-3})
	cfg := Config{Epochs: 1, BatchSize: 64, Seed: 1, Quiet: true}
	steps := float64((n + 63) / 64)
	if _, err := Fit(context.Background(), model, opt, ds, cfg); err != nil { // warm up
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := processCPU()
	for range b.N {
		if _, err := Fit(context.Background(), model, opt, ds, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu1, _ := processCPU()
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/epoch")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/steps*1e6, "µs/step")
	if cpuOK {
		// CPU seconds of the whole process (every thread): with -cpu 1
		// the work of one core, steady on a shared machine.
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/epoch")
	}
}

// BenchmarkEpochMLP is one epoch of the flagship MLP over 48,000
// MNIST-sized images at batch 64 (the training part of a 0.2 validation
// split).
func BenchmarkEpochMLP(b *testing.B) { benchEpoch(b, flagshipMLP(), 48000) }

// BenchmarkEpochCNN is one epoch of a LeNet-style CNN over 48,000
// MNIST-sized images at batch 64.
func BenchmarkEpochCNN(b *testing.B) { benchEpoch(b, lenet(), 48000) }

// BenchmarkPredictMLP is the latency of Predict on one image with the
// flagship MLP.
func BenchmarkPredictMLP(b *testing.B) {
	m := flagshipMLP()
	nn.Eval(m)
	x := tensor.Ones(1, 1, 28, 28)
	_, _ = Predict(m, x, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Predict(m, x, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckParams is the per-step cost of Fit's check for NaN and
// infinite parameters on the flagship MLP (101,770 parameters).
func BenchmarkCheckParams(b *testing.B) {
	params := flagshipMLP().Params()
	b.ReportAllocs()
	for range b.N {
		if err := checkParams(params); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictBatchMLP is Predict of 256 images in one batch with the
// flagship MLP (one extra row runs first to check the shapes).
func BenchmarkPredictBatchMLP(b *testing.B) {
	m := flagshipMLP()
	x := tensor.Ones(256, 1, 28, 28)
	_, _ = Predict(m, x, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Predict(m, x, 256); err != nil {
			b.Fatal(err)
		}
	}
}

// kerasConvnet is the Keras "simple MNIST convnet" example: two 3×3
// convolutions with ReLU and 2×2 max-pooling, dropout 0.5 and a softmax
// layer over 1600 features.
func kerasConvnet() *nn.Sequential {
	return nn.NewSequential(
		nn.NewConv2D(1, 32, 3, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)),
		nn.NewMaxPool2D(2),
		nn.NewConv2D(32, 64, 3, nn.WithActivation(nn.ActReLU), nn.WithSeed(2)),
		nn.NewMaxPool2D(2),
		nn.NewFlatten(),
		nn.NewDropout(0.5, nn.WithSeed(3)),
		nn.NewDense(64*5*5, 10, nn.WithSeed(4)),
	)
}

// BenchmarkCNNStep is one epoch of 20 training steps at batch 128 of the
// Keras simple convnet (after a warm-up epoch); µs/step and B/step are
// the per-step figures.
func BenchmarkCNNStep(b *testing.B) { benchSteps(b, kerasConvnet(), 20, 128) }

// BenchmarkCNNBNStep is one epoch of 20 training steps at batch 64 of
// the BatchNorm CNN of BenchmarkEpochCNN (after a warm-up epoch);
// µs/step and cpuµs/step are the per-step figures.
func BenchmarkCNNBNStep(b *testing.B) { benchSteps(b, lenet(), 20, 64) }

// benchSteps times epochs of steps training steps of model at batch
// batch with Adam, after a warm-up epoch, and reports µs/step and
// cpuµs/step.
func benchSteps(b *testing.B, model nn.Module, steps, batch int) {
	ds := mnistLike(steps * batch)
	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 1e-3})
	cfg := Config{Epochs: 1, BatchSize: batch, Seed: 1, Quiet: true}
	if _, err := Fit(context.Background(), model, opt, ds, cfg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := processCPU()
	for range b.N {
		if _, err := Fit(context.Background(), model, opt, ds, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu1, _ := processCPU()
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/float64(steps)*1e6, "µs/step")
	// The process's CPU time per step: with -cpu 1 it is the time the
	// step ran, steady on a shared machine where wall time is not; with
	// more threads, the work of all of them.
	if cpuOK && cpu1 > cpu0 {
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N)/float64(steps)*1e6, "cpuµs/step")
	}
}
