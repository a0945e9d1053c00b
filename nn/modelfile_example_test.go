package nn_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

func ExampleSaveModel() {
	dir, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "iris.safetensors")

	model := nn.NewSequential(
		nn.NewDense(4, 16, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)),
		nn.NewDropout(0.2),
		nn.NewDense(16, 3, nn.WithSeed(2)),
		nn.NewSoftmax(),
	)
	info := nn.ModelInfo{InputShape: []int{4}, ClassNames: []string{"setosa", "versicolor", "virginica"}}
	// Fitted preprocessing travels as JSON; a *data.Standardizer marshals
	// itself the same way.
	if err := info.SetExtra("scale", map[string][]float32{"mean": {5.8, 3.1, 3.8, 1.2}}); err != nil {
		fmt.Println(err)
		return
	}
	if err := nn.SaveModel(path, model, info); err != nil {
		fmt.Println(err)
		return
	}

	// Elsewhere, with no code that knows the architecture:
	loaded, got, err := nn.LoadModel(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := autograd.NoGrad(tensor.New([]float32{5.1, 3.5, 1.4, 0.2}, 1, 4))
	same := fmt.Sprint(model.Forward(x).Value().Data()) == fmt.Sprint(loaded.Forward(x).Value().Data())
	var scale map[string][]float32
	ok, _ := got.Extra("scale", &scale)
	spec, _ := nn.DescribeModel(loaded)
	b, _ := json.Marshal(spec)
	fmt.Println(got.InputShape, got.ClassNames, ok, scale["mean"])
	fmt.Println("same predictions:", same)
	fmt.Println(string(b))
	// Output:
	// [4] [setosa versicolor virginica] true [5.8 3.1 3.8 1.2]
	// same predictions: true
	// {"kind":"Sequential","layers":[{"kind":"Dense","config":{"in":4,"out":16,"activation":"ReLU"}},{"kind":"Dropout","config":{"p":0.2}},{"kind":"Dense","config":{"in":16,"out":3}},{"kind":"Softmax","config":{"axis":-1}}]}
}

// Swish is a user's layer: x·σ(βx) with a fixed β.
type Swish struct{ Beta float32 }

func (s *Swish) Forward(x *autograd.Var) *autograd.Var {
	return autograd.Mul(x, autograd.Sigmoid(autograd.MulScalar(x, s.Beta)))
}

func (s *Swish) Params() []*nn.Param { return nil }

// LayerConfig makes Swish savable with nn.SaveModel.
func (s *Swish) LayerConfig() (string, any) { return "Swish", map[string]float32{"beta": s.Beta} }

// The package that defines a layer registers its kind once, in an init
// function.
func init() {
	nn.RegisterLayer("Swish", func(cfg json.RawMessage) (nn.Module, error) {
		var c struct{ Beta float32 }
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, err
		}
		return &Swish{Beta: c.Beta}, nil
	})
}

func ExampleRegisterLayer() {
	// Swish is registered by the init function above.
	dir, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "swish.safetensors")
	model := nn.NewSequential(nn.NewDense(2, 2, nn.WithSeed(1)), &Swish{Beta: 1.5})
	if err := nn.SaveModel(path, model, nn.ModelInfo{}); err != nil {
		fmt.Println(err)
		return
	}
	loaded, _, err := nn.LoadModel(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(loaded.(*nn.Sequential).Layer(1).(*Swish).Beta)
	// Output: 1.5
}

func ExampleMapModel() {
	dir, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "big.safetensors")
	if err := nn.SaveModel(path, nn.NewSequential(nn.NewDense(512, 512, nn.WithSeed(1))), nn.ModelInfo{}); err != nil {
		fmt.Println(err)
		return
	}
	mm, err := nn.MapModel(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mm.Close() // only once the model is no longer used
	y := mm.Model.Forward(autograd.NoGrad(tensor.Ones(1, 512)))
	fmt.Println(y.Shape())
	// Output: [1 512]
}
