package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// AttentionOptions configures ScaledDotProductAttention, SelfAttention and
// AttentionWeights. The zero value is plain softmax(q·kᵀ/√d)·v.
type AttentionOptions struct {
	// Heads splits the last axis of 3-D inputs [B, T, E] into Heads heads
	// of E/Heads features each, heads last (the layout a projection
	// produces). It is ignored for 4-D inputs [B, H, T, D].
	Heads int
	// Causal forbids query i from attending to key j > i + CausalOffset
	// (top-left aligned when T ≠ S and the offset is 0, like PyTorch's
	// is_causal).
	Causal bool
	// CausalOffset is the position of the first query among the keys:
	// when decoding with a cache of n earlier keys, pass n so that new
	// query i (position n + i) sees keys 0 … n + i.
	CausalOffset int
	// KeyLen, when positive, uses only the first KeyLen keys and values
	// of k and v (ScaledDotProductAttention only): k and v can then be a
	// preallocated cache that fills up over time. Masks and weights are
	// sized by KeyLen.
	KeyLen int
	// KeyPadding, when non-nil, holds B·S flags (S the full key length of
	// k); true means key j of batch element b may not be attended
	// (nn.MultiheadAttention's key_padding_mask convention; the reverse of
	// the boolean attn_mask of F.scaled_dot_product_attention).
	KeyPadding []bool
	// Mask, when non-nil, is an additive [T, S] float mask added to every
	// head's scores (−Inf forbids; see CausalMask and AdditiveMask).
	Mask *tensor.Tensor
	// Scale multiplies q·kᵀ (default 1/√d, d the per-head query size).
	Scale float32
	// Dropout zeroes attention probabilities with this probability and
	// scales the rest by 1/(1−Dropout) (training only: pass 0 to
	// evaluate). The masks are drawn from Rand and regenerated in the
	// backward rather than stored.
	Dropout float32
	// Rand supplies the dropout seed; required when Dropout > 0.
	Rand *rand.Rand
}

// attnOperand locates the per-(batch, head) matrices of one operand inside
// a flat buffer: row r of head h of batch element b starts at
// off + b·bs + h·hs + r·ld.
type attnOperand struct {
	off, ld, hs, bs int
}

func (o attnOperand) at(b, h int) int { return o.off + b*o.bs + h*o.hs }

// attnGeom holds the sizes, layouts and masks of one attention call.
type attnGeom struct {
	op         string
	b, h, t, s int
	d, dv      int
	scale      float32
	causal     bool
	kpm        []bool
	kpmStride  int // keys per batch element in kpm (the full S)
	offset     int // CausalOffset
	mask       []float32
	dropout    float32
	seed       uint64
	q, k, v, o attnOperand
	// probs, when not nil, keeps every pair's exponentials (its [T, ld]
	// score block, ld = attnLD(S)) and then each query row's 1/Σ (B·H·T
	// values): the forward writes them there instead of into scratch, and
	// the backward reads them instead of recomputing the scores.
	probs        []float32
	outShape     []int
	qShape       []int
	kShape       []int
	vShape       []int
	weightsShape []int
}

// probsLen is the length of a probs buffer for g (see attnGeom.probs).
func (g *attnGeom) probsLen() int { return g.b * g.h * g.t * (attnLD(g.s) + 1) }

// maxKeptProbs caps the probabilities a SelfAttention keeps for its
// backward (32 MB of floats per call); past it the backward recomputes
// the scores from one log-sum-exp per row, so memory stays linear in the
// sequence length. A variable for tests.
var maxKeptProbs = 1 << 23

// probsAt returns pair bh's kept score block and row inverses.
func (g *attnGeom) probsAt(bh int) (p, inv []float32) {
	tl := g.t * attnLD(g.s)
	n := g.b * g.h * tl
	return g.probs[bh*tl : (bh+1)*tl], g.probs[n+bh*g.t : n+(bh+1)*g.t]
}

// headsFirst is the layout of a [B, H, R, D] tensor.
func headsFirst(h, r, d int) attnOperand { return attnOperand{ld: d, hs: r * d, bs: h * r * d} }

// headsLast is the layout of a [B, R, H·D] tensor (ld may exceed H·D when
// the operand is a column block of a wider tensor).
func headsLast(off, ld, r, d int) attnOperand {
	return attnOperand{off: off, ld: ld, hs: d, bs: r * ld}
}

// newAttnGeom checks q, k and v and works out their layouts.
func newAttnGeom(op string, qs, ks, vs []int, opt *AttentionOptions) attnGeom {
	g := attnGeom{op: op, causal: opt.Causal, kpm: opt.KeyPadding, dropout: opt.Dropout}
	bad := func(why string) {
		panic(fmt.Sprintf("autograd.%s: q %v, k %v, v %v: %s", op, qs, ks, vs, why))
	}
	switch {
	case len(qs) == 4 && len(ks) == 4 && len(vs) == 4:
		g.b, g.h, g.t, g.d = qs[0], qs[1], qs[2], qs[3]
		g.s, g.dv = ks[2], vs[3]
		if ks[0] != g.b || vs[0] != g.b || ks[1] != g.h || vs[1] != g.h || ks[3] != g.d || vs[2] != g.s {
			bad("want [B, H, T, D], [B, H, S, D], [B, H, S, Dv]")
		}
		g.q, g.k, g.v = headsFirst(g.h, g.t, g.d), headsFirst(g.h, g.s, g.d), headsFirst(g.h, g.s, g.dv)
		g.o = headsFirst(g.h, g.t, g.dv)
		g.outShape = []int{g.b, g.h, g.t, g.dv}
	case len(qs) == 3 && len(ks) == 3 && len(vs) == 3:
		g.h = opt.Heads
		if g.h < 1 {
			bad("3-D inputs need AttentionOptions.Heads")
		}
		g.b, g.t, g.s = qs[0], qs[1], ks[1]
		if ks[0] != g.b || vs[0] != g.b || vs[1] != g.s || ks[2] != qs[2] || qs[2]%g.h != 0 || vs[2]%g.h != 0 {
			bad(fmt.Sprintf("want [B, T, E], [B, S, E], [B, S, Ev] with E and Ev divisible by %d heads", g.h))
		}
		g.d, g.dv = qs[2]/g.h, vs[2]/g.h
		g.q, g.k, g.v = headsLast(0, qs[2], g.t, g.d), headsLast(0, ks[2], g.s, g.d), headsLast(0, vs[2], g.s, g.dv)
		g.o = headsLast(0, vs[2], g.t, g.dv)
		g.outShape = []int{g.b, g.t, vs[2]}
	default:
		bad("want three 4-D [B, H, T, D] or three 3-D [B, T, E] inputs")
	}
	g.qShape, g.kShape, g.vShape = qs, ks, vs
	g.kpmStride = g.s
	if opt.KeyLen > 0 {
		if opt.KeyLen > g.s {
			bad(fmt.Sprintf("KeyLen %d exceeds the %d keys", opt.KeyLen, g.s))
		}
		// The layouts keep the full length; only the first KeyLen rows
		// are read.
		g.s = opt.KeyLen
	}
	g.weightsShape = []int{g.b, g.h, g.t, g.s}
	g.finish(opt)
	return g
}

// finish validates the masks and options shared by every layout.
func (g *attnGeom) finish(opt *AttentionOptions) {
	if g.kpmStride == 0 {
		g.kpmStride = g.s
	}
	if g.kpm != nil && len(g.kpm) != g.b*g.kpmStride {
		panic(fmt.Sprintf("autograd.%s: key padding mask has %d flags, want batch·keys = %d·%d", g.op, len(g.kpm), g.b, g.kpmStride))
	}
	if opt.CausalOffset < 0 {
		panic(fmt.Sprintf("autograd.%s: negative CausalOffset %d", g.op, opt.CausalOffset))
	}
	g.offset = opt.CausalOffset
	if opt.Mask != nil {
		if !tensor.EqualShape(opt.Mask.Shape(), []int{g.t, g.s}) {
			panic(fmt.Sprintf("autograd.%s: mask %v is not [T, S] = [%d, %d]", g.op, opt.Mask.Shape(), g.t, g.s))
		}
		g.mask = opt.Mask.Data()
	}
	g.scale = opt.Scale
	if g.scale == 0 {
		g.scale = float32(1 / math.Sqrt(float64(max(g.d, 1))))
	}
	if g.dropout < 0 || g.dropout >= 1 {
		panic(fmt.Sprintf("autograd.%s: dropout %v outside [0, 1)", g.op, g.dropout))
	}
	if g.dropout > 0 {
		if opt.Rand == nil {
			panic(fmt.Sprintf("autograd.%s: dropout needs AttentionOptions.Rand", g.op))
		}
		g.seed = opt.Rand.Uint64()
	}
}

// ScaledDotProductAttention returns softmax(q·kᵀ·scale + mask)·v for every
// batch element and head as one fused op (PyTorch's
// F.scaled_dot_product_attention, plus nn.MultiheadAttention's key padding
// mask). Inputs are either 4-D, q [B, H, T, D], k [B, H, S, D],
// v [B, H, S, Dv] giving [B, H, T, Dv], or 3-D with opt.Heads set,
// q [B, T, E], k [B, S, E], v [B, S, Ev] giving [B, T, Ev], heads last: the
// layout projections produce, so no permute is needed on either side.
//
// Memory: the [T, S] score block of one (batch, head) pair lives only in a
// per-worker scratch buffer; the op keeps nothing of it. The forward saves
// one log-sum-exp per query row (B·H·T values) and the backward recomputes
// the probabilities from it, using two [T, S] scratch blocks per worker.
// (batch, head) pairs are spread over the worker pool. Under a causal mask
// each block of 32 query rows multiplies only the keys it may see, about
// half the work of the full block for long sequences.
//
// A query row whose keys are all masked gets zero output and zero
// gradient (PyTorch produces NaN there).
func ScaledDotProductAttention(q, k, v *Var, opt AttentionOptions) *Var {
	g := newAttnGeom("ScaledDotProductAttention", q.value.Shape(), k.value.Shape(), v.value.Shape(), &opt)
	out := wrap(alloc(g.outShape, q, k, v), q, k, v)
	qd, kd, vd := q.value.Data(), k.value.Data(), v.value.Data()
	var lse []float32
	if out.requiresGrad {
		lse = alloc([]int{g.b * g.h * g.t}, q, k, v).Data() // every row is written
	}
	g.forward(qd, kd, vd, out.value.Data(), lse)
	if !out.requiresGrad {
		return out
	}
	return out.record("ScaledDotProductAttention", func(gy *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, 3)
		var gq, gk, gv []float32
		// The backward writes every query row and the first g.s key and
		// value rows; with KeyLen shorter than the keys (g.kpmStride), the
		// rest of k and v must start from zero.
		kvBuf := gradBuf
		if g.s < g.kpmStride {
			kvBuf = zeroGradBuf
		}
		if q.requiresGrad {
			grads[0] = gradBuf(g.qShape, q, k, v)
			gq = grads[0].Data()
		}
		if k.requiresGrad {
			grads[1] = kvBuf(g.kShape, q, k, v)
			gk = grads[1].Data()
		}
		if v.requiresGrad {
			grads[2] = kvBuf(g.vShape, q, k, v)
			gv = grads[2].Data()
		}
		g.backward(qd, kd, vd, gy.Data(), lse, gq, gk, gv)
		return grads
	}, q, k, v)
}

// SelfAttention is ScaledDotProductAttention on the packed output of an
// input projection: qkv is [B, T, 3E], q, k and v being its three column
// blocks (PyTorch's in_proj layout), each split into opt.Heads heads. The
// result is [B, T, E]. Reading the blocks in place saves the three copies
// (and the three full-size gradients) that splitting qkv first would cost.
// opt.KeyLen does not apply (keys and queries are the same positions).
//
// Without a key padding mask, an additive mask or dropout, a SelfAttention
// that needs a gradient keeps its exponentials, B·H·T rows of S+32 floats
// (about 9 MB for B=32, 4 heads, T=128), and each row's 1/Σ, rather than
// one log-sum-exp per row: the backward then skips the score products and
// their exponentials. Past 2²³ kept floats (32 MB) per call it keeps the
// log-sum-exps instead, so memory stays linear in T.
func SelfAttention(qkv *Var, opt AttentionOptions) *Var {
	s := qkv.value.Shape()
	if len(s) != 3 || s[2]%3 != 0 || opt.Heads < 1 || (s[2]/3)%opt.Heads != 0 {
		panic(fmt.Sprintf("autograd.SelfAttention: input %v is not [B, T, 3E] with E divisible by %d heads", s, opt.Heads))
	}
	g := selfAttnGeom(s, opt.Heads, opt.Causal)
	g.kpm, g.dropout = opt.KeyPadding, opt.Dropout
	g.finish(&opt)
	out := wrap(alloc([]int{g.b, g.t, s[2] / 3}, qkv), qkv)
	xd := qkv.value.Data()
	// plain: the backward reads the forward's exponentials, kept in the
	// arena, instead of recomputing the scores; they grow as B·H·T², so
	// long sequences keep one log-sum-exp per row instead.
	plain := g.kpm == nil && g.mask == nil && g.dropout == 0 && g.probsLen() <= maxKeptProbs
	var lse []float32
	if out.requiresGrad && plain {
		// The backward reads the forward's exponentials instead of
		// recomputing the scores.
		g.probs = alloc([]int{g.probsLen()}, qkv).Data()
	} else if out.requiresGrad {
		lse = alloc([]int{g.b * g.h * g.t}, qkv).Data() // every row is written
	}
	g.forward(xd, xd, xd, out.value.Data(), lse)
	if !out.requiresGrad {
		return out
	}
	if plain {
		// Everything the backward needs fits the node's saved record.
		if sv := out.recordFn("SelfAttention", selfAttentionBackward, qkv); sv != nil {
			sv.t[0], sv.f32s, sv.f = qkv.value, g.probs, g.scale
			sv.i = [2]int{opt.Heads, g.offset}
			sv.rank = 0
			if g.causal {
				sv.rank = 1
			}
		}
		return out
	}
	gg := g // the masks and the dropout seed, kept by the closure
	return out.record("SelfAttention", func(gy *tensor.Tensor) []*tensor.Tensor {
		// Each (batch, head) pair writes every value of its own blocks of
		// the gradient, on the worker that computes it.
		gx := gradBuf(s, qkv)
		d := gx.Data()
		gg.backward(xd, xd, xd, gy.Data(), lse, d, d, d)
		return []*tensor.Tensor{gx}
	}, qkv)
}

// selfAttnGeom lays out SelfAttention over qkv of shape s [B, T, 3E]
// (checked by the caller) with the given heads; masks, dropout and scale
// are left for finish, and outShape to the caller.
func selfAttnGeom(s []int, heads int, causal bool) attnGeom {
	e := s[2] / 3
	g := attnGeom{op: "SelfAttention", causal: causal, b: s[0], h: heads, t: s[1], s: s[1], d: e / heads, dv: e / heads}
	g.q = headsLast(0, 3*e, g.t, g.d)
	g.k = headsLast(e, 3*e, g.t, g.d)
	g.v = headsLast(2*e, 3*e, g.t, g.d)
	g.o = headsLast(0, e, g.t, g.d)
	g.kpmStride = g.s
	return g
}

// selfAttentionBackward is SelfAttention's backward without masks or
// dropout, from the node's saved record: the input, the forward's kept
// exponentials and row inverses, the scale, the heads and causal offset,
// the causal flag.
func selfAttentionBackward(n *node, gy *tensor.Tensor) []*tensor.Tensor {
	sv := &n.saved
	xv := sv.t[0]
	g := selfAttnGeom(xv.Shape(), sv.i[0], sv.rank == 1)
	g.scale, g.offset, g.probs = sv.f, sv.i[1], sv.f32s
	// Each (batch, head) pair writes every value of its own blocks of the
	// gradient, on the worker that computes it.
	gx := gradBuf(xv.Shape(), n.inputs[0])
	xd, d := xv.Data(), gx.Data()
	g.backward(xd, xd, xd, gy.Data(), nil, d, d, d)
	grads := sv.out(1)
	grads[0] = gx
	return grads
}

// clearRows zeroes rows × width values of x from off, rows ld apart.
func clearRows(x []float32, off, ld, rows, width int) {
	if x == nil {
		return
	}
	for i := range rows {
		clear(x[off+i*ld : off+i*ld+width])
	}
}

// attnBufs keeps the per-worker score blocks between calls: a free list
// rather than a sync.Pool, so that a collection does not drop them and
// the next step reallocate them.
var attnBufs freeList[[]float32]

// attnKeepMax is the largest scratch block (in floats, 16 MB) that
// putAttnScratch keeps; larger ones, from unusually long sequences, are
// left to the collector.
const attnKeepMax = 1 << 22

// attnScratch returns a kept scratch block of n floats (contents stale), or
// a new one.
func attnScratch(n int) *[]float32 {
	p := attnBufs.get()
	if p == nil {
		p = new([]float32)
	}
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// putAttnScratch hands a block from attnScratch back for reuse.
func putAttnScratch(p *[]float32) {
	if cap(*p) <= attnKeepMax {
		attnBufs.put(p)
	}
}

// attnJob is one forward or backward of attention spread over the pool,
// with the chunk functions bound once, so that a call allocates nothing
// once the free list holds a job.
type attnJob struct {
	g                                   attnGeom
	qd, kd, vd, od, gy, lse, gq, gk, gv []float32
	fwd, back                           func(lo, hi int)
}

var attnFree freeList[attnJob]

func getAttnJob() *attnJob {
	if j := attnFree.get(); j != nil {
		return j
	}
	j := new(attnJob)
	j.fwd = func(lo, hi int) { j.g.forwardRange(lo, hi, j.qd, j.kd, j.vd, j.od, j.lse) }
	j.back = func(lo, hi int) { j.g.backwardRange(lo, hi, j.qd, j.kd, j.vd, j.gy, j.lse, j.gq, j.gk, j.gv) }
	return j
}

// putAttnJob drops the job's references to the caller's data and keeps it.
func putAttnJob(j *attnJob) {
	fwd, back := j.fwd, j.back
	*j = attnJob{fwd: fwd, back: back}
	attnFree.put(j)
}

// freeList keeps up to 16 reusable records of one kind (jobs whose
// closures are bound once), unlike a sync.Pool, which a collection empties.
type freeList[T any] struct {
	sync.Mutex
	items []*T
}

// get returns a kept record, or nil when there is none.
func (f *freeList[T]) get() *T {
	f.Lock()
	defer f.Unlock()
	n := len(f.items)
	if n == 0 {
		return nil
	}
	x := f.items[n-1]
	f.items = f.items[:n-1]
	return x
}

// put keeps x unless 16 records are kept already.
func (f *freeList[T]) put(x *T) {
	f.Lock()
	if len(f.items) < 16 {
		f.items = append(f.items, x)
	}
	f.Unlock()
}

// attnSmall is the size (m·n·k) up to which a product of the attention
// runs through kernel.SmallGemm, reading its operands in place, rather
// than kernel.Gemm, whose planning and packing cost more than such a
// product below it.
const attnSmall = 1 << 20

// attnGemm computes C = alpha·op(A)·B + beta·C (op transposes A when
// transA is set; B is row-major) for one block of attention.
func attnGemm(transA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	attnGemmBand(transA, m, n, k, -m, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// attnGemmBand is attnGemm when row i of op(A) is zero outside the steps
// [i+lo, i+hi) (see kernel.SmallGemmBand): the causal mask's zeros, whose
// products a small product skips.
func attnGemmBand(transA bool, m, n, k, lo, hi int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m*n*k > attnSmall {
		kernel.Gemm(transA, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	rsA, csA := lda, 1
	if transA {
		rsA, csA = 1, lda
	}
	kernel.SmallGemmBand(m, n, k, lo, hi, alpha, a, rsA, csA, b, ldb, beta, c, ldc)
}

// queryBand returns the band (see attnGemmBand) of the probability or
// score-gradient rows of the row block from query i0, over its kn keys:
// under the causal mask query i0+i sees the keys before i0+i+offset+1.
func (g *attnGeom) queryBand(i0, m, kn int) (lo, hi int) {
	if !g.causal {
		return -m, kn
	}
	return -m, i0 + g.offset + 1
}

// keyBand returns the band of the transposed probability or
// score-gradient block of the m keys from k0 over the r queries from i0:
// key k0+j is seen by the queries from k0+j−offset on.
func (g *attnGeom) keyBand(k0, m, i0, r int) (lo, hi int) {
	if !g.causal {
		return -m, r
	}
	return k0 - g.offset - i0, r
}

// attnLD returns the row stride of the per-worker score and key blocks for
// s keys: s rounded up to 16 plus 16 more, so that the rows a product
// reads together do not fall into the same few cache sets, as rows a
// power of two apart do.
func attnLD(s int) int { return (s+15)&^15 + 16 }

// each runs fn over the (batch, head) pairs, spread over the workers when
// the work is large enough to pay for it.
func (g *attnGeom) each(fn func(lo, hi int)) {
	n := g.b * g.h
	if n <= 1 || g.t*g.s*(g.d+g.dv) < 1<<14 && n*g.t*g.s*(g.d+g.dv) < 1<<16 || parallel.Workers() == 1 {
		fn(0, n)
		return
	}
	parallel.For(n, 1, fn)
}

// attnRowBlock is the number of query rows processed together under a
// causal mask: each block only multiplies the keys it may see, which skips
// nearly half of the score and gradient work.
const attnRowBlock = 32

// rowBlock returns the query rows [i0, i1) of the block starting at i0 and
// the number of keys kn they may attend (all S unless causal).
func (g *attnGeom) rowBlock(i0 int) (i1, kn int) {
	if !g.causal {
		return g.t, g.s
	}
	i1 = min(i0+attnRowBlock, g.t)
	return i1, max(min(i1+g.offset, g.s), 0)
}

// attnHalfBlock is the first part of a causal row block whose scores
// (and their gradients) are computed over only the keys its last row
// sees: half of the diagonal block is masked for it.
const attnHalfBlock = attnRowBlock / 2

// keyProduct writes columns [0, kn) of rows [0, i1−i0) of c (rows ldc
// apart) as alpha·a·b over k steps, a's rows lda apart, b k×kn: the scores
// (a the queries, b the keys transposed) or their gradient's dO·vᵀ of the
// row block [i0, i1). Under the causal mask the block's first
// attnHalfBlock rows multiply only the keys they may see and get zeros
// past them, so that the block's masked diagonal corner is not computed;
// unless the micro-kernel's row tile does not divide attnHalfBlock (the
// six rows of AVX2), where the two halves' padded tiles would cost more
// than the corner saves.
func (g *attnGeom) keyProduct(i0, i1, kn, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if !g.causal || i1-i0 <= attnHalfBlock || attnHalfBlock%kernel.SmallGemmTileRows(attnHalfBlock, kn) != 0 {
		attnGemm(false, i1-i0, kn, k, alpha, a, lda, b, ldb, 0, c, ldc)
		return
	}
	const h = attnHalfBlock
	kh := g.rowKeys(i0+h-1, kn)
	if kh > 0 {
		attnGemm(false, h, kh, k, alpha, a, lda, b, ldb, 0, c, ldc)
	}
	clearRows(c, kh, ldc, h, kn-kh)
	attnGemm(false, i1-i0-h, kn, k, alpha, a[h*lda:], lda, b, ldb, 0, c[h*ldc:], ldc)
}

// rowKeys returns how many leading keys of the kn a row block computes
// query row i may see under the causal mask (all kn without it).
func (g *attnGeom) rowKeys(i, kn int) int {
	if !g.causal {
		return kn
	}
	return max(min(i+g.offset+1, kn), 0)
}

// scores fills rows [i0, i1), columns [0, kn) of the [T, S] block sc with
// q·kᵀ·scale plus the masks for batch element b, head h; kt holds that
// pair's keys transposed, D×S; both have rows ld apart. Only the first
// rowKeys(i, kn) columns of row i carry masks: the columns after them are
// causally masked and left as the product wrote them (expRow zeroes them).
func (g *attnGeom) scores(sc []float32, ld int, qd, kt []float32, b, h, i0, i1, kn int) {
	s := g.s
	if i1 <= i0 || kn == 0 {
		return
	}
	g.keyProduct(i0, i1, kn, g.d, g.scale, qd[g.q.at(b, h)+i0*g.q.ld:], g.q.ld, kt, ld, sc[i0*ld:], ld)
	if g.mask == nil && g.kpm == nil {
		return
	}
	negInf := float32(math.Inf(-1))
	for i := i0; i < i1; i++ {
		n := g.rowKeys(i, kn)
		row := sc[i*ld : i*ld+n]
		if g.mask != nil {
			kernel.Add(row, row, g.mask[i*s:i*s+n])
		}
		if g.kpm != nil {
			for j, p := range g.kpm[b*g.kpmStride : b*g.kpmStride+n] {
				if p {
					row[j] = negInf
				}
			}
		}
	}
}

// expRow sets row[j] = exp(row[j] − shift) for j < n and row[j] = 0 for
// the rest, and returns the sum of the first n, in one pass over them
// (kernel.ExpShiftSum): no masked score past n reaches exp, where a score
// far below the shift would be a slow denormal case.
func expRow(row []float32, n int, shift float32) float32 {
	sum := kernel.ExpShiftSum(row[:n], shift)
	clear(row[n:])
	return sum
}

// softmaxRows turns rows [i0, i1) of sc (row stride ld, first kn columns,
// row i's first rowKeys(i, kn) columns unmasked) into unnormalised
// probabilities exp(score − max) in place, zero where masked
// (kernel.SoftmaxExp: the maximum, the exponentials and their sum in one
// call; no masked score past rowKeys reaches exp). It stores
// each row's log-sum-exp in lse[i] (when lse is non-nil) and the inverse
// of its sum in inv[i−i0]. A row with no finite score becomes zeros, with
// lse +Inf and inv 0.
func (g *attnGeom) softmaxRows(sc []float32, ld, i0, i1, kn int, lse, inv []float32) {
	for i := i0; i < i1; i++ {
		row := sc[i*ld : i*ld+kn]
		n := g.rowKeys(i, kn)
		m, sum := kernel.SoftmaxExp(row[:n])
		if math.IsInf(float64(m), -1) {
			clear(row)
			inv[i-i0] = 0
			if lse != nil {
				lse[i] = float32(math.Inf(1))
			}
			continue
		}
		clear(row[n:])
		inv[i-i0] = 1 / sum
		if lse != nil {
			lse[i] = m + float32(math.Log(float64(sum)))
		}
	}
}

// keepBits draws the dropout decisions of one (batch, head) block in
// row-major order; the forward and the backward draw the same sequence.
type keepBits struct {
	src       rand.PCG
	threshold uint32
}

func (g *attnGeom) newKeep(b, h int) keepBits {
	var k keepBits
	k.src.Seed(g.seed, uint64(b*g.h+h))
	k.threshold = uint32(float64(g.dropout) * (1 << 32))
	return k
}

func (k *keepBits) next() bool { return uint32(k.src.Uint64()>>32) >= k.threshold }

// forward writes the output rows and, when lse is non-nil, each query
// row's log-sum-exp. Per row block: the scores, their exponentials, the
// product with v, then each output row scaled by its 1/Σ (cheaper than
// normalising the longer probability rows).
func (g *attnGeom) forward(qd, kd, vd, od, lse []float32) {
	j := getAttnJob()
	j.g, j.qd, j.kd, j.vd, j.od, j.lse = *g, qd, kd, vd, od, lse
	j.g.each(j.fwd)
	putAttnJob(j)
}

func (g *attnGeom) forwardRange(lo, hi int, qd, kd, vd, od, lse []float32) {
	t, s := g.t, g.s
	ld := attnLD(s)
	buf := attnScratch(t*ld + t + g.d*ld)
	defer putAttnScratch(buf)
	sc, inv, kt := (*buf)[:t*ld], (*buf)[t*ld:t*ld+t], (*buf)[t*ld+t:]
	for bh := lo; bh < hi; bh++ {
		b, h := bh/g.h, bh%g.h
		if g.probs != nil {
			sc, inv = g.probsAt(bh)
		}
		kernel.Transpose(kt, kd, g.k.at(b, h), g.k.ld, s, g.d, ld)
		var l []float32
		if lse != nil {
			l = lse[bh*t : (bh+1)*t]
		}
		var keep keepBits
		dinv := float32(1)
		if g.dropout > 0 {
			keep = g.newKeep(b, h)
			dinv = 1 / (1 - g.dropout)
		}
		for i0 := 0; i0 < t; {
			i1, kn := g.rowBlock(i0)
			o := od[g.o.at(b, h)+i0*g.o.ld:]
			if kn == 0 {
				clearRows(o, 0, g.o.ld, i1-i0, g.dv)
				clear(inv[i0:i1])
				for i := i0; i < i1 && l != nil; i++ {
					l[i] = float32(math.Inf(1))
				}
				i0 = i1
				continue
			}
			g.scores(sc, ld, qd, kt, b, h, i0, i1, kn)
			g.softmaxRows(sc, ld, i0, i1, kn, l, inv[i0:])
			if g.dropout > 0 {
				// One draw per computed score, masked or not, in
				// row-major order (the backward repeats them).
				for i := i0; i < i1; i++ {
					row := sc[i*ld : i*ld+kn]
					for j := range row {
						if keep.next() {
							row[j] *= dinv
						} else {
							row[j] = 0
						}
					}
				}
			}
			lo, hi := g.queryBand(i0, i1-i0, kn)
			attnGemmBand(false, i1-i0, g.dv, kn, lo, hi, 1, sc[i0*ld:], ld, vd[g.v.at(b, h):], g.v.ld, 0, o, g.o.ld)
			for i := range i1 - i0 {
				kernel.Scale(inv[i0+i], o[i*g.o.ld:i*g.o.ld+g.dv])
			}
			i0 = i1
		}
	}
}

// backward writes the gradients of q, k and v (each when non-nil; every
// value of each (batch, head) pair's blocks is written, so the buffers may
// hold anything on entry) from the output gradient gy, recomputing the
// probabilities from lse, or, when g.probs holds the forward's
// exponentials, scaling those by each row's 1/Σ in the same pass that
// forms dS (in place: a backward runs once). Per pair, the row blocks
// first form P and dS for all their rows (and dQ); then each block of keys
// that a row block is the first to see gets its value and key gradients
// in one product over all the rows from that block on (K = the rows that
// see those keys, each gradient tile written once, none read), and keys no
// query sees are cleared.
func (g *attnGeom) backward(qd, kd, vd, gy, lse, gq, gk, gv []float32) {
	j := getAttnJob()
	j.g, j.qd, j.kd, j.vd, j.gy, j.lse, j.gq, j.gk, j.gv = *g, qd, kd, vd, gy, lse, gq, gk, gv
	j.g.each(j.back)
	putAttnJob(j)
}

func (g *attnGeom) backwardRange(lo, hi int, qd, kd, vd, gy, lse, gq, gk, gv []float32) {
	t, s := g.t, g.s
	ld := attnLD(s)
	nb := 1
	if g.causal {
		nb = (t + attnRowBlock - 1) / attnRowBlock
	}
	tl := t * ld
	buf := attnScratch(2*tl + s + (g.d+g.dv)*ld)
	defer putAttnScratch(buf)
	p, dp, tmp := (*buf)[:tl], (*buf)[tl:2*tl], (*buf)[2*tl:2*tl+s]
	kt, vt := (*buf)[2*tl+s:2*tl+s+g.d*ld], (*buf)[2*tl+s+g.d*ld:]
	for bh := lo; bh < hi; bh++ {
		b, h := bh/g.h, bh%g.h
		var l, pinv []float32
		if g.probs != nil {
			p, pinv = g.probsAt(bh)
		} else {
			kernel.Transpose(kt, kd, g.k.at(b, h), g.k.ld, s, g.d, ld)
			l = lse[bh*t : (bh+1)*t]
		}
		kernel.Transpose(vt, vd, g.v.at(b, h), g.v.ld, s, g.dv, ld)
		gyo := gy[g.o.at(b, h):]
		// Row blocks: P and dS of every row, kept in p and dp for the key
		// blocks below, and dQ.
		for blk := range nb {
			i0 := blk * attnRowBlock
			i1, kn := g.rowBlock(i0)
			m := i1 - i0
			if kn == 0 {
				clearRows(gq, g.q.at(b, h)+i0*g.q.ld, g.q.ld, m, g.d)
				continue
			}
			if pinv != nil {
				// The forward wrote the block's exponentials long before,
				// and they have left the cache: ask for them now, so that
				// they arrive while dP is computed.
				for i := i0; i < i1; i++ {
					kernel.Prefetch(p[i*ld : i*ld+g.rowKeys(i, kn)])
				}
			} else {
				// P = exp(scores − lse), row by row.
				g.scores(p, ld, qd, kt, b, h, i0, i1, kn)
				for i := i0; i < i1; i++ {
					row := p[i*ld : i*ld+kn]
					if math.IsInf(float64(l[i]), 1) {
						clear(row)
						continue
					}
					expRow(row, g.rowKeys(i, kn), l[i])
				}
			}
			// dP = dO·vᵀ.
			g.keyProduct(i0, i1, kn, g.dv, 1, gyo[i0*g.o.ld:], g.o.ld, vt, ld, dp[i0*ld:], ld)
			if g.dropout > 0 {
				// (The forward keeps no probabilities under dropout.)
				g.dropBack(p, dp, ld, tmp, b, h, i0, i1, kn)
			} else {
				for i := i0; i < i1; i++ {
					// dS = P∘(dP − Σ_j P·dP), zero where P is, in two
					// passes over the row. Kept exponentials become P here
					// (times the row's 1/Σ, 0 for a row with no key, whose
					// exponentials are 0), for dV below; recomputed ones
					// are P already. Both are zero past the row's keys, up
					// to kn.
					n := g.rowKeys(i, kn)
					inv := float32(1)
					if pinv != nil {
						inv = pinv[i]
					}
					kernel.SoftmaxBackward(p[i*ld:i*ld+n], dp[i*ld:i*ld+n], inv)
					clear(dp[i*ld+n : i*ld+kn])
				}
			}
			if gq != nil { // dQ = dS·k·scale
				lo, hi := g.queryBand(i0, m, kn)
				attnGemmBand(false, m, g.d, kn, lo, hi, g.scale, dp[i0*ld:], ld, kd[g.k.at(b, h):], g.k.ld, 0, gq[g.q.at(b, h)+i0*g.q.ld:], g.q.ld)
			}
		}
		// Key blocks: the keys [k0, k1) that row block blk is the first to
		// see are seen by the rows from i0 on, all of which computed them
		// (zero where masked), so each block's dV = Pᵀ·dO and
		// dK = dSᵀ·q·scale is one product over those rows, written once.
		k0 := 0
		for blk := range nb {
			i0 := blk * attnRowBlock
			_, k1 := g.rowBlock(i0)
			if k1 <= k0 {
				continue
			}
			m, r := k1-k0, t-i0
			lo, hi := g.keyBand(k0, m, i0, r)
			if gv != nil { // dV = Pᵀ·dO
				attnGemmBand(true, m, g.dv, r, lo, hi, 1, p[i0*ld+k0:], ld, gyo[i0*g.o.ld:], g.o.ld, 0, gv[g.v.at(b, h)+k0*g.v.ld:], g.v.ld)
			}
			if gk != nil { // dK = dSᵀ·q·scale
				attnGemmBand(true, m, g.d, r, lo, hi, g.scale, dp[i0*ld+k0:], ld, qd[g.q.at(b, h)+i0*g.q.ld:], g.q.ld, 0, gk[g.k.at(b, h)+k0*g.k.ld:], g.k.ld)
			}
			k0 = k1
		}
		// Keys no query may see get no gradient.
		clearRows(gk, g.k.at(b, h)+k0*g.k.ld, g.k.ld, s-k0, g.d)
		clearRows(gv, g.v.at(b, h)+k0*g.v.ld, g.v.ld, s-k0, g.dv)
	}
}

// dropBack turns rows [i0, i1) of p (the probabilities) and dp (dO·vᵀ)
// into the dropped probabilities (for dV) and dS, redrawing the forward's
// dropout decisions of the block. tmp holds one row.
func (g *attnGeom) dropBack(p, dp []float32, ld int, tmp []float32, b, h, i0, i1, kn int) {
	// The decisions of the rows before i0, in the forward's order.
	keep := g.newKeep(b, h)
	for i := 0; i < i0; i++ { // i0 > 0 only under the causal mask
		_, ki := g.rowBlock(i - i%attnRowBlock)
		for range ki {
			keep.next()
		}
	}
	inv := 1 / (1 - g.dropout)
	for i := i0; i < i1; i++ {
		pr, dr := p[i*ld:i*ld+kn], dp[i*ld:i*ld+kn]
		// dP sees the dropped probabilities; dV needs them too, while dS
		// needs the undropped ones (kept in tmp).
		copy(tmp, pr)
		for j := range pr {
			if keep.next() {
				dr[j] *= inv
				pr[j] *= inv
			} else {
				dr[j], pr[j] = 0, 0
			}
		}
		pu := tmp[:kn]
		dsum := kernel.Dot(pu, dr)
		for j, pv := range pu {
			dr[j] = pv * (dr[j] - dsum)
		}
	}
}

// AttentionWeights returns the attention probabilities
// softmax(q·kᵀ·scale + mask) as a [B, H, T, S] tensor, for the same inputs
// and masks as ScaledDotProductAttention (v is not needed; Dropout is not
// applied). Unlike the fused op it materialises every block, so use it
// only when the weights themselves are wanted. It is differentiable.
func AttentionWeights(q, k *Var, opt AttentionOptions) *Var {
	opt.Dropout = 0
	vs := append([]int(nil), k.value.Shape()...)
	g := newAttnGeom("AttentionWeights", q.value.Shape(), k.value.Shape(), vs, &opt)
	out := wrap(alloc(g.weightsShape, q, k), q, k)
	qd, kd, wd := q.value.Data(), k.value.Data(), out.value.Data()
	ts := g.t * g.s
	g.each(func(lo, hi int) {
		buf := attnScratch(g.t + g.d*g.s)
		defer putAttnScratch(buf)
		inv, kt := (*buf)[:g.t], (*buf)[g.t:]
		for bh := lo; bh < hi; bh++ {
			blk := wd[bh*ts : (bh+1)*ts]
			if g.s == 0 {
				continue
			}
			b, h := bh/g.h, bh%g.h
			kernel.Transpose(kt, kd, g.k.at(b, h), g.k.ld, g.s, g.d, g.s)
			g.scores(blk, g.s, qd, kt, b, h, 0, g.t, g.s)
			g.softmaxRows(blk, g.s, 0, g.t, g.s, nil, inv)
			for i := range g.t {
				kernel.Scale(inv[i], blk[i*g.s:(i+1)*g.s])
			}
		}
	})
	if !out.requiresGrad {
		return out
	}
	return out.record("AttentionWeights", func(gy *tensor.Tensor) []*tensor.Tensor {
		var gqT, gkT *tensor.Tensor
		var gq, gk []float32
		if q.requiresGrad {
			gqT = tensor.Zeros(g.qShape...)
			gq = gqT.Data()
		}
		if k.requiresGrad {
			gkT = tensor.Zeros(g.kShape...)
			gk = gkT.Data()
		}
		gyd := gy.Data()
		g.each(func(lo, hi int) {
			buf := attnScratch(ts)
			defer putAttnScratch(buf)
			ds := *buf
			for bh := lo; bh < hi; bh++ {
				b, h := bh/g.h, bh%g.h
				p, gp := wd[bh*ts:(bh+1)*ts], gyd[bh*ts:(bh+1)*ts]
				for i := 0; i < g.t; i++ {
					pr, gr, dr := p[i*g.s:(i+1)*g.s], gp[i*g.s:(i+1)*g.s], ds[i*g.s:(i+1)*g.s]
					dsum := kernel.Dot(pr, gr)
					for j, pv := range pr {
						dr[j] = pv * (gr[j] - dsum)
					}
				}
				if gq != nil {
					kernel.Gemm(false, false, g.t, g.d, g.s, g.scale, ds, max(g.s, 1), kd[g.k.at(b, h):], g.k.ld, 0, gq[g.q.at(b, h):], g.q.ld)
				}
				if gk != nil {
					kernel.Gemm(true, false, g.s, g.d, g.t, g.scale, ds, max(g.s, 1), qd[g.q.at(b, h):], g.q.ld, 0, gk[g.k.at(b, h):], g.k.ld)
				}
			}
		})
		return []*tensor.Tensor{gqT, gkT}
	}, q, k)
}
