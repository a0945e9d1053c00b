package autograd

import "github.com/shoshin-ml/shoshin/tensor"

// Function is a user-defined differentiable operation. Forward computes the
// output from the input values; Backward receives the gradient of the loss
// with respect to that output and returns one gradient per input, each
// shaped like its input (nil where an input needs none). Backward must not
// modify gradOut. A Function value may keep what Forward computed for use in
// Backward, so use a fresh value per call of Apply.
type Function interface {
	Forward(inputs ...*tensor.Tensor) *tensor.Tensor
	Backward(gradOut *tensor.Tensor) []*tensor.Tensor
}

// Apply runs f on the inputs' values and, when gradients are needed, records
// it on the tape so that Backward calls f.Backward. Built-in ops behave
// exactly like functions applied this way.
func Apply(f Function, inputs ...*Var) *Var {
	vals := make([]*tensor.Tensor, len(inputs))
	for i, v := range inputs {
		vals[i] = v.value
	}
	out := wrap(f.Forward(vals...), inputs...)
	return out.record(opName(f), f.Backward, inputs...)
}

func opName(f Function) string {
	if n, ok := f.(interface{ Name() string }); ok {
		return n.Name()
	}
	return "Function"
}
