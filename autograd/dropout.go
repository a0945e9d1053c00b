package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"unsafe"

	"github.com/shoshin-ml/shoshin/internal/parallel"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Dropout zeroes each element of a with probability p, drawing the mask from
// r, and scales the survivors by 1/(1−p) so that the expected value is
// unchanged (inverted dropout, as in PyTorch). Layers call it only in
// training mode and never for an inference-mode input (see Var.Inference),
// so that prediction draws nothing from r; with p = 0 it returns a
// unchanged.
//
// Each element draws 32 random bits (two elements per r.Uint64) and is
// dropped when they fall below p·2³², so p is honoured to 2⁻³².
func Dropout(a *Var, p float32, r *rand.Rand) *Var {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("autograd.Dropout: probability %v outside [0, 1)", p))
	}
	if p == 0 {
		return a
	}
	mask := alloc(a.value.Shape(), a)
	out := wrap(alloc(a.value.Shape(), a), a)
	dropoutMask(mask.Data(), out.value.Data(), a.value.Data(), p, r)
	return out.record("Dropout", func(g *tensor.Tensor) []*tensor.Tensor {
		gx := gradBuf(g.Shape(), a)
		tensor.MulTo(gx, g, mask)
		return []*tensor.Tensor{gx}
	}, a)
}

// dropoutMask fills md with 0 (probability p) or 1/(1−p), drawing 32 bits
// per element from r, and writes y = x·md. The bits are drawn first, in
// element order, into md (seen as uint32), since r is sequential; turning
// them into the mask and the products is spread over the workers, each
// element on its own, so that the results do not depend on the workers.
// The select is on bits, without a data-dependent branch.
func dropoutMask(md, y, x []float32, p float32, r *rand.Rand) {
	n := len(md)
	if n == 0 {
		return
	}
	y, x = y[:n], x[:n]
	bits := unsafe.Slice((*uint32)(unsafe.Pointer(&md[0])), n)
	i := 0
	for ; i+2 <= n; i += 2 {
		u := r.Uint64()
		bits[i], bits[i+1] = uint32(u), uint32(u>>32)
	}
	if i < n {
		bits[i] = uint32(r.Uint64())
	}
	t := uint32(min(float64(p)*(1<<32), math.MaxUint32))
	scale := math.Float32bits(1 / (1 - p))
	parallel.For(n, dropoutGrain, func(lo, hi int) {
		for i, u := range bits[lo:hi] {
			// All ones when u ≥ t, computed from the borrow of u − t.
			keep := uint32((uint64(u)-uint64(t))>>63) - 1
			m := math.Float32frombits(scale & keep)
			md[lo+i], y[lo+i] = m, x[lo+i]*m
		}
	})
}

// dropoutGrain is the number of elements below which Dropout's mask stays
// on one worker.
const dropoutGrain = 1 << 14
