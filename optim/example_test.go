package optim_test

import (
	"bytes"
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// line returns the parameters of y = w·x + b, both zero.
func line() (w, b *nn.Param) {
	w = &nn.Param{Var: autograd.NewVar(tensor.Zeros(1, 1)), Name: "weight"}
	b = &nn.Param{Var: autograd.NewVar(tensor.Zeros(1)), Name: "bias"}
	return w, b
}

// Fit y = 2x + 1 with Adam.
func ExampleAdam() {
	x := autograd.Constant(tensor.New([]float32{0, 1, 2, 3}, 4, 1))
	y := autograd.Constant(tensor.New([]float32{1, 3, 5, 7}, 4, 1))
	w, b := line()
	opt := optim.NewAdam([]*nn.Param{w, b}, optim.AdamConfig{LR: 0.1})
	for range 1000 {
		opt.ZeroGrad()
		loss := autograd.MSE(autograd.Linear(x, w.Var, b.Var), y, autograd.ReduceMean)
		loss.Backward()
		opt.Step()
	}
	fmt.Printf("w = %.3f, b = %.3f\n", w.Value().Item(), b.Value().Item())
	// Output: w = 2.000, b = 1.000
}

// A StepLR schedule halves the learning rate every two epochs.
func ExampleStepLR() {
	w, b := line()
	opt := optim.NewSGD([]*nn.Param{w, b}, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	sched := optim.NewStepLR(opt, 2, 0.5)
	for epoch := range 6 {
		fmt.Printf("epoch %d: lr %.4f\n", epoch, opt.LR())
		// ... one epoch of opt.ZeroGrad(), loss.Backward(), opt.Step() ...
		sched.Step()
	}
	// Output:
	// epoch 0: lr 0.1000
	// epoch 1: lr 0.1000
	// epoch 2: lr 0.0500
	// epoch 3: lr 0.0500
	// epoch 4: lr 0.0250
	// epoch 5: lr 0.0250
}

// ClipGradNorm returns the norm before clipping, worth logging to spot
// exploding gradients.
func ExampleClipGradNorm() {
	w, b := line()
	x := autograd.Constant(tensor.New([]float32{100}, 1, 1))
	y := autograd.Constant(tensor.New([]float32{300}, 1, 1))
	// d/dw (100w + b − 300)² = −60000 and d/db = −600 at w = b = 0.
	autograd.MSE(autograd.Linear(x, w.Var, b.Var), y, autograd.ReduceMean).Backward()
	params := []*nn.Param{w, b}
	norm := optim.ClipGradNorm(params, 1)
	after := optim.ClipGradNorm(params, 1)
	fmt.Printf("before %.1f, after %.3f\n", norm, after)
	// Output: before 60003.0, after 1.000
}

// Reduce the learning rate when the validation loss stops improving.
func ExampleReduceLROnPlateau() {
	w, b := line()
	opt := optim.NewAdam([]*nn.Param{w, b}, optim.AdamConfig{LR: 1e-3})
	plateau := optim.NewReduceLROnPlateau(opt, optim.PlateauConfig{Factor: 0.5, Patience: 1})
	for _, valLoss := range []float64{0.9, 0.7, 0.71, 0.72, 0.6} {
		plateau.Step(valLoss)
		fmt.Printf("val loss %.2f: lr %g\n", valLoss, opt.LR())
	}
	// Output:
	// val loss 0.90: lr 0.001
	// val loss 0.70: lr 0.001
	// val loss 0.71: lr 0.001
	// val loss 0.72: lr 0.0005
	// val loss 0.60: lr 0.0005
}

// Parameter groups: no weight decay on biases, a larger learning rate for
// one layer.
func ExampleGroup() {
	w, b := line()
	head := &nn.Param{Var: autograd.NewVar(tensor.Zeros(2, 1)), Name: "head.weight"}
	opt := optim.NewAdamW([]*nn.Param{w, b, head}, optim.AdamWConfig{LR: 1e-3, WeightDecay: 0.05},
		optim.Group{Params: []*nn.Param{b}, WeightDecay: optim.Zero},
		optim.Group{Params: []*nn.Param{head}, LR: 1e-2})
	fmt.Println(opt.LR(), len(opt.Params()))
	// Output: 0.001 3
}

// Save the optimizer's state with the model's checkpoint and resume later.
func ExampleAdam_SaveState() {
	w, b := line()
	opt := optim.NewAdam([]*nn.Param{w, b}, optim.AdamConfig{})
	var buf bytes.Buffer // or a file: optim.SaveFile(opt, "opt.safetensors")
	if err := opt.SaveState(&buf); err != nil {
		fmt.Println(err)
		return
	}
	resumed := optim.NewAdam([]*nn.Param{w, b}, optim.AdamConfig{})
	fmt.Println(resumed.LoadState(&buf))
	// Output: <nil>
}
