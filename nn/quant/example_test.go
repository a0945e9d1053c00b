package quant_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/nn/quant"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

func Example() {
	model := nn.NewSequential(
		nn.NewFlatten(),
		nn.NewDense(28*28, 128, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)),
		nn.NewDense(128, 10, nn.WithSeed(2)),
	)
	// ... train model ...
	q, err := quant.Quantize(model)
	if err != nil {
		panic(err)
	}
	fmt.Println(q.(*nn.Sequential).Layer(1))

	var float, int8 bytes.Buffer
	_ = nn.Save(&float, model)
	_ = nn.Save(&int8, q)
	fmt.Printf("file: %d KiB float32, %d KiB int8\n", float.Len()/1024, int8.Len()/1024)

	x := tensor.Full(0.5, 2, 1, 28, 28)
	want, _ := train.Predict(model, x, 2)
	got, _ := train.Predict(q, x, 2)
	fmt.Printf("outputs %v, largest difference below 0.05: %v\n", got.Shape(), tensor.MaxAbsDiff(want, got) < 0.05)
	// Output:
	// quant.Dense(784 → 128, int8, ReLU)
	// file: 397 KiB float32, 100 KiB int8
	// outputs [2 10], largest difference below 0.05: true
}

// A quantised model saved with nn.SaveModel loads back with nn.LoadModel,
// int8 layers included, with no code but this package's import.
func Example_modelFile() {
	model := nn.NewSequential(
		nn.NewFlatten(),
		nn.NewDense(28*28, 128, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)),
		nn.NewDense(128, 10, nn.WithSeed(2)),
	)
	// ... train model ...
	q, err := quant.Quantize(model)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "quant")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mnist-int8.safetensors")
	if err := nn.SaveModel(path, q, nn.ModelInfo{InputShape: []int{1, 28, 28}}); err != nil {
		panic(err)
	}

	// In the serving program, which imports nn/quant:
	loaded, info, err := nn.LoadModel(path)
	if err != nil {
		panic(err)
	}
	fmt.Println(loaded.(*nn.Sequential).Layer(1), info.InputShape)
	x := tensor.Full(0.5, 2, 1, 28, 28)
	want, _ := train.Predict(q, x, 2)
	got, _ := train.Predict(loaded, x, 2)
	fmt.Println("identical predictions:", tensor.MaxAbsDiff(want, got) == 0)
	// Output:
	// quant.Dense(784 → 128, int8, ReLU) [1 28 28]
	// identical predictions: true
}

// An LSTM sequence model quantised whole: the LSTM becomes a quant.LSTM
// with int8 weight_ih and weight_hh, the Dense a quant.Dense, and the
// model takes the same inputs.
func Example_lstm() {
	model := nn.NewSequential(
		nn.NewLSTM(8, 32, nn.RNNConfig{Layers: 2, BatchFirst: true}, nn.WithSeed(1)),
		nn.NewFlatten(),
		nn.NewDense(5*32, 3, nn.WithSeed(2)),
	)
	// ... train model ...
	q, err := quant.Quantize(model)
	if err != nil {
		panic(err)
	}
	fmt.Println(q.(*nn.Sequential).Layer(0))

	x := tensor.Full(0.5, 4, 5, 8) // 4 sequences of 5 steps
	want, _ := train.Predict(model, x, 4)
	got, _ := train.Predict(q, x, 4)
	fmt.Printf("outputs %v, largest difference below 0.05: %v\n", got.Shape(), tensor.MaxAbsDiff(want, got) < 0.05)

	// A recurrent layer can also be quantised on its own, and keeps its
	// ForwardWith.
	l := quant.NewLSTM(nn.NewLSTM(8, 16, nn.RNNConfig{}, nn.WithSeed(3)))
	out, st := l.ForwardWith(autograd.NoGrad(tensor.Full(0.5, 5, 4, 8)), nn.LSTMState{}, []int{5, 4, 2, 1})
	fmt.Println(l, out.Shape(), st.H.Shape(), st.C.Shape())
	// Output:
	// quant.LSTM(8 → 32, layers=2, batch first, int8)
	// outputs [4 3], largest difference below 0.05: true
	// quant.LSTM(8 → 16, int8) [5 4 16] [1 4 16] [1 4 16]
}
