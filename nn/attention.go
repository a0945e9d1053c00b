package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// MultiheadAttention is PyTorch's nn.MultiheadAttention with
// batch_first=True: queries [B, T, E] attend to keys [B, S, E] and values
// [B, S, E] through Heads heads of E/Heads features. Its parameters carry
// PyTorch's names and shapes, so state_dicts load both ways:
// in_proj_weight [3E, E] and in_proj_bias [3E] (query, key and value
// projections stacked in that order), out_proj.weight [E, E] and
// out_proj.bias [E]. Initialisation follows PyTorch: in_proj_weight from
// xavier_uniform, both biases zero, out_proj.weight from
// U(−1/√E, 1/√E).
//
// Forward is self-attention without masks; Attend takes separate query,
// key and value plus masks. Attention dropout draws from the layer's own
// generator, which RNGState and SetRNGState save and restore. Deliberate differences from PyTorch: inputs
// are always batch-first; weights are returned only when asked for
// (PyTorch's need_weights defaults to true), averaged over heads, and
// before attention dropout (PyTorch averages after it); a query whose keys
// are all masked gets zeros rather than NaN; separate key/value sizes
// (kdim, vdim) and add_bias_kv are not supported.
type MultiheadAttention struct {
	trainFlag
	InProjWeight *Param // [3E, E]
	InProjBias   *Param // [3E]; nil WithoutBias
	OutProj      *Dense // E → E
	Heads        int
	// Dropout is the probability of dropping an attention weight while
	// training.
	Dropout float32
	attnRNG
}

// attnRNG is the attention-dropout generator of an attention layer. Its
// state is saved and restored by the package's RNGState and SetRNGState.
type attnRNG struct {
	src *rand.PCG
	rng *rand.Rand
}

// newAttnRNG returns a generator seeded from r.
func newAttnRNG(r *rand.Rand) attnRNG {
	src := rand.NewPCG(r.Uint64(), r.Uint64())
	return attnRNG{src: src, rng: rand.New(src)}
}

// childSource returns an independent source for a dropout sub-layer, seeded
// from r, so that its state can be saved (see RNGState).
func childSource(r *rand.Rand) Option { return WithSource(rand.NewPCG(r.Uint64(), r.Uint64())) }

// RNGState returns the state of the attention-dropout generator.
func (a *attnRNG) RNGState() ([]byte, error) {
	if a.src == nil {
		return nil, errors.New("no generator; build the layer with its constructor")
	}
	return a.src.MarshalBinary()
}

// SetRNGState restores a state returned by RNGState.
func (a *attnRNG) SetRNGState(state []byte) error {
	old, err := a.RNGState()
	if err != nil {
		return err
	}
	if err := a.src.UnmarshalBinary(state); err != nil {
		_ = a.src.UnmarshalBinary(old)
		return fmt.Errorf("attention dropout generator: %w", err)
	}
	return nil
}

// NewMultiheadAttention returns attention over embed features split into
// heads heads (embed must divide by heads) with attention dropout p.
// Options: WithoutBias (no in_proj_bias and out_proj.bias), WithSeed,
// WithRand (initial weights and dropout masks).
func NewMultiheadAttention(embed, heads int, dropout float32, opts ...Option) *MultiheadAttention {
	if embed < 1 || heads < 1 || embed%heads != 0 {
		panic(fmt.Sprintf("nn.NewMultiheadAttention: embed %d must be a positive multiple of heads %d", embed, heads))
	}
	if dropout < 0 || dropout >= 1 {
		panic(fmt.Sprintf("nn.NewMultiheadAttention: dropout %v outside [0, 1)", dropout))
	}
	c := newConfig(opts)
	m := &MultiheadAttention{Heads: heads, Dropout: dropout}
	m.InProjWeight = NewParam("in_proj_weight", initTensor(nil, XavierUniform, c, 3*embed, embed))
	if !c.noBias {
		m.InProjBias = NewParam("in_proj_bias", tensor.Zeros(3*embed))
	}
	dopts := []Option{WithRand(c.rng), WithBiasInit(Zeros)}
	if c.noBias {
		dopts = append(dopts, WithoutBias())
	}
	m.OutProj = Register("out_proj", NewDense(embed, embed, dopts...))
	m.attnRNG = newAttnRNG(c.rng)
	return m
}

// AttendOptions are the masks and switches of one MultiheadAttention call.
type AttendOptions struct {
	// Causal forbids each query from attending to later keys.
	Causal bool
	// KeyPadding holds B·S flags; true marks a key that may not be
	// attended (PyTorch's key_padding_mask).
	KeyPadding []bool
	// Mask is an additive [T, S] float mask (PyTorch's float attn_mask;
	// turn a boolean one into this with autograd.AdditiveMask).
	Mask *tensor.Tensor
	// NeedWeights asks for the attention weights averaged over heads,
	// [B, T, S].
	NeedWeights bool
}

// Embed returns the model size E.
func (m *MultiheadAttention) Embed() int { return m.InProjWeight.Value().Dim(1) }

// Forward is self-attention of x [B, T, E] with no mask.
func (m *MultiheadAttention) Forward(x *autograd.Var) *autograd.Var {
	if m.InProjWeight == nil {
		panic(unbuilt("MultiheadAttention", "NewMultiheadAttention"))
	}
	y, _ := m.Attend(x, x, x, AttendOptions{})
	return y
}

func (m *MultiheadAttention) attnOptions(x *autograd.Var, o AttendOptions) autograd.AttentionOptions {
	a := autograd.AttentionOptions{Heads: m.Heads, Causal: o.Causal, KeyPadding: o.KeyPadding, Mask: o.Mask}
	if !m.eval && m.Dropout > 0 && !x.Inference() {
		a.Dropout, a.Rand = m.Dropout, m.rng
	}
	return a
}

// Attend returns the attention output [B, T, E] for query [B, T, E], key
// [B, S, E] and value [B, S, E], and, when o.NeedWeights is set, the
// head-averaged weights [B, T, S] (otherwise nil). When query, key and
// value are the same Var the three projections run as one product and
// attention reads its output in place.
func (m *MultiheadAttention) Attend(query, key, value *autograd.Var, o AttendOptions) (*autograd.Var, *autograd.Var) {
	if m.InProjWeight == nil {
		panic(unbuilt("MultiheadAttention", "NewMultiheadAttention"))
	}
	e := m.Embed()
	for _, v := range []*autograd.Var{query, key, value} {
		s := v.Shape()
		if len(s) != 3 || s[2] != e {
			panic(fmt.Sprintf("nn.MultiheadAttention: query %v, key %v, value %v must be [B, T, %d]", query.Shape(), key.Shape(), value.Shape(), e))
		}
	}
	opt := m.attnOptions(query, o)
	var out, weights *autograd.Var
	if query == key && key == value {
		qkv := linear3(query, m.InProjWeight.Var, varOf(m.InProjBias))
		out = autograd.SelfAttention(qkv, opt)
		if o.NeedWeights {
			p := autograd.Split(qkv, 2, e, e, e)
			weights = autograd.AttentionWeights(p[0], p[1], opt)
		}
	} else {
		ws := autograd.Chunk(m.InProjWeight.Var, 3, 0)
		var bs []*autograd.Var
		if m.InProjBias != nil {
			bs = autograd.Chunk(m.InProjBias.Var, 3, 0)
		} else {
			bs = make([]*autograd.Var, 3)
		}
		q := linear3(query, ws[0], bs[0])
		k := linear3(key, ws[1], bs[1])
		v := linear3(value, ws[2], bs[2])
		out = autograd.ScaledDotProductAttention(q, k, v, opt)
		if o.NeedWeights {
			weights = autograd.AttentionWeights(q, k, opt)
		}
	}
	if weights != nil {
		weights = autograd.Mean(weights, false, 1)
	}
	return m.OutProj.Forward(out), weights
}

// linear3 applies x·wᵀ + b to x [B, T, in].
func linear3(x, w, b *autograd.Var) *autograd.Var {
	s := x.Shape()
	y := autograd.Linear(autograd.Reshape(x, s[0]*s[1], s[2]), w, b)
	return autograd.Reshape(y, s[0], s[1], w.Shape()[0])
}

// Params returns in_proj_weight, in_proj_bias, out_proj.weight and
// out_proj.bias, PyTorch's order.
func (m *MultiheadAttention) Params() []*Param {
	if m.OutProj == nil {
		return params(m.InProjWeight, m.InProjBias)
	}
	return append(params(m.InProjWeight, m.InProjBias), m.OutProj.Params()...)
}

// Children returns the output projection.
func (m *MultiheadAttention) Children() []Module { return []Module{m.OutProj} }

// String describes the layer, like "MultiheadAttention(64, 4 heads)".
func (m *MultiheadAttention) String() string {
	if m.InProjWeight == nil {
		return "MultiheadAttention(unbuilt)"
	}
	s := fmt.Sprintf("MultiheadAttention(%d, %d heads", m.Embed(), m.Heads)
	if m.Dropout > 0 {
		s += fmt.Sprintf(", dropout %g", m.Dropout)
	}
	return s + ")"
}
