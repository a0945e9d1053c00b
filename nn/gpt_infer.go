package nn

import (
	"sync"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// gptScratch holds the activations of one packed inference forward of a
// GPT. The blocks run on g sequences at a time (rows = g·T), so that a
// chunk's activations stay in cache between the products: the residual
// stream x, a normalised copy h, the fused projection qkv, the attention
// output and the MLP's hidden layer. out gathers the final layer norm of
// every sequence for the one vocabulary product.
type gptScratch struct {
	b, g, t, e, hidden int
	x, h, qkv, att     *tensor.Tensor // [g·T, E], [g·T, E], [g·T, 3E], [g·T, E]
	ff                 *tensor.Tensor // [g·T, hidden]
	out                *tensor.Tensor // [B, T, E]
}

var gptScratchPool sync.Pool

func getGPTScratch(b, g, t, e, hidden int) *gptScratch {
	if s, ok := gptScratchPool.Get().(*gptScratch); ok && s.b == b && s.g == g && s.t == t && s.e == e && s.hidden == hidden {
		return s
	}
	rows := g * t
	return &gptScratch{b: b, g: g, t: t, e: e, hidden: hidden,
		x: tensor.Zeros(rows, e), h: tensor.Zeros(rows, e), qkv: tensor.Zeros(rows, 3*e),
		att: tensor.Zeros(rows, e), ff: tensor.Zeros(rows, hidden), out: tensor.Zeros(b, t, e)}
}

// gptChunkRows is about how many positions the fused forward pushes
// through the blocks at once: enough rows for the products to run at the
// micro-kernel's speed, few enough that a chunk's activations (≈ 10·E
// floats a row) stay in the per-core cache.
var gptChunkRows = 256

// gptChunk returns the number of sequences of t positions per chunk: a
// divisor of b, so that every chunk has the same shape.
func gptChunk(b, t int) int {
	g := min(max(gptChunkRows/t, 1), b)
	for b%g != 0 {
		g--
	}
	return g
}

// packedDense reports whether d can run as one packed product with a
// fused epilogue: its weight is packed for inference and it has no
// activation of its own.
func packedDense(d *Dense, out, in int) bool {
	if d == nil || d.Weight == nil || d.Activation != ActNone || !d.Weight.Cacheable() {
		return false
	}
	w := d.Weight.Value()
	return w.Rank() == 2 && (out < 0 || w.Dim(0) == out) && w.Dim(1) == in && (d.Bias == nil || tensor.EqualShape(d.Bias.Value().Shape(), []int{w.Dim(0)}))
}

// vecLayerNorm reports whether l normalises the last axis of e features.
func vecLayerNorm(l *LayerNorm, e int) bool {
	return l != nil && len(l.Shape) == 1 && l.Shape[0] == e
}

// inferReady reports whether Forward of idx can take the packed inference
// path: an inference input of valid ids [B, T], learned positions, and
// every product packed (PackForInference).
func (g *GPT) inferReady(idx *autograd.Var) bool {
	s := idx.Shape()
	if !idx.Inference() || g.WPE == nil || len(g.H) == 0 || g.LMHead == nil || g.LNF == nil || g.Cfg.Block.Rotary || len(s) != 2 || s[0] < 1 || s[1] < 1 || s[1] > g.Cfg.BlockSize {
		return false
	}
	e := g.Cfg.Block.DModel
	if g.WTE == nil || g.WTE.Weight == nil || g.WPE.Weight == nil || g.H[0] == nil || g.H[0].MLP == nil || g.H[0].MLP.CFC == nil || g.H[0].MLP.CFC.Weight == nil {
		return false // an unbuilt model: the layers' own path reports it
	}
	hidden := g.H[0].MLP.CFC.Weight.Value().Dim(0)
	if !packedDense(g.LMHead, -1, e) || !vecLayerNorm(g.LNF, e) || g.WTE.Weight.Value().Dim(1) != e || g.WPE.Weight.Value().Dim(1) != e || g.WPE.Weight.Value().Dim(0) < s[1] {
		return false
	}
	for _, b := range g.H {
		if b == nil || b.Attn == nil || b.MLP == nil || b.Attn.Rotary || !packedDense(b.Attn.CAttn, 3*e, e) || !packedDense(b.Attn.CProj, e, e) ||
			!packedDense(b.MLP.CFC, hidden, e) || !packedDense(b.MLP.CProj, e, hidden) ||
			!vecLayerNorm(b.LN1, e) || !vecLayerNorm(b.LN2, e) || b.Attn.Heads < 1 || e%b.Attn.Heads != 0 {
			return false
		}
	}
	num := g.WTE.Weight.Value().Dim(0)
	for _, v := range idx.Value().Data() {
		if id := int(v); float32(id) != v || id < 0 || id >= num {
			return false // the layers' own path reports it
		}
	}
	return true
}

// forwardPacked is Forward in inference with packed weights: the same
// maths as the layers, fused. Each block is
//
//	h = ln_1(x)                  one vector pass per row
//	qkv = h·c_attnᵀ + b          packed product, bias in its epilogue
//	a = attention(qkv)           q, k, v read in place, scores per 32 queries
//	x += a·c_projᵀ + b           the residual add in the product's epilogue
//	h = ln_2(x)
//	f = gelu(h·c_fcᵀ + b)        GELU in the epilogue
//	x += f·mlp.c_projᵀ + b
//
// on activations kept in pooled buffers, so that a call allocates only its
// result. It returns nil when the model or input does not fit (see
// inferReady).
func (g *GPT) forwardPacked(idx *autograd.Var) *autograd.Var {
	if !g.inferReady(idx) {
		return nil
	}
	s := idx.Shape()
	bsz, t := s[0], s[1]
	e := g.Cfg.Block.DModel
	hidden := g.H[0].MLP.CFC.Weight.Value().Dim(0)
	seqs := gptChunk(bsz, t)
	sc := getGPTScratch(bsz, seqs, t, e, hidden)
	defer gptScratchPool.Put(sc)
	x, h, out := sc.x.Data(), sc.h.Data(), sc.out.Data()
	wte, wpe := g.WTE.Weight.Value().Data(), g.WPE.Weight.Value().Data()
	ids := idx.Value().Data()
	n := seqs * t // rows of a chunk
	for c := 0; c < bsz*t; c += n {
		for r, v := range ids[c : c+n] {
			id, pos := int(v), r%t
			kernel.Add(x[r*e:(r+1)*e], wte[id*e:(id+1)*e], wpe[pos*e:(pos+1)*e])
		}
		for _, b := range g.H {
			layerNormInfer(b.LN1, h, x, e)
			tensor.MatMulPackedTo(sc.qkv, sc.h, b.Attn.CAttn.packedWeight(), b.Attn.CAttn.epilogue(tensor.ActNone))
			kernel.CausalSelfAttention(sc.att.Data(), sc.qkv.Data(), seqs, t, e, b.Attn.Heads)
			tensor.MatMulPackedAddTo(sc.x, sc.att, b.Attn.CProj.packedWeight(), b.Attn.CProj.epilogue(tensor.ActNone))
			layerNormInfer(b.LN2, h, x, e)
			tensor.MatMulPackedTo(sc.ff, sc.h, b.MLP.CFC.packedWeight(), b.MLP.CFC.epilogue(tensor.ActGELU))
			tensor.MatMulPackedAddTo(sc.x, sc.ff, b.MLP.CProj.packedWeight(), b.MLP.CProj.epilogue(tensor.ActNone))
		}
		layerNormInfer(g.LNF, out[c*e:(c+n)*e], x, e)
	}
	logits := tensor.Zeros(bsz, t, g.LMHead.Weight.Value().Dim(0))
	tensor.MatMulPackedTo(logits, sc.out, g.LMHead.packedWeight(), g.LMHead.epilogue(tensor.ActNone))
	return autograd.NoGrad(logits)
}

// layerNormInfer writes l(x) to dst, rows of e features.
func layerNormInfer(l *LayerNorm, dst, x []float32, e int) {
	var w, b []float32
	if l.Weight != nil {
		w = l.Weight.Value().Data()
	}
	if l.Bias != nil {
		b = l.Bias.Value().Data()
	}
	kernel.LayerNormRows(dst, x, w, b, e, l.Eps)
}

// packedWeight returns d's weight packed for inference.
func (d *Dense) packedWeight() *tensor.Packed { return d.packed.Get(d.Weight.Var, true) }

// epilogue returns d's bias and act as a product epilogue.
func (d *Dense) epilogue(act tensor.Act) tensor.Epilogue {
	ep := tensor.Epilogue{Act: act}
	if d.Bias != nil {
		ep.Bias = d.Bias.Value()
	}
	return ep
}
