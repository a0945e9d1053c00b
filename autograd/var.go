package autograd

import (
	"fmt"
	"sync/atomic"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Var is a node of the computation graph: a value, the gradient accumulated
// into it by Backward, and the operation that produced it.
//
// Leaves are made with NewVar (trainable) or Constant (not trainable). Every
// op returns a new Var that remembers its inputs while any of them requires
// a gradient; Backward walks those links once and then releases them.
type Var struct {
	value        *tensor.Tensor
	grad         *tensor.Tensor
	node         *node
	requiresGrad bool
	// inference marks a Var produced in no-grad mode: ops on it record
	// nothing, whatever their other inputs require.
	inference bool
	// arena, when set on an inference Var, supplies output buffers.
	arena *Arena
	// freed marks an op output whose graph Backward has released.
	freed bool
	// gradStale marks a gradient that ZeroGrad has cleared in name only:
	// its buffer holds old values, and whoever first reads it (Grad,
	// leafGrad, accumulate) clears it, or overwrites it whole
	// (leafGradOverwrite), so that clearing and then accumulating does not
	// pass over a weight gradient twice.
	gradStale bool
	// version counts the changes to value (SetValue, MarkChanged).
	version atomic.Uint64
	// cacheable lets layers keep forms derived from value between calls
	// (SetCacheable).
	cacheable atomic.Bool
}

// NewVar returns a leaf Var that requires a gradient (a trainable value).
func NewVar(t *tensor.Tensor) *Var { return &Var{value: t, requiresGrad: true} }

// Constant returns a leaf Var that does not require a gradient, such as a
// batch of inputs or targets.
func Constant(t *tensor.Tensor) *Var { return &Var{value: t} }

// Value returns the Var's value.
func (v *Var) Value() *tensor.Tensor { return v.value }

// Grad returns the gradient accumulated by Backward, or nil when Backward
// has never reached v. After ZeroGrad it holds zeros until Backward
// reaches v again.
func (v *Var) Grad() *tensor.Tensor {
	v.settleGrad()
	return v.grad
}

// HasGrad reports whether a backward pass has accumulated a gradient into
// v since it was made or last zeroed (ZeroGrad): Grad then returns
// something other than nil or zeros-by-ZeroGrad.
func (v *Var) HasGrad() bool { return v.grad != nil && !v.gradStale }

// settleGrad clears a gradient that ZeroGrad left stale.
func (v *Var) settleGrad() {
	if v.gradStale {
		clear(v.grad.Data())
		v.gradStale = false
	}
}

// Shape is shorthand for v.Value().Shape().
func (v *Var) Shape() []int { return v.value.Shape() }

// RequiresGrad reports whether gradients flow into v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad marks a leaf as trainable or frozen. It panics when called
// on the output of an op.
func (v *Var) SetRequiresGrad(b bool) {
	if !v.IsLeaf() {
		panic("autograd.SetRequiresGrad: not a leaf Var")
	}
	v.requiresGrad = b
}

// SetValue replaces the value of a leaf Var (used when loading weights). The
// shape must match.
func (v *Var) SetValue(t *tensor.Tensor) {
	if !tensor.SameShape(v.value, t) {
		panic(fmt.Sprintf("autograd.SetValue: shape %v does not match %v", t.Shape(), v.value.Shape()))
	}
	v.value = t
	v.MarkChanged()
}

// Version returns a counter that changes every time v's value is replaced
// (SetValue) or marked as changed (MarkChanged). Layers that keep a form of
// a parameter derived from its value, such as a dense layer's weight packed
// for inference, compare it with the version they derived from. Optimizers
// and the state loaders of package nn mark what they write; code that
// writes a parameter's values in place by other means must call
// MarkChanged afterwards.
func (v *Var) Version() uint64 { return v.version.Load() }

// SetCacheable says whether layers may keep a form derived from v's value
// between calls — a dense layer's weight packed for inference — and reuse
// it for as long as Version stays the same. It is off by default, because
// Version only moves when the value changes through SetValue, an
// optimizer, a state loader or MarkChanged: code that updates a parameter
// in place by other means (tensor.AddScaled on its value, writes through
// Data) would otherwise run on a stale copy. Turn it on (nn.PackForInference
// does, for every parameter of a model) once the value is written only in
// those ways, or call MarkChanged after every other write. It is safe to
// call from any goroutine.
func (v *Var) SetCacheable(b bool) { v.cacheable.Store(b) }

// Cacheable reports whether layers may keep forms derived from v's value
// between calls (see SetCacheable).
func (v *Var) Cacheable() bool { return v.cacheable.Load() }

// MarkChanged records that v's value was written in place, so that state
// derived from it is recomputed on next use (see Version). It is safe to
// call from any goroutine.
func (v *Var) MarkChanged() { v.version.Add(1) }

// ZeroGrad sets the accumulated gradient to zero, keeping its buffer so that
// the next Backward allocates nothing for it. The buffer is cleared when
// the gradient is next read or added to; a weight gradient that Backward
// forms with a matrix product is overwritten instead, which saves a pass
// over it. So read the gradient through Grad after ZeroGrad: a tensor that
// Grad returned before it holds the old values until then. Grad and
// ZeroGrad are not safe to call concurrently on one Var.
func (v *Var) ZeroGrad() {
	if v.grad != nil {
		v.gradStale = true // cleared when next read or accumulated into
	}
}

// Detach returns a Constant sharing v's value, cut from the graph.
func (v *Var) Detach() *Var { return &Var{value: v.value, inference: v.inference, arena: v.arena} }

// Inference reports whether v is in inference mode: made by NoGrad or
// Arena.Input, or computed by ops from such a Var. Ops on an inference-mode
// Var record nothing.
//
// Layers whose behaviour depends on a training flag (Dropout, BatchNorm)
// treat an inference-mode input as evaluation whatever their flag says, and
// then change no state: the mode travels with the data, so prediction never
// needs to switch a model's mode and may run while the model trains.
func (v *Var) Inference() bool { return v.inference }

// IsLeaf reports whether v was created directly rather than by an op.
func (v *Var) IsLeaf() bool { return v.node == nil && !v.freed }

// String describes the Var.
func (v *Var) String() string {
	return fmt.Sprintf("Var(requiresGrad=%v) %v", v.requiresGrad, v.value)
}
