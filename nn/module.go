package nn

import "github.com/shoshin-ml/shoshin/autograd"

// Module is a layer or a model: something that maps a Var to a Var and owns
// trainable parameters. Layers with several inputs add their own methods and
// still satisfy Module.
type Module interface {
	Forward(x *autograd.Var) *autograd.Var
	Params() []*Param
}

// Param is a trainable tensor with a stable, hierarchical name such as
// "0.weight" or "2.bias", matching the key PyTorch uses in a state_dict.
type Param struct {
	*autograd.Var
	Name string
}
