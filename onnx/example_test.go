package onnx_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/onnx"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

// Load a model exported by torch.onnx.export and predict with it like any
// nn.Module, at any batch size.
func ExampleLoad() {
	m, err := onnx.Load("testdata/convnet.onnx") // the Keras MNIST convnet, from PyTorch
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m)
	fmt.Println("input:", m.Inputs()[0].Name, m.Inputs()[0].Shape, m.Inputs()[0].DimNames[0])
	logits, err := train.Predict(m, tensor.Zeros(5, 1, 28, 28), 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logits:", logits.Shape())
	// Output:
	// onnx.Model(opset 13, 8 nodes, 6 params, inputs "x")
	// input: x [-1 1 28 28] batch
	// logits: [5 10]
}

// Run a graph with several outputs by name.
func ExampleModel_Run() {
	m, err := onnx.Load("testdata/ops.onnx")
	if err != nil {
		log.Fatal(err)
	}
	outs, err := m.Run(map[string]*autograd.Var{"x": autograd.NoGrad(tensor.Zeros(2, 3, 4))})
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range m.Outputs() {
		fmt.Println(o.Name, outs[o.Name].Shape())
	}
	// Output:
	// s [2 4]
	// l [2 4 3]
}

// Export a model of ours; it loads back (here, and in ONNX tools) with the
// same outputs and parameter names.
func ExampleExport() {
	model := nn.NewSequential(
		nn.NewDense(4, 8, nn.WithSeed(1), nn.WithActivation(nn.ActReLU)),
		nn.NewDense(8, 3, nn.WithSeed(2)))
	var buf bytes.Buffer
	if err := onnx.Export(&buf, model, 4); err != nil {
		log.Fatal(err)
	}
	m, err := onnx.Decode(&buf)
	if err != nil {
		log.Fatal(err)
	}
	x := autograd.NoGrad(tensor.New([]float32{1, 2, 3, 4}, 1, 4))
	same := tensor.Equal(model.Forward(x).Value(), m.Forward(x).Value())
	fmt.Println(m.Params()[0].Name, same)
	// Output:
	// 0.weight true
}

// Export a sequence model: token ids through an embedding and a
// bidirectional two-layer LSTM. The ids input is declared INT64; the
// imported model takes them as nn.IDs, as the original does.
func ExampleExport_sequence() {
	model := nn.NewSequential(
		nn.NewEmbedding(100, 16, nn.WithSeed(1)),
		nn.NewLSTM(16, 32, nn.RNNConfig{Layers: 2, Bidirectional: true, BatchFirst: true}, nn.WithSeed(2)))
	var buf bytes.Buffer
	if err := onnx.Export(&buf, model, 10); err != nil { // sequences of 10 ids
		log.Fatal(err)
	}
	m, err := onnx.Decode(&buf)
	if err != nil {
		log.Fatal(err)
	}
	ids := autograd.NoGrad(nn.IDs([]int{1, 5, 7, 9, 2, 3, 99, 0, 4, 8}, 1, 10))
	y := m.Forward(ids).Value()
	fmt.Println(m.Inputs()[0].Type, y.Shape(), tensor.Equal(model.Forward(ids).Value(), y))
	// Output:
	// INT64 [1 10 64] true
}
