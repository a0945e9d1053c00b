package kernel

import (
	"fmt"
	"math"
	"sync"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// attnQueryBlock is the number of queries whose scores are held at once:
// each block multiplies only the keys it may see, so the causal mask skips
// the blocks above the diagonal and no T×T matrix is ever stored.
const attnQueryBlock = 32

// attnScratchPool holds per-worker score blocks of CausalSelfAttention.
var attnScratchPool = sync.Pool{New: func() any { return new([]float32) }}

// CausalSelfAttention writes to out [B, T, E] the causal multi-head
// self-attention of qkv [B, T, 3E]: the query, key and value blocks of E
// features side by side (a fused projection's output), each split into
// heads heads of D = E/heads features, heads last. For every batch element
// and head, query i attends keys 0…i: softmax(q·kᵀ/√D)·v. q, k and v are
// read in place, strided; scores live in one [32, T] block per worker. It
// is the inference forward of autograd.SelfAttention with Causal set (no
// masks, no dropout, no saved statistics).
func CausalSelfAttention(out, qkv []float32, b, t, e, heads int) {
	if b < 0 || t < 0 || heads < 1 || e < heads || e%heads != 0 || len(qkv) != b*t*3*e || len(out) != b*t*e {
		panic(fmt.Sprintf("kernel.CausalSelfAttention: out %d and qkv %d values for B=%d T=%d E=%d heads=%d", len(out), len(qkv), b, t, e, heads))
	}
	if b == 0 || t == 0 {
		return
	}
	n := b * heads
	if n == 1 || parallel.Workers() == 1 || n*t*t*(e/heads) < 1<<18 {
		causalHeads(out, qkv, t, e, heads, 0, n)
		return
	}
	parallel.For(n, 1, func(lo, hi int) { causalHeads(out, qkv, t, e, heads, lo, hi) })
}

// causalHeads attends the (batch element, head) pairs [lo, hi), numbered
// batch-major, with a score block from the pool.
func causalHeads(out, qkv []float32, t, e, heads, lo, hi int) {
	p := attnScratchPool.Get().(*[]float32)
	if cap(*p) < attnQueryBlock*(t+1) {
		*p = make([]float32, attnQueryBlock*(t+1))
	}
	sc := (*p)[:attnQueryBlock*(t+1)]
	for bh := lo; bh < hi; bh++ {
		causalHead(out, qkv, sc, bh/heads, bh%heads, t, e, e/heads)
	}
	attnScratchPool.Put(p)
}

// causalHead attends head h of batch element bi. sc holds
// attnQueryBlock·(t+1) floats: a score block, then the rows' 1/Σ.
func causalHead(out, qkv, sc []float32, bi, h, t, e, d int) {
	ld := 3 * e
	base := bi * t * ld
	q, k, v := qkv[base+h*d:], qkv[base+e+h*d:], qkv[base+2*e+h*d:]
	o := out[bi*t*e+h*d:]
	alpha := float32(1 / math.Sqrt(float64(d)))
	inv := sc[attnQueryBlock*t:]
	for i0 := 0; i0 < t; i0 += attnQueryBlock {
		i1 := min(i0+attnQueryBlock, t)
		kn := i1 // keys the block may see
		Gemm(false, true, i1-i0, kn, d, alpha, q[i0*ld:], ld, k, ld, 0, sc, kn)
		for i := i0; i < i1; i++ {
			r := sc[(i-i0)*kn : (i-i0+1)*kn]
			// Keys after i get probability 0.
			_, sum := SoftmaxExp(r[:i+1])
			inv[i-i0] = 1 / sum
			clear(r[i+1:])
		}
		Gemm(false, false, i1-i0, d, kn, 1, sc, kn, v, ld, 0, o[i0*e:], e)
		for i := i0; i < i1; i++ {
			scale(inv[i-i0], o[i*e:i*e+d])
		}
	}
}
