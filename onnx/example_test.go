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
