package nn

import (
	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Module is a layer or a model: something that maps a Var to a Var and owns
// trainable parameters. Layers with several inputs add their own methods and
// still satisfy Module.
type Module interface {
	Forward(x *autograd.Var) *autograd.Var
	Params() []*Param
}

// Param is a trainable tensor with a stable, hierarchical name such as
// "0.weight" or "2.bias", matching the key PyTorch uses in a state_dict.
//
// Dtype is the element type Save stores it as; empty means Float32. Values
// are float32 in memory whatever the Dtype: a buffer PyTorch keeps as an
// integer, such as BatchNorm's num_batches_tracked, has Dtype Int64 so
// that a saved model has PyTorch's dtypes.
type Param struct {
	*autograd.Var
	Name  string
	Dtype Dtype
}

// NewParam returns a trainable Param named name holding t.
func NewParam(name string, t *tensor.Tensor) *Param {
	return &Param{Var: autograd.NewVar(t), Name: name}
}

// NewBuffer returns a non-trainable Param named name holding t: state that
// is saved with a model but never updated by an optimizer, such as
// BatchNorm's running statistics.
func NewBuffer(name string, t *tensor.Tensor) *Param {
	return &Param{Var: autograd.Constant(t), Name: name}
}

// Prefix renames every Param in ps in place by prepending name and a dot,
// and returns ps. A composite module calls it once per child when it is
// built, so that names nest bottom-up the way PyTorch's do: a Dense stored
// as "gate" owns "gate.weight" and "gate.bias", and a Sequential holding
// that module at index 2 turns them into "2.gate.weight" and "2.gate.bias".
// Because it renames in place, each Param must be prefixed exactly once per
// level of nesting; a child's Params method must return the same *Param
// values on every call.
func Prefix(name string, ps []*Param) []*Param {
	for _, p := range ps {
		if p.Name == "" {
			p.Name = name
		} else {
			p.Name = name + "." + p.Name
		}
	}
	return ps
}

// Register prefixes the Params of child, and its buffers when it has any
// (see BufferOwner), with name, and returns child. Composite modules call it
// on each child in their constructor:
//
//	g.value = nn.Register("value", nn.NewDense(in, out))
func Register[M Module](name string, child M) M {
	Prefix(name, child.Params())
	if b, ok := any(child).(BufferOwner); ok {
		Prefix(name, b.Buffers())
	}
	return child
}

// Container is implemented by modules built from other modules. Walking
// Children reaches every layer of a model, which is how SetTraining
// switches them all.
type Container interface {
	Children() []Module
}

// CountParams returns the number of trainable scalars in m: the sizes of
// its Params whose Var requires a gradient.
func CountParams(m Module) int {
	n := 0
	for _, p := range m.Params() {
		if p.RequiresGrad() {
			n += p.Value().Size()
		}
	}
	return n
}
