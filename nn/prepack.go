package nn

import (
	"sync/atomic"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// PackForInference lets every layer of m keep its weights packed for
// inference between calls (autograd.Var.SetCacheable on every parameter),
// so that Predict multiplies by weights packed once instead of packing
// them on every call. The packed copies are refreshed whenever a parameter
// changes through SetValue, an optimizer step, LoadStateDict or
// Var.MarkChanged; a program that writes parameter values in place in any
// other way (a hand-written update with tensor.AddScaled, writes through
// Data) must call MarkChanged on the parameter afterwards, or not call
// PackForInference. serve.New calls it on the model it serves, and models
// loaded by the onnx package have it set.
func PackForInference(m Module) {
	for _, p := range m.Params() {
		if p != nil {
			p.SetCacheable(true)
		}
	}
}

// PackCache keeps one weight packed for inference (tensor.PackB) and packs
// it again whenever the weight changes: when its Var holds another tensor
// or its version (autograd.Var.Version) moved on. Dense keeps one for its
// weight; other layers and the onnx importer use it the same way for
// theirs. The zero value is ready to use, and Get is safe for concurrent
// use; a PackCache must not be copied after first use.
type PackCache struct {
	p atomic.Pointer[packedWeight]
}

// packedWeight is a weight packed for inference, with what it was packed
// from: the tensor and the weight's version at the time.
type packedWeight struct {
	src     *tensor.Tensor
	version uint64
	transB  bool
	packed  *tensor.Packed
}

// Get returns op(w) packed as the right operand of an inference product
// (op(w) is w's value, transposed when transB is set), from the cache when
// it is current: same tensor, same version, same transposition. Otherwise
// it packs the value and keeps the result. For a weight that is not
// cacheable (autograd.Var.SetCacheable, PackForInference) it packs the
// value on every call and keeps nothing: callers that want to avoid that
// cost use their unpacked path for such weights, as Dense does. Concurrent callers that find
// the cache stale may each pack; the last one kept wins, and every result
// returned is current.
func (c *PackCache) Get(w *autograd.Var, transB bool) *tensor.Packed {
	t, v := w.Value(), w.Version()
	if !w.Cacheable() {
		// Nothing says every write to w moves its version: keep nothing.
		return tensor.PackB(t, transB)
	}
	if pw := c.p.Load(); pw != nil && pw.src == t && pw.version == v && pw.transB == transB {
		return pw.packed
	}
	pw := &packedWeight{src: t, version: v, transB: transB, packed: tensor.PackB(t, transB)}
	c.p.Store(pw)
	return pw.packed
}
