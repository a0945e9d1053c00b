package nn

import "math"

// Model-file configurations of the sequence layers (see layerconfig.go).

// EmbeddingConfig is the model-file configuration of Embedding and
// PositionalEmbedding (which has no padding id).
type EmbeddingConfig struct {
	Num        int  `json:"num"`
	Dim        int  `json:"dim"`
	PaddingIdx *int `json:"padding_idx,omitempty"`
}

// LayerConfig returns "Embedding" and an EmbeddingConfig.
func (e *Embedding) LayerConfig() (string, any) {
	var c EmbeddingConfig
	if e.Weight != nil {
		c.Num, c.Dim = e.Weight.Value().Dim(0), e.Weight.Value().Dim(1)
	}
	if e.PaddingIdx >= 0 {
		p := e.PaddingIdx
		c.PaddingIdx = &p
	}
	return "Embedding", c
}

// LayerConfig returns "PositionalEmbedding" and an EmbeddingConfig whose
// Num is the maximum length.
func (p *PositionalEmbedding) LayerConfig() (string, any) {
	var c EmbeddingConfig
	if p.Weight != nil {
		c.Num, c.Dim = p.Weight.Value().Dim(0), p.Weight.Value().Dim(1)
	}
	return "PositionalEmbedding", c
}

// LayerConfig returns "SinusoidalPositionalEncoding" and an
// EmbeddingConfig whose Num is the maximum length.
func (s *SinusoidalPositionalEncoding) LayerConfig() (string, any) {
	var c EmbeddingConfig
	if s.PE != nil {
		c.Num, c.Dim = s.PE.Dim(0), s.PE.Dim(1)
	}
	return "SinusoidalPositionalEncoding", c
}

// RotaryConfig is the model-file configuration of Rotary.
type RotaryConfig struct {
	Heads int     `json:"heads"`
	Base  float64 `json:"base,omitempty"`
}

// LayerConfig returns "Rotary" and a RotaryConfig.
func (r *Rotary) LayerConfig() (string, any) {
	return "Rotary", RotaryConfig{Heads: r.Heads, Base: r.Base}
}

// AttentionConfig is the model-file configuration of MultiheadAttention.
type AttentionConfig struct {
	Embed   int     `json:"embed"`
	Heads   int     `json:"heads"`
	Dropout float32 `json:"dropout,omitempty"`
	NoBias  bool    `json:"no_bias,omitempty"`
}

// LayerConfig returns "MultiheadAttention" and an AttentionConfig.
func (m *MultiheadAttention) LayerConfig() (string, any) {
	c := AttentionConfig{Heads: m.Heads, Dropout: m.Dropout, NoBias: m.InProjBias == nil}
	if m.InProjWeight != nil {
		c.Embed = m.InProjWeight.Value().Dim(1)
	}
	return "MultiheadAttention", c
}

// TransformerLayerConfig is the model-file configuration of
// TransformerEncoderLayer and, with Layers and FinalNorm, of
// TransformerEncoder.
type TransformerLayerConfig struct {
	DModel     int     `json:"d_model"`
	Heads      int     `json:"heads"`
	DimFF      int     `json:"dim_ff"`
	Dropout    float32 `json:"dropout,omitempty"`
	Activation string  `json:"activation,omitempty"` // "ReLU" or "GELU"
	NormFirst  bool    `json:"norm_first,omitempty"`
	Eps        float32 `json:"eps"`
	Layers     int     `json:"layers,omitempty"` // TransformerEncoder only
	FinalNorm  bool    `json:"final_norm,omitempty"`
}

func (l *TransformerEncoderLayer) config() TransformerLayerConfig {
	c := TransformerLayerConfig{Activation: actName(l.Activation), NormFirst: l.NormFirst}
	if l.SelfAttn != nil {
		c.Heads = l.SelfAttn.Heads
	}
	if l.Linear1 != nil && l.Linear1.Weight != nil {
		c.DimFF, c.DModel = l.Linear1.Weight.Value().Dim(0), l.Linear1.Weight.Value().Dim(1)
	}
	if l.Norm1 != nil {
		c.Eps = l.Norm1.Eps
	}
	if l.Dropout != nil {
		c.Dropout = l.Dropout.P
	}
	return c
}

// LayerConfig returns "TransformerEncoderLayer" and a
// TransformerLayerConfig.
func (l *TransformerEncoderLayer) LayerConfig() (string, any) {
	return "TransformerEncoderLayer", l.config()
}

// LayerConfig returns "TransformerEncoder" and a TransformerLayerConfig.
func (e *TransformerEncoder) LayerConfig() (string, any) {
	var c TransformerLayerConfig
	if len(e.Layers) > 0 {
		c = e.Layers[0].config()
	}
	c.Layers, c.FinalNorm = len(e.Layers), e.Norm != nil
	return "TransformerEncoder", c
}

// GPTBlockConfig is the model-file configuration of GPTBlock.
type GPTBlockConfig struct {
	DModel     int     `json:"d_model"`
	Heads      int     `json:"heads"`
	Dropout    float32 `json:"dropout,omitempty"`
	NoBias     bool    `json:"no_bias,omitempty"`
	Rotary     bool    `json:"rotary,omitempty"`
	RotaryBase float64 `json:"rotary_base,omitempty"`
}

// LayerConfig returns "GPTBlock" and a GPTBlockConfig.
func (b *GPTBlock) LayerConfig() (string, any) {
	var c GPTBlockConfig
	if b.LN1 != nil && len(b.LN1.Shape) > 0 {
		c.DModel, c.NoBias = b.LN1.Shape[0], b.LN1.Bias == nil
	}
	if b.Attn != nil {
		c.Heads, c.Dropout, c.Rotary, c.RotaryBase = b.Attn.Heads, b.Attn.Dropout, b.Attn.Rotary, b.Attn.RotaryBase
	}
	return "GPTBlock", c
}

// RecurrentConfig is the model-file configuration of RNN, LSTM and GRU,
// and (without Layers, Bidirectional, BatchFirst and Dropout) of the
// cells.
type RecurrentConfig struct {
	Input         int     `json:"input"`
	Hidden        int     `json:"hidden"`
	Layers        int     `json:"layers,omitempty"`
	Bidirectional bool    `json:"bidirectional,omitempty"`
	BatchFirst    bool    `json:"batch_first,omitempty"`
	Dropout       float32 `json:"dropout,omitempty"`
	Nonlinearity  string  `json:"nonlinearity,omitempty"` // RNN and RNNCell: "tanh" or "relu"
	NoBias        bool    `json:"no_bias,omitempty"`
}

func (s *recurrentStack) config() RecurrentConfig {
	c := RecurrentConfig{Input: s.input, Hidden: s.hidden, Layers: s.cfg.Layers, Bidirectional: s.cfg.Bidirectional,
		BatchFirst: s.cfg.BatchFirst, Dropout: s.cfg.Dropout, NoBias: len(s.Weights) > 0 && s.Weights[0].BiasIH == nil}
	if s.relu {
		c.Nonlinearity = "relu"
	}
	return c
}

// LayerConfig returns "RNN" and a RecurrentConfig.
func (r *RNN) LayerConfig() (string, any) { return "RNN", r.config() }

// LayerConfig returns "LSTM" and a RecurrentConfig.
func (l *LSTM) LayerConfig() (string, any) { return "LSTM", l.config() }

// LayerConfig returns "GRU" and a RecurrentConfig.
func (g *GRU) LayerConfig() (string, any) { return "GRU", g.config() }

func cellConfig(p RecurrentParams, gates int) RecurrentConfig {
	var c RecurrentConfig
	if p.WeightIH != nil {
		c.Hidden, c.Input = p.WeightIH.Value().Dim(0)/gates, p.WeightIH.Value().Dim(1)
	}
	c.NoBias = p.BiasIH == nil
	return c
}

// LayerConfig returns "LSTMCell" and a RecurrentConfig.
func (c *LSTMCell) LayerConfig() (string, any) { return "LSTMCell", cellConfig(c.RecurrentParams, 4) }

// LayerConfig returns "GRUCell" and a RecurrentConfig.
func (c *GRUCell) LayerConfig() (string, any) { return "GRUCell", cellConfig(c.RecurrentParams, 3) }

// LayerConfig returns "RNNCell" and a RecurrentConfig.
func (c *RNNCell) LayerConfig() (string, any) {
	cfg := cellConfig(c.RecurrentParams, 1)
	if c.ReLU {
		cfg.Nonlinearity = "relu"
	}
	return "RNNCell", cfg
}

// attentionValues counts a MultiheadAttention's parameters.
func attentionValues(e int, noBias bool) int64 {
	return satAdd(satMul(4, count(e, e)), 4*biasCount(noBias, e))
}

func (c *checks) heads(e, h int) {
	c.size("heads", h)
	if c.err == nil && e%h != 0 {
		c.fail("d_model %d must divide by heads %d", e, h)
	}
}

func (c *checks) nonlinearity(s string) {
	if s != "" && s != "tanh" && s != "relu" {
		c.fail("nonlinearity %q, want \"tanh\" or \"relu\"", shortName(s))
	}
}

func transformerPlan(c *TransformerLayerConfig, stack bool) (cfg TransformerConfig, values int64, err error) {
	var k checks
	k.size("d_model", c.DModel)
	k.heads(c.DModel, c.Heads)
	k.size("dim_ff", c.DimFF)
	k.prob("dropout", c.Dropout)
	k.finite("eps", c.Eps, true)
	act := k.activation(c.Activation)
	if act == ActNone {
		act = ActReLU // the constructor's default
	}
	if k.err == nil && act != ActReLU && act != ActGELU {
		k.fail("activation %q, want ReLU or GELU", c.Activation)
	}
	if stack {
		k.size("layers", c.Layers)
	} else if c.Layers != 0 || c.FinalNorm {
		k.fail("layers and final_norm belong to TransformerEncoder")
	}
	if k.err != nil {
		return TransformerConfig{}, 0, k.err
	}
	e := c.DModel
	per := attentionValues(e, false)
	per = satAdd(per, satAdd(satMul(2, count(e, c.DimFF)), int64(c.DimFF)+int64(e)))
	per = satAdd(per, 4*int64(e))
	return TransformerConfig{DModel: e, Heads: c.Heads, DimFF: c.DimFF, Dropout: c.Dropout, Activation: act, NormFirst: c.NormFirst, Eps: c.Eps}, per, nil
}

func recurrentPlan(c *RecurrentConfig, gates int, stack, rnn bool) (int64, error) {
	var k checks
	k.size("input", c.Input)
	k.size("hidden", c.Hidden)
	if rnn {
		k.nonlinearity(c.Nonlinearity)
	} else if c.Nonlinearity != "" {
		k.fail("nonlinearity applies only to RNN and RNNCell")
	}
	if stack {
		k.nonNeg("layers", c.Layers)
		k.prob("dropout", c.Dropout)
	} else if c.Layers != 0 || c.Bidirectional || c.BatchFirst || c.Dropout != 0 {
		k.fail("layers, bidirectional, batch_first and dropout belong to RNN, LSTM and GRU, not to cells")
	}
	if k.err != nil {
		return 0, k.err
	}
	dirs := 1
	if c.Bidirectional {
		dirs = 2
	}
	var n int64
	for l := range max(c.Layers, 1) {
		in := c.Input
		if l > 0 {
			in = dirs * c.Hidden
		}
		one := satAdd(count(gates, c.Hidden, in), count(gates, c.Hidden, c.Hidden))
		one = satAdd(one, 2*biasCount(c.NoBias, gates*c.Hidden))
		n = satAdd(n, satMul(int64(dirs), one))
		if n >= 1<<62 {
			break
		}
	}
	return n, nil
}

func init() {
	registerBuiltin("Embedding", []any{(*Embedding)(nil)}, func(c *EmbeddingConfig) (layerPlan, error) {
		var k checks
		k.size("num", c.Num)
		k.size("dim", c.Dim)
		if k.err == nil && c.PaddingIdx != nil && (*c.PaddingIdx < 0 || *c.PaddingIdx >= c.Num) {
			k.fail("padding_idx %d outside [0, %d)", *c.PaddingIdx, c.Num)
		}
		if k.err != nil {
			return layerPlan{}, k.err
		}
		return leaf(count(c.Num, c.Dim), func() Module {
			if c.PaddingIdx != nil {
				return NewEmbeddingPadded(c.Num, c.Dim, *c.PaddingIdx, WithWeightInit(noInit))
			}
			return NewEmbedding(c.Num, c.Dim, WithWeightInit(noInit))
		})
	})
	registerBuiltin("PositionalEmbedding", []any{(*PositionalEmbedding)(nil)}, func(c *EmbeddingConfig) (layerPlan, error) {
		var k checks
		k.size("num", c.Num)
		k.size("dim", c.Dim)
		if c.PaddingIdx != nil {
			k.fail("a PositionalEmbedding has no padding_idx")
		}
		if k.err != nil {
			return layerPlan{}, k.err
		}
		return leaf(count(c.Num, c.Dim), func() Module { return NewPositionalEmbedding(c.Num, c.Dim, WithWeightInit(noInit)) })
	})
	registerBuiltin("SinusoidalPositionalEncoding", []any{(*SinusoidalPositionalEncoding)(nil)}, func(c *EmbeddingConfig) (layerPlan, error) {
		var k checks
		k.size("num", c.Num)
		k.size("dim", c.Dim)
		if k.err == nil && (c.Dim < 2 || c.Dim%2 != 0) {
			k.fail("dim %d must be even", c.Dim)
		}
		if c.PaddingIdx != nil {
			k.fail("a SinusoidalPositionalEncoding has no padding_idx")
		}
		if k.err != nil {
			return layerPlan{}, k.err
		}
		p, _ := leaf(0, func() Module { return NewSinusoidalPositionalEncoding(c.Num, c.Dim) })
		p.derived = count(c.Num, c.Dim)
		return p, nil
	})
	registerBuiltin("Rotary", []any{(*Rotary)(nil)}, func(c *RotaryConfig) (layerPlan, error) {
		var k checks
		k.size("heads", c.Heads)
		if math.IsNaN(c.Base) || math.IsInf(c.Base, 0) || c.Base < 0 {
			k.fail("base must be finite and not negative, got %v", c.Base)
		}
		if k.err != nil {
			return layerPlan{}, k.err
		}
		return leaf(0, func() Module { return &Rotary{Heads: c.Heads, Base: c.Base} })
	})
	registerBuiltin("MultiheadAttention", []any{(*MultiheadAttention)(nil)}, func(c *AttentionConfig) (layerPlan, error) {
		var k checks
		k.size("embed", c.Embed)
		k.heads(c.Embed, c.Heads)
		k.prob("dropout", c.Dropout)
		if k.err != nil {
			return layerPlan{}, k.err
		}
		return leaf(attentionValues(c.Embed, c.NoBias), func() Module {
			var o []Option
			if c.NoBias {
				o = append(o, WithoutBias())
			}
			return NewMultiheadAttention(c.Embed, c.Heads, c.Dropout, o...)
		})
	})
	registerBuiltin("TransformerEncoderLayer", []any{(*TransformerEncoderLayer)(nil)}, func(c *TransformerLayerConfig) (layerPlan, error) {
		cfg, n, err := transformerPlan(c, false)
		if err != nil {
			return layerPlan{}, err
		}
		return leaf(n, func() Module { return NewTransformerEncoderLayer(cfg) })
	})
	registerBuiltin("TransformerEncoder", []any{(*TransformerEncoder)(nil)}, func(c *TransformerLayerConfig) (layerPlan, error) {
		cfg, n, err := transformerPlan(c, true)
		if err != nil {
			return layerPlan{}, err
		}
		total := satMul(int64(c.Layers), n)
		if c.FinalNorm {
			total = satAdd(total, 2*int64(c.DModel))
		}
		return leaf(total, func() Module { return NewTransformerEncoder(cfg, c.Layers, c.FinalNorm) })
	})
	registerBuiltin("GPTBlock", []any{(*GPTBlock)(nil)}, func(c *GPTBlockConfig) (layerPlan, error) {
		var k checks
		k.size("d_model", c.DModel)
		k.heads(c.DModel, c.Heads)
		k.prob("dropout", c.Dropout)
		if k.err == nil && c.Rotary && (c.DModel/c.Heads)%2 != 0 {
			k.fail("rotary embeddings need an even head size, got %d", c.DModel/c.Heads)
		}
		if math.IsNaN(c.RotaryBase) || math.IsInf(c.RotaryBase, 0) || c.RotaryBase < 0 {
			k.fail("rotary_base must be finite and not negative, got %v", c.RotaryBase)
		}
		if k.err != nil {
			return layerPlan{}, k.err
		}
		e := c.DModel
		n := satMul(12, count(e, e)) // c_attn 3E², c_proj E², c_fc 4E², mlp c_proj 4E²
		n = satAdd(n, 9*biasCount(c.NoBias, e)+2*int64(e)+2*biasCount(c.NoBias, e))
		return leaf(n, func() Module {
			return NewGPTBlock(GPTConfig{DModel: e, Heads: c.Heads, Dropout: c.Dropout, NoBias: c.NoBias, Rotary: c.Rotary, RotaryBase: c.RotaryBase},
				WithWeightInit(noInit))
		})
	})
	type recurrent struct {
		kind  string
		typ   any
		gates int
		stack bool
		build func(c *RecurrentConfig) Module
	}
	rcfg := func(c *RecurrentConfig) RNNConfig {
		return RNNConfig{Layers: c.Layers, Bidirectional: c.Bidirectional, BatchFirst: c.BatchFirst, Dropout: c.Dropout, Nonlinearity: c.Nonlinearity}
	}
	bias := func(c *RecurrentConfig) []Option {
		if c.NoBias {
			return []Option{WithoutBias()}
		}
		return nil
	}
	for _, r := range []recurrent{
		{"RNN", (*RNN)(nil), 1, true, func(c *RecurrentConfig) Module { return NewRNN(c.Input, c.Hidden, rcfg(c), bias(c)...) }},
		{"LSTM", (*LSTM)(nil), 4, true, func(c *RecurrentConfig) Module { return NewLSTM(c.Input, c.Hidden, rcfg(c), bias(c)...) }},
		{"GRU", (*GRU)(nil), 3, true, func(c *RecurrentConfig) Module { return NewGRU(c.Input, c.Hidden, rcfg(c), bias(c)...) }},
		{"RNNCell", (*RNNCell)(nil), 1, false, func(c *RecurrentConfig) Module {
			return NewRNNCell(c.Input, c.Hidden, c.Nonlinearity, bias(c)...)
		}},
		{"LSTMCell", (*LSTMCell)(nil), 4, false, func(c *RecurrentConfig) Module { return NewLSTMCell(c.Input, c.Hidden, bias(c)...) }},
		{"GRUCell", (*GRUCell)(nil), 3, false, func(c *RecurrentConfig) Module { return NewGRUCell(c.Input, c.Hidden, bias(c)...) }},
	} {
		registerBuiltin(r.kind, []any{r.typ}, func(c *RecurrentConfig) (layerPlan, error) {
			n, err := recurrentPlan(c, r.gates, r.stack, r.kind == "RNN" || r.kind == "RNNCell")
			if err != nil {
				return layerPlan{}, err
			}
			return leaf(n, func() Module { return r.build(c) })
		})
	}
}
