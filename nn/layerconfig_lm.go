package nn

// Model-file descriptions of the language models, so that a GPT or an
// RNNLM saves with SaveModel (its tokenizer as the ExtraTokenizer extra)
// and loads with LoadModel with no code of the caller's.

// GPTFileConfig is the model-file configuration of GPT: the sizes of
// GPTModelConfig and its blocks' GPTBlockConfig.
type GPTFileConfig struct {
	VocabSize int            `json:"vocab_size"`
	BlockSize int            `json:"block_size"`
	Layers    int            `json:"layers"`
	Block     GPTBlockConfig `json:"block"`
}

// LayerConfig returns "GPT" and a GPTFileConfig.
func (g *GPT) LayerConfig() (string, any) {
	c := g.Cfg
	b := c.Block
	return "GPT", GPTFileConfig{VocabSize: c.VocabSize, BlockSize: c.BlockSize, Layers: c.Layers, Block: GPTBlockConfig(b)}
}

// RNNLMFileConfig is the model-file configuration of RNNLM.
type RNNLMFileConfig struct {
	Vocab   int     `json:"vocab"`
	Embed   int     `json:"embed"`
	Hidden  int     `json:"hidden"`
	Layers  int     `json:"layers,omitempty"`
	GRU     bool    `json:"gru,omitempty"`
	Dropout float32 `json:"dropout,omitempty"`
}

// LayerConfig returns "RNNLM" and an RNNLMFileConfig.
func (m *RNNLM) LayerConfig() (string, any) {
	c := m.cfg
	return "RNNLM", RNNLMFileConfig(c)
}

// GPTValues checks c and returns the number of values a GPT of that shape
// stores (parameters of every layer), for a model-file loader to bound
// what it allocates by the bytes in the file.
func GPTValues(c GPTFileConfig) (int64, error) {
	var k checks
	k.size("vocab_size", c.VocabSize)
	k.size("block_size", c.BlockSize)
	k.size("layers", c.Layers)
	b := c.Block
	k.size("block.d_model", b.DModel)
	k.heads(b.DModel, b.Heads)
	k.prob("block.dropout", b.Dropout)
	if k.err == nil && b.Rotary && (b.DModel/b.Heads)%2 != 0 {
		k.fail("rotary embeddings need an even head size, got %d", b.DModel/b.Heads)
	}
	if !(b.RotaryBase >= 0) || b.RotaryBase > 1e300 {
		k.fail("block.rotary_base must be finite and not negative, got %v", b.RotaryBase)
	}
	if k.err != nil {
		return 0, k.err
	}
	e := b.DModel
	block := satMul(12, count(e, e))
	block = satAdd(block, 9*biasCount(b.NoBias, e)+2*int64(e)+2*biasCount(b.NoBias, e))
	n := satMul(int64(c.Layers), block)
	n = satAdd(n, satMul(2, count(c.VocabSize, e))) // wte and lm_head
	if !b.Rotary {
		n = satAdd(n, count(c.BlockSize, e))
	}
	return satAdd(n, int64(e)+biasCount(b.NoBias, e)), nil // ln_f
}

// Model returns the GPTModelConfig that c describes.
func (c GPTFileConfig) Model() GPTModelConfig {
	b := c.Block
	return GPTModelConfig{VocabSize: c.VocabSize, BlockSize: c.BlockSize, Layers: c.Layers, Block: GPTConfig(b)}
}

// RNNLMValues checks c and returns the number of values an RNNLM of that
// shape stores.
func RNNLMValues(c RNNLMFileConfig) (int64, error) {
	var k checks
	k.size("vocab", c.Vocab)
	k.size("embed", c.Embed)
	k.size("hidden", c.Hidden)
	if k.err != nil {
		return 0, k.err
	}
	gates := 4
	if c.GRU {
		gates = 3
	}
	n, err := recurrentPlan(&RecurrentConfig{Input: c.Embed, Hidden: c.Hidden, Layers: c.Layers, BatchFirst: true, Dropout: c.Dropout}, gates, true, false)
	if err != nil {
		return 0, err
	}
	n = satAdd(n, count(c.Vocab, c.Embed))
	return satAdd(n, satAdd(count(c.Vocab, c.Hidden), int64(c.Vocab))), nil
}

// Model returns the RNNLMConfig that c describes.
func (c RNNLMFileConfig) Model() RNNLMConfig {
	return RNNLMConfig(c)
}

func init() {
	registerBuiltin("GPT", []any{(*GPT)(nil)}, func(c *GPTFileConfig) (layerPlan, error) {
		n, err := GPTValues(*c)
		if err != nil {
			return layerPlan{}, err
		}
		return leaf(n, func() Module { return NewGPT(c.Model()) })
	})
	registerBuiltin("RNNLM", []any{(*RNNLM)(nil)}, func(c *RNNLMFileConfig) (layerPlan, error) {
		n, err := RNNLMValues(*c)
		if err != nil {
			return layerPlan{}, err
		}
		return leaf(n, func() Module { return NewRNNLM(c.Model()) })
	})
}
