package nn

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// PositionalEmbedding adds a learned vector per position to x [B, T, E]
// (GPT-2's and nanoGPT's wpe): Weight [maxLen, E], drawn from N(0, 1) like
// nn.Embedding; T may not exceed maxLen.
type PositionalEmbedding struct {
	Weight *Param // [maxLen, E]
}

// NewPositionalEmbedding returns learned position vectors for up to maxLen
// positions of dim features. Options: WithWeightInit, WithSeed, WithRand.
func NewPositionalEmbedding(maxLen, dim int, opts ...Option) *PositionalEmbedding {
	e := newEmbedding("NewPositionalEmbedding", maxLen, dim, -1, opts)
	return &PositionalEmbedding{Weight: e.Weight}
}

// Forward returns x + Weight[:T].
func (p *PositionalEmbedding) Forward(x *autograd.Var) *autograd.Var { return p.ForwardAt(x, 0) }

// ForwardAt returns x + Weight[offset : offset+T], for x holding positions
// offset … offset+T−1 of its sequences (decoding with a cache).
func (p *PositionalEmbedding) ForwardAt(x *autograd.Var, offset int) *autograd.Var {
	if p.Weight == nil {
		panic(unbuilt("PositionalEmbedding", "NewPositionalEmbedding"))
	}
	maxLen := p.Weight.Value().Dim(0)
	seqLen("PositionalEmbedding", x, maxLen-max(offset, 0), p.Weight.Value().Dim(1))
	if offset < 0 {
		panic(fmt.Sprintf("nn.PositionalEmbedding.ForwardAt: negative offset %d", offset))
	}
	return autograd.AddPositions(x, p.Weight.Var, offset) // [B, T, E] + [T, E]
}

// Params returns the table.
func (p *PositionalEmbedding) Params() []*Param { return []*Param{p.Weight} }

// seqLen checks that x is [B, T, dim] with T ≤ maxLen and returns T.
func seqLen(op string, x *autograd.Var, maxLen, dim int) int {
	s := x.Shape()
	if len(s) != 3 || s[2] != dim || s[1] > maxLen {
		panic(fmt.Sprintf("nn.%s.Forward: input %v is not [B, T ≤ %d, %d]", op, s, maxLen, dim))
	}
	return s[1]
}

// SinusoidalPositionalEncoding adds the fixed encodings of "Attention Is
// All You Need" to x [B, T, E]: PE[p, 2i] = sin(p / 10000^(2i/E)) and
// PE[p, 2i+1] = cos(p / 10000^(2i/E)), as in PyTorch's transformer
// tutorial. It has no parameters; the table is not saved.
type SinusoidalPositionalEncoding struct {
	PE *tensor.Tensor // [maxLen, E]
}

// NewSinusoidalPositionalEncoding returns the encodings of maxLen positions
// of dim features (dim even).
func NewSinusoidalPositionalEncoding(maxLen, dim int) *SinusoidalPositionalEncoding {
	if maxLen < 1 || dim < 2 || dim%2 != 0 {
		panic(fmt.Sprintf("nn.NewSinusoidalPositionalEncoding: need maxLen ≥ 1 and an even dim ≥ 2, got %d, %d", maxLen, dim))
	}
	pe := tensor.Zeros(maxLen, dim)
	d := pe.Data()
	for p := 0; p < maxLen; p++ {
		for i := 0; i < dim/2; i++ {
			a := float64(p) * math.Exp(-math.Log(10000)*float64(2*i)/float64(dim))
			d[p*dim+2*i], d[p*dim+2*i+1] = float32(math.Sin(a)), float32(math.Cos(a))
		}
	}
	return &SinusoidalPositionalEncoding{PE: pe}
}

// Forward returns x + PE[:T].
func (s *SinusoidalPositionalEncoding) Forward(x *autograd.Var) *autograd.Var {
	if s.PE == nil {
		panic(unbuilt("SinusoidalPositionalEncoding", "NewSinusoidalPositionalEncoding"))
	}
	t := seqLen("SinusoidalPositionalEncoding", x, s.PE.Dim(0), s.PE.Dim(1))
	return autograd.Add(x, autograd.Constant(tensor.Slice(s.PE, 0, 0, t)))
}

// Params returns nil: the encodings are fixed.
func (s *SinusoidalPositionalEncoding) Params() []*Param { return nil }

// Rotary is a parameter-free layer applying rotary position embeddings
// (autograd.Rotary) to x [B, T, Heads·D]: use it on queries and keys.
type Rotary struct {
	Heads int
	Base  float64 // default 10000
}

// Forward rotates each head of x by its position.
func (r *Rotary) Forward(x *autograd.Var) *autograd.Var {
	base := r.Base
	if base == 0 {
		base = 10000
	}
	return autograd.Rotary(x, max(r.Heads, 1), base, 0)
}

// Params returns nil.
func (r *Rotary) Params() []*Param { return nil }
