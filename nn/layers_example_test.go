package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// ExampleSequential builds a small classifier and lists its parameter
// names, which match the keys of the equivalent PyTorch nn.Sequential.
func ExampleSequential() {
	model := nn.NewSequential(
		nn.NewDense(784, 128, nn.WithActivation(nn.ActReLU)),
		nn.NewDropout(0.2),
		nn.NewDense(128, 10),
	)
	for _, p := range model.Params() {
		fmt.Println(p.Name, p.Shape())
	}
	// Output:
	// 0.weight [128 784]
	// 0.bias [128]
	// 2.weight [10 128]
	// 2.bias [10]
}

// ExampleSummary prints the layers of a small CNN for MNIST.
func ExampleSummary() {
	model := nn.NewSequential(
		nn.NewConv2D(1, 8, 3, nn.WithPadding(1), nn.WithActivation(nn.ActReLU)),
		nn.NewBatchNorm2D(8),
		nn.NewMaxPool2D(2),
		nn.NewFlatten(),
		nn.NewDense(8*14*14, 10),
	)
	fmt.Print(nn.Summary(model, 1, 28, 28))
	// Output:
	// Layer (type)      Output Shape        Activation   Param #
	// ==========================================================
	// 0 (Conv2D)        (None, 8, 28, 28)   ReLU         80
	// 1 (BatchNorm2D)   (None, 8, 28, 28)   -            33
	// 2 (MaxPool2D)     (None, 8, 14, 14)   -            0
	// 3 (Flatten)       (None, 1568)        -            0
	// 4 (Dense)         (None, 10)          -            15,690
	// ==========================================================
	// Total params: 15,803
	// Trainable params: 15,786
	// Non-trainable params: 17
}

// ExampleDense runs a Dense layer with fixed weights.
func ExampleDense() {
	d := nn.NewDense(3, 2,
		nn.WithWeightInit(nn.Constant(0.5)),
		nn.WithBiasInit(nn.Constant(-1)),
		nn.WithActivation(nn.ActReLU))
	x := autograd.Constant(tensor.New([]float32{1, 2, 3, -1, -2, -3}, 2, 3))
	y := d.Forward(x)
	fmt.Println(d)
	fmt.Println(y.Value().Data())
	// Output:
	// Dense(3 → 2, ReLU)
	// [2 2 0 0]
}

// ExampleOutputActivation tells a model that outputs probabilities from one
// that outputs logits, to pick the matching loss.
func ExampleOutputActivation() {
	logits := nn.NewSequential(nn.NewDense(4, 8, nn.WithActivation(nn.ActReLU)), nn.NewDense(8, 3))
	probs := nn.NewSequential(logits, nn.NewSoftmax())
	fmt.Println(nn.OutputActivation(logits), nn.OutputActivation(probs))
	// Output: None Softmax
}

// Example_inference predicts with a model still in training mode: an
// inference-mode input is evaluated (Dropout off, BatchNorm on its running
// statistics) and changes nothing in the model.
func Example_inference() {
	bn := nn.NewBatchNorm1D(2)
	model := nn.NewSequential(nn.NewDense(2, 2, nn.WithSeed(1)), bn, nn.NewDropout(0.5))
	model.Forward(autograd.NoGrad(tensor.Ones(4, 2)))
	fmt.Println(nn.IsTraining(model), bn.NumBatchesTracked.Value().Item())
	model.Forward(autograd.Constant(tensor.RandN(rand.New(rand.NewPCG(1, 2)), 0, 1, 4, 2)))
	fmt.Println(nn.IsTraining(model), bn.NumBatchesTracked.Value().Item())
	// Output:
	// true 0
	// true 1
}

// ExampleRNGState checkpoints the dropout generators with the weights, so
// that a resumed run draws the same masks as an uninterrupted one.
func ExampleRNGState() {
	model := nn.NewSequential(nn.NewDense(4, 4, nn.WithSeed(1)), nn.NewDropout(0.5, nn.WithSeed(2)))
	x := tensor.Ones(1, 4)
	state, err := nn.RNGState(model) // saved with the checkpoint
	if err != nil {
		panic(err)
	}
	first := model.Forward(autograd.Constant(x)).Value().Clone()

	if err := nn.SetRNGState(model, state); err != nil { // on resume
		panic(err)
	}
	again := model.Forward(autograd.Constant(x)).Value()
	fmt.Println(tensor.MaxAbsDiff(first, again))
	// Output: 0
}

// Ensemble averages the outputs of models built elsewhere. It names their
// Params "0.weight", "1.weight", ... through a ParamViews, so the members
// keep their own names and still load their own files.
type Ensemble struct {
	members []nn.Module
	views   nn.ParamViews
}

func (e *Ensemble) Forward(x *autograd.Var) *autograd.Var {
	sum := e.members[0].Forward(x)
	for _, m := range e.members[1:] {
		sum = autograd.Add(sum, m.Forward(x))
	}
	return autograd.MulScalar(sum, 1/float32(len(e.members)))
}

func (e *Ensemble) Params() []*nn.Param {
	var ps []*nn.Param
	for i, m := range e.members {
		ps = append(ps, e.views.Prefix(fmt.Sprint(i), m.Params())...)
	}
	return ps
}

func ExampleParamViews() {
	a, b := nn.NewDense(4, 2), nn.NewDense(4, 2, nn.WithoutBias())
	e := &Ensemble{members: []nn.Module{a, b}}
	for _, p := range e.Params() {
		fmt.Println(p.Name)
	}
	fmt.Println(a.Weight.Name, e.Params()[0].Var == a.Weight.Var)
	// Output:
	// 0.weight
	// 0.bias
	// 1.weight
	// weight true
}
