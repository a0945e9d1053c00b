package quant

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// RNNLM is the int8 counterpart of an nn.RNNLM, LSTM or GRU: the
// recurrent layer's input weights weight_ih_lK [G·H, in] and recurrent
// weights weight_hh_lK [G·H, H] (G = 4 gates for an LSTM, 3 for a GRU)
// and the head are int8 with per-row scales, and run on the int8 kernels:
// the input projection of every step as one product, then per step the
// product of the hidden state, quantised per row like any activation. The
// embedding, the biases, the gates (sigmoid, tanh) and the cell state stay
// in float32; the layers run the code of LSTM and GRU. Its buffers carry nn.RNNLM's names (embed.weight,
// rnn.weight_ih_l0, ..., head.weight), each int8 weight with a
// "..._scale" beside it.
//
// RNNLM is inference only and implements nn.IncrementalLM: NewDecoder
// carries the recurrent state from one call to the next.
type RNNLM struct {
	cfg    nn.RNNLMFileConfig
	embed  *nn.Embedding
	layers []cell // the recurrent layers, run by the code shared with LSTM and GRU
	head   *Dense
}

// NewRNNLM quantises the float model m (LSTM or GRU). m is not changed.
func NewRNNLM(m *nn.RNNLM) *RNNLM {
	if m.Embed == nil {
		panic("quant.NewRNNLM: the nn.RNNLM is not built (use nn.NewRNNLM)")
	}
	_, c := m.LayerConfig()
	q := buildRNNLM(c.(nn.RNNLMFileConfig), m)
	copyValues(q.embed.Params(), m.Embed.Params())
	return q
}

// buildRNNLM makes an RNNLM shaped by c, quantised from src when it is not
// nil and otherwise empty (for a model file to fill).
func buildRNNLM(c nn.RNNLMFileConfig, src *nn.RNNLM) *RNNLM {
	h := c.Hidden
	m := &RNNLM{cfg: c}
	m.embed = nn.Register("embed", nn.NewEmbedding(c.Vocab, c.Embed))
	for k := range max(c.Layers, 1) {
		in := c.Embed
		if k > 0 {
			in = h
		}
		var ly cell
		switch {
		case src == nil:
			ly = emptyCell(m.gates(), in, h, false)
		case src.GRU != nil:
			ly = quantCell(src.GRU.Weights[k])
		default:
			ly = quantCell(src.LSTM.Weights[k])
		}
		ly.nameCell("rnn.", fmt.Sprintf("_l%d", k))
		m.layers = append(m.layers, ly)
	}
	if src != nil {
		m.head = nn.Register("head", NewDense(src.Head))
	} else {
		m.head = nn.Register("head", &Dense{l: emptyLinear([]int{c.Vocab, h}, false)})
	}
	return m
}

// gates is 4 for an LSTM model, 3 for a GRU.
func (m *RNNLM) gates() int {
	if m.cfg.GRU {
		return 3
	}
	return 4
}

func cloneOrNil(p *nn.Param) *tensor.Tensor {
	if p == nil {
		return nil
	}
	return p.Value().Clone()
}

// name gives l's buffers PyTorch's LSTM names: the weight, its scales
// (weight + "_scale") and the bias.
func name(l *linear, weight, bias string) {
	l.weight.Name, l.scale.Name = weight, weight+"_scale"
	if l.bias != nil {
		l.bias.Name = bias
	}
}

// Config returns the model's shape.
func (m *RNNLM) Config() nn.RNNLMConfig { return m.cfg.Model() }

// lstmState is the hidden and cell state of every layer, [B, H] each,
// and the buffers a step reuses (the projections and the outputs of each
// layer, which a decoder keeps from call to call).
type lstmState struct {
	h, c        [][]float32
	xp, hp, out [][]float32
}

// Forward maps ids x [B, T] to logits [B, T, vocab] from a zero state.
func (m *RNNLM) Forward(x *autograd.Var) *autograd.Var {
	rejectTaped("quant.RNNLM.Forward", x)
	return m.run(x, nil)
}

// run feeds ids [B, T] through the model from state st (nil: zeros, not
// kept) and returns the logits, updating st.
func (m *RNNLM) run(ids *autograd.Var, st *lstmState) *autograd.Var {
	s := ids.Shape()
	if len(s) != 2 {
		panic(fmt.Sprintf("quant.RNNLM: ids %v are not [B, T]", s))
	}
	b, t, h := s[0], s[1], m.cfg.Hidden
	if st == nil {
		st = &lstmState{}
	}
	if st.h == nil {
		for range m.layers {
			st.h = append(st.h, make([]float32, b*h))
			st.c = append(st.c, make([]float32, b*h))
		}
		st.xp = make([][]float32, len(m.layers))
		st.hp = make([][]float32, len(m.layers))
		st.out = make([][]float32, len(m.layers))
	}
	if len(st.h[0]) != b*h {
		panic(fmt.Sprintf("quant.RNNLM: ids %v for a decoder of batch %d", s, len(st.h[0])/h))
	}
	x := m.embed.Forward(ids).Value().Data() // [B, T, E]
	for k, ly := range m.layers {
		st.xp[k] = grow(st.xp[k], b*t*m.gates()*h)
		st.hp[k] = grow(st.hp[k], b*m.gates()*h)
		st.out[k] = grow(st.out[k], b*t*h)
		ly.run(m.gates(), x, seqLayout{b: b, t: t, batchFirst: true}, nil, false, st.h[k], st.c[k], st.xp[k], st.hp[k], st.out[k], h, 0)
		x = st.out[k] // [B, T, H]
	}
	return m.head.Forward(autograd.NoGrad(tensor.New(x, b, t, h))) // [B, T, V]
}

// NewDecoder returns a decoder for batch sequences of any length, which
// carries the recurrent state from one call to the next.
func (m *RNNLM) NewDecoder(batch int) nn.Decoder {
	return &rnnDecoder{m: m, batch: batch, arena: autograd.NewArena()}
}

type rnnDecoder struct {
	m     *RNNLM
	batch int
	n     int
	st    lstmState
	arena *autograd.Arena // the embedding lookups of one Decode call
}

func (d *rnnDecoder) Decode(ids *tensor.Tensor) *tensor.Tensor {
	if s := ids.Shape(); len(s) != 2 || s[0] != d.batch {
		panic(fmt.Sprintf("quant.RNNLM.Decode: ids %v are not [%d, t]", s, d.batch))
	}
	d.arena.Reset()
	y := d.m.run(d.arena.Input(ids), &d.st).Value().Clone()
	d.n += ids.Dim(1)
	return y
}
func (d *rnnDecoder) Len() int { return d.n }
func (d *rnnDecoder) Cap() int { return 0 }
func (d *rnnDecoder) Reset()   { d.n, d.st = 0, lstmState{} }

// Params returns nothing: a quantised model is not trainable.
func (m *RNNLM) Params() []*nn.Param { return nil }

// Buffers returns the embedding, each layer's int8 weights with their
// scales and biases, and the head's.
func (m *RNNLM) Buffers() []*nn.Param {
	ps := m.embed.Params()
	for _, ly := range m.layers {
		ps = append(ps, ly.buffers()...)
	}
	return append(ps, m.head.Buffers()...)
}

// StateLoaded packs the int8 weights again after a load.
func (m *RNNLM) StateLoaded() {
	for _, ly := range m.layers {
		ly.pack()
	}
	m.head.StateLoaded()
}

// String describes the model, like "quant.RNNLM(vocab 65, embed 32, LSTM
// 128, 1 layer, int8)".
func (m *RNNLM) String() string {
	kind := "LSTM"
	if m.cfg.GRU {
		kind = "GRU"
	}
	return fmt.Sprintf("quant.RNNLM(vocab %d, embed %d, %s %d, %d layers, int8)", m.cfg.Vocab, m.cfg.Embed, kind, m.cfg.Hidden, len(m.layers))
}

// LayerConfig returns "quant.RNNLM" and the float model's
// nn.RNNLMFileConfig.
func (m *RNNLM) LayerConfig() (string, any) { return KindRNNLM, m.cfg }

var _ nn.IncrementalLM = (*RNNLM)(nil)
