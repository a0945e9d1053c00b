package nn

import (
	"sync"

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
// and returns ps. Because it renames in place, each Param must be prefixed
// exactly once per level of nesting, and only by the module that owns it;
// prefer Register, or a ParamViews, which renames nothing.
func Prefix(name string, ps []*Param) []*Param {
	for _, p := range ps {
		if p == nil {
			continue
		}
		p.Name = joinName(name, p.Name)
	}
	return ps
}

// joinName returns prefix.name, or prefix alone when name is empty.
func joinName(prefix, name string) string {
	if name == "" {
		return prefix
	}
	return prefix + "." + name
}

// Register prefixes the Params of child, and its buffers when it has any
// (see BufferOwner), with name, in place, and returns child. A composite
// module calls it on each child it builds in its constructor, so that
// names nest bottom-up the way PyTorch's do: a Dense registered as "gate"
// owns "gate.weight" and "gate.bias".
//
//	g.value = nn.Register("value", nn.NewDense(in, out))
//
// Because it renames the child, Register is only for children the module
// creates itself. To hold a module built elsewhere, such as a trained model
// that must keep loading its own saved file, leave it unrenamed and report
// its Params through a ParamViews, as Sequential does.
func Register[M Module](name string, child M) M {
	Prefix(name, child.Params())
	if b, ok := any(child).(BufferOwner); ok {
		Prefix(name, b.Buffers())
	}
	return child
}

// ParamViews gives a container prefixed names for its children's Params
// and buffers without renaming them. Prefix returns, for each child Param,
// a view: a Param named "prefix.name" that shares the child's
// *autograd.Var, so training, loading and saving through the view act on
// the child's tensors, while the child keeps its own names and still saves
// and loads on its own. The same child Param under the same name always
// gets the same view, so a container's Params returns the same pointers on
// every call (optimizers key their state by them).
//
// Sequential uses one; a user's container that holds modules built
// elsewhere can too:
//
//	type TwoTower struct {
//		left, right nn.Module
//		views       nn.ParamViews
//	}
//
//	func (t *TwoTower) Params() []*nn.Param {
//		return append(t.views.Prefix("left", t.left.Params()), t.views.Prefix("right", t.right.Params())...)
//	}
//
// A view holds the child's Var as it was when the view was made: replace a
// Param's value with SetValue or by copying into Value(), never by
// assigning a new Var to the child's Param. The zero value is ready to use
// and safe for concurrent use; a ParamViews must not be copied after first
// use.
type ParamViews struct {
	mu    sync.Mutex
	views map[viewKey]*Param
}

type viewKey struct {
	p    *Param
	name string
}

// Prefix returns views of ps named prefix + "." + p.Name (prefix alone for
// an unnamed Param), sharing each p's Var and Dtype. nil entries are
// dropped.
func (v *ParamViews) Prefix(prefix string, ps []*Param) []*Param {
	out := make([]*Param, 0, len(ps))
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.views == nil {
		v.views = make(map[viewKey]*Param)
	}
	for _, p := range ps {
		if p == nil {
			continue
		}
		k := viewKey{p, joinName(prefix, p.Name)}
		view := v.views[k]
		if view == nil || view.Var != p.Var || view.Dtype != p.Dtype {
			view = &Param{Var: p.Var, Name: k.name, Dtype: p.Dtype}
			v.views[k] = view
		}
		out = append(out, view)
	}
	return out
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
