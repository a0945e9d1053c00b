package nn

import (
	"sync/atomic"

	"github.com/shoshin-ml/shoshin/tensor"
)

// packedWeight is a parameter's value packed for inference
// (tensor.PackB), with what it was packed from: the tensor and the
// parameter's version at the time.
type packedWeight struct {
	src     *tensor.Tensor
	version uint64
	transB  bool
	packed  *tensor.Packed
}

// packWeight returns p's value packed as the right operand op(W) of an
// inference product, from the cache c when it is current: same tensor,
// same version, same transposition. Otherwise it packs the value and
// stores the result in c. Concurrent callers that find the cache stale
// may each pack; the last store wins and every result is current.
func packWeight(c *atomic.Pointer[packedWeight], p *Param, transB bool) *tensor.Packed {
	w, v := p.Value(), p.Version()
	if pw := c.Load(); pw != nil && pw.src == w && pw.version == v && pw.transB == transB {
		return pw.packed
	}
	pw := &packedWeight{src: w, version: v, transB: transB, packed: tensor.PackB(w, transB)}
	c.Store(pw)
	return pw.packed
}
