package nn

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Decoder runs a language model over a batch of sequences a few tokens at
// a time, keeping what it needs of the tokens already fed (a GPT's keys
// and values, an RNN's state), so that generating N tokens costs N model
// steps rather than N passes over the whole context. A Decoder belongs to
// one batch of sequences and one goroutine; the model itself is only read.
type Decoder interface {
	// Decode feeds the next ids [B, t] (float32 whole numbers) of every
	// sequence and returns the logits [B, t, vocab] that follow each.
	Decode(ids *tensor.Tensor) *tensor.Tensor
	// Len returns the number of positions fed since the last Reset.
	Len() int
	// Cap returns the most positions the decoder can hold, 0 for no limit.
	Cap() int
	// Reset forgets every position, to start new sequences.
	Reset()
}

// IncrementalLM is a language model that maps ids [B, T] to logits
// [B, T, vocab] and can also decode incrementally.
type IncrementalLM interface {
	Module
	// NewDecoder returns an empty decoder for batch sequences.
	NewDecoder(batch int) Decoder
}

var (
	_ IncrementalLM = (*GPT)(nil)
	_ IncrementalLM = (*RNNLM)(nil)
)

// GPTModelConfig shapes a GPT.
type GPTModelConfig struct {
	Vocab   int // token ids [0, Vocab) (required)
	Context int // most positions, the size of the position table (required)
	Layers  int // GPTBlocks (required)
	// Block shapes every block: DModel, Heads, Dropout, NoBias, Rotary.
	Block GPTConfig
}

// GPT is a decoder-only transformer language model after nanoGPT: token
// embeddings wte, learned position embeddings wpe (none with rotary
// blocks), a stack of pre-norm GPTBlocks h.0, h.1, ..., a final layer norm
// ln_f and an output projection lm_head (untied). Forward maps ids [B, T]
// to logits [B, T, Vocab]; NewDecoder decodes with a key/value cache.
type GPT struct {
	WTE    *Embedding
	WPE    *PositionalEmbedding // nil with rotary blocks
	Blocks []*GPTBlock
	LNF    *LayerNorm
	Head   *Dense
	cfg    GPTModelConfig
}

// NewGPT builds a GPT with every weight drawn from N(0, 0.02) as nanoGPT
// does, biases zero. Options: WithSeed, WithRand.
func NewGPT(cfg GPTModelConfig, opts ...Option) *GPT {
	if cfg.Vocab < 1 || cfg.Context < 1 || cfg.Layers < 1 {
		panic(fmt.Sprintf("nn.NewGPT: Vocab %d, Context %d and Layers %d must be positive", cfg.Vocab, cfg.Context, cfg.Layers))
	}
	c := newConfig(opts)
	init := WithWeightInit(Normal(0, 0.02))
	r := WithRand(c.rng)
	e := cfg.Block.DModel
	g := &GPT{cfg: cfg}
	g.WTE = Register("wte", NewEmbedding(cfg.Vocab, e, init, r))
	if !cfg.Block.Rotary {
		g.WPE = Register("wpe", NewPositionalEmbedding(cfg.Context, e, init, r))
	}
	for i := range cfg.Layers {
		g.Blocks = append(g.Blocks, Register(fmt.Sprintf("h.%d", i), NewGPTBlock(cfg.Block, init, r)))
	}
	var norm []Option
	if cfg.Block.NoBias {
		norm = append(norm, WithoutBias())
	}
	g.LNF = Register("ln_f", NewLayerNorm(e, norm...))
	g.Head = Register("lm_head", NewDense(e, cfg.Vocab, init, r, WithoutBias()))
	return g
}

// Config returns the configuration the model was built with.
func (g *GPT) Config() GPTModelConfig { return g.cfg }

// Forward maps ids x [B, T] (T ≤ Context) to logits [B, T, Vocab].
func (g *GPT) Forward(x *autograd.Var) *autograd.Var {
	if s := x.Shape(); len(s) != 2 || s[1] > g.cfg.Context {
		panic(fmt.Sprintf("nn.GPT.Forward: ids %v are not [B, T ≤ %d]", s, g.cfg.Context))
	}
	h := g.WTE.Forward(x) // [B, T, E]
	if g.WPE != nil {
		h = g.WPE.Forward(h)
	}
	for _, b := range g.Blocks {
		h = b.Forward(h)
	}
	return g.Head.Forward(g.LNF.Forward(h)) // [B, T, Vocab]
}

// Params returns the parameters in the order of Children.
func (g *GPT) Params() []*Param {
	var ps []*Param
	for _, m := range g.Children() {
		ps = append(ps, m.Params()...)
	}
	return ps
}

// Children returns the embeddings, blocks, final norm and head.
func (g *GPT) Children() []Module {
	ms := []Module{g.WTE}
	if g.WPE != nil {
		ms = append(ms, g.WPE)
	}
	for _, b := range g.Blocks {
		ms = append(ms, b)
	}
	return append(ms, g.LNF, g.Head)
}

// String describes the model.
func (g *GPT) String() string {
	return fmt.Sprintf("GPT(vocab %d, context %d, %d × %v)", g.cfg.Vocab, g.cfg.Context, len(g.Blocks), g.Blocks[0])
}

// NewDecoder returns a decoder for batch sequences of up to Context
// positions, with one preallocated KVCache per block.
func (g *GPT) NewDecoder(batch int) Decoder {
	d := &gptDecoder{g: g}
	for range g.Blocks {
		d.caches = append(d.caches, NewKVCache(batch, g.cfg.Context, g.cfg.Block.DModel))
	}
	return d
}

type gptDecoder struct {
	g      *GPT
	caches []*KVCache
	pos    []int
}

// Decode runs the new ids through the model, every block reading and
// extending its cache. It panics when the positions would pass Cap.
func (d *gptDecoder) Decode(ids *tensor.Tensor) *tensor.Tensor {
	n := d.caches[0].Len
	s := ids.Shape()
	if len(s) != 2 || s[0] != d.caches[0].K.Dim(0) || n+s[1] > d.Cap() {
		panic(fmt.Sprintf("nn.GPT.Decode: ids %v do not fit a decoder for %d sequences holding %d of %d positions", s, d.caches[0].K.Dim(0), n, d.Cap()))
	}
	h := d.g.WTE.Forward(autograd.NoGrad(ids)) // [B, t, E]
	if d.g.WPE != nil {
		d.pos = d.pos[:0]
		for i := range s[1] {
			d.pos = append(d.pos, n+i)
		}
		h = autograd.Add(h, autograd.Embedding(d.g.WPE.Weight.Var, d.pos, -1)) // [B, t, E] + [t, E]
	}
	for i, b := range d.g.Blocks {
		h = b.Decode(h, d.caches[i])
	}
	return d.g.Head.Forward(d.g.LNF.Forward(h)).Value() // [B, t, Vocab]
}

func (d *gptDecoder) Len() int { return d.caches[0].Len }
func (d *gptDecoder) Cap() int { return d.g.cfg.Context }
func (d *gptDecoder) Reset() {
	for _, c := range d.caches {
		c.Reset()
	}
}

// RNNLMConfig shapes an RNNLM.
type RNNLMConfig struct {
	Vocab  int // token ids [0, Vocab) (required)
	Embed  int // embedding size (required)
	Hidden int // recurrent units per layer (required)
	Layers int // recurrent layers (default 1)
	// GRU selects a GRU instead of an LSTM.
	GRU bool
	// Dropout between recurrent layers while training.
	Dropout float32
}

// RNNLM is a recurrent language model: an embedding ("embed"), a
// batch-first LSTM or GRU ("rnn") and a linear head ("head"). Forward maps
// ids [B, T] to logits [B, T, Vocab]; NewDecoder decodes carrying the
// recurrent state.
type RNNLM struct {
	Embed *Embedding
	LSTM  *LSTM // nil for a GRU
	GRU   *GRU  // nil for an LSTM
	Head  *Dense
	cfg   RNNLMConfig
}

// NewRNNLM builds an RNNLM. Options: WithSeed, WithRand.
func NewRNNLM(cfg RNNLMConfig, opts ...Option) *RNNLM {
	if cfg.Vocab < 1 || cfg.Embed < 1 || cfg.Hidden < 1 || cfg.Layers < 0 {
		panic(fmt.Sprintf("nn.NewRNNLM: Vocab %d, Embed %d, Hidden %d must be positive, Layers %d not negative", cfg.Vocab, cfg.Embed, cfg.Hidden, cfg.Layers))
	}
	if cfg.Layers == 0 {
		cfg.Layers = 1
	}
	c := newConfig(opts)
	r := WithRand(c.rng)
	m := &RNNLM{cfg: cfg}
	m.Embed = Register("embed", NewEmbedding(cfg.Vocab, cfg.Embed, r))
	rc := RNNConfig{Layers: cfg.Layers, BatchFirst: true, Dropout: cfg.Dropout}
	if cfg.GRU {
		m.GRU = Register("rnn", NewGRU(cfg.Embed, cfg.Hidden, rc, r))
	} else {
		m.LSTM = Register("rnn", NewLSTM(cfg.Embed, cfg.Hidden, rc, r))
	}
	m.Head = Register("head", NewDense(cfg.Hidden, cfg.Vocab, r))
	return m
}

// Config returns the configuration the model was built with.
func (m *RNNLM) Config() RNNLMConfig { return m.cfg }

func (m *RNNLM) rnn() Module {
	if m.GRU != nil {
		return m.GRU
	}
	return m.LSTM
}

// Forward maps ids x [B, T] to logits [B, T, Vocab] from a zero state.
func (m *RNNLM) Forward(x *autograd.Var) *autograd.Var {
	if len(x.Shape()) != 2 {
		panic(fmt.Sprintf("nn.RNNLM.Forward: ids %v are not [B, T]", x.Shape()))
	}
	return m.Head.Forward(m.rnn().Forward(m.Embed.Forward(x)))
}

// Params returns the embedding's, the recurrent layers' and the head's
// parameters.
func (m *RNNLM) Params() []*Param {
	return append(append(m.Embed.Params(), m.rnn().Params()...), m.Head.Params()...)
}

// Children returns the embedding, the recurrent layer and the head.
func (m *RNNLM) Children() []Module { return []Module{m.Embed, m.rnn(), m.Head} }

// String describes the model.
func (m *RNNLM) String() string {
	return fmt.Sprintf("RNNLM(vocab %d, embed %d, %v)", m.cfg.Vocab, m.cfg.Embed, m.rnn())
}

// NewDecoder returns a decoder for batch sequences of any length, which
// carries the recurrent state from one call to the next.
func (m *RNNLM) NewDecoder(batch int) Decoder { return &rnnDecoder{m: m, batch: batch} }

type rnnDecoder struct {
	m     *RNNLM
	batch int
	n     int
	lstm  LSTMState
	gru   RNNState
}

func (d *rnnDecoder) Decode(ids *tensor.Tensor) *tensor.Tensor {
	if s := ids.Shape(); len(s) != 2 || s[0] != d.batch {
		panic(fmt.Sprintf("nn.RNNLM.Decode: ids %v are not [%d, t]", s, d.batch))
	}
	x := d.m.Embed.Forward(autograd.NoGrad(ids)) // [B, t, Embed]
	var h *autograd.Var
	if d.m.GRU != nil {
		h, d.gru = d.m.GRU.ForwardWith(x, d.gru, nil)
	} else {
		h, d.lstm = d.m.LSTM.ForwardWith(x, d.lstm, nil)
	}
	d.n += ids.Dim(1)
	return d.m.Head.Forward(h).Value() // [B, t, Vocab]
}

func (d *rnnDecoder) Len() int { return d.n }
func (d *rnnDecoder) Cap() int { return 0 }
func (d *rnnDecoder) Reset() {
	d.n, d.lstm, d.gru = 0, LSTMState{}, RNNState{}
}
