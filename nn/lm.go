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
	// sequence and returns the logits [B, t, vocab] that follow each, a
	// tensor of the caller's.
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

// NewDecoder returns a decoder for batch sequences of up to BlockSize
// positions over the model's Decode and one KVCache per block (NewCaches).
func (g *GPT) NewDecoder(batch int) Decoder {
	return &gptDecoder{g: g, caches: g.NewCaches(batch), arena: autograd.NewArena()}
}

type gptDecoder struct {
	g      *GPT
	caches []*KVCache
	arena  *autograd.Arena // the buffers of one Decode call
}

// Decode runs the new ids through the model, every block reading and
// extending its cache. It panics when the positions would pass Cap. The
// intermediates come from the decoder's arena, so that a step allocates
// little beyond the logits it returns.
func (d *gptDecoder) Decode(ids *tensor.Tensor) *tensor.Tensor {
	d.arena.Reset()
	return d.g.Decode(d.arena.Input(ids), d.caches).Value().Clone() // [B, t, Vocab]
}

func (d *gptDecoder) Len() int { return d.caches[0].Len }
func (d *gptDecoder) Cap() int { return d.g.Cfg.BlockSize }
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
func (m *RNNLM) NewDecoder(batch int) Decoder {
	return &rnnDecoder{m: m, batch: batch, arenas: [2]*autograd.Arena{autograd.NewArena(), autograd.NewArena()}}
}

type rnnDecoder struct {
	m     *RNNLM
	batch int
	n     int
	lstm  LSTMState
	gru   RNNState
	// arenas supply the buffers of alternate Decode calls: the state a
	// call carries forward lives in one while the next call fills the
	// other.
	arenas [2]*autograd.Arena
}

func (d *rnnDecoder) Decode(ids *tensor.Tensor) *tensor.Tensor {
	if s := ids.Shape(); len(s) != 2 || s[0] != d.batch {
		panic(fmt.Sprintf("nn.RNNLM.Decode: ids %v are not [%d, t]", s, d.batch))
	}
	// The state this call starts from lives in the arena of the last
	// call; this one fills the other.
	d.arenas[0], d.arenas[1] = d.arenas[1], d.arenas[0]
	a := d.arenas[0]
	a.Reset()
	x := d.m.Embed.Forward(a.Input(ids)) // [B, t, Embed]
	var h *autograd.Var
	if d.m.GRU != nil {
		h, d.gru = d.m.GRU.ForwardWith(x, d.gru, nil)
	} else {
		h, d.lstm = d.m.LSTM.ForwardWith(x, d.lstm, nil)
	}
	d.n += ids.Dim(1)
	return d.m.Head.Forward(h).Value().Clone() // [B, t, Vocab]
}

func (d *rnnDecoder) Len() int { return d.n }
func (d *rnnDecoder) Cap() int { return 0 }
func (d *rnnDecoder) Reset() {
	d.n, d.lstm, d.gru = 0, LSTMState{}, RNNState{}
}
