package quant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Kinds under which the layers of this package are described in model
// files (nn.SaveModel); importing the package registers them with
// nn.RegisterSizedLayer, so that nn.LoadModel rebuilds them.
const (
	KindDense  = "quant.Dense"
	KindConv2D = "quant.Conv2D"
	KindGPT    = "quant.GPT"
	KindRNNLM  = "quant.RNNLM"
	KindLSTM   = "quant.LSTM"
	KindGRU    = "quant.GRU"

	KindGPTBlock = "quant.GPTBlock"

	KindMultiheadAttention      = "quant.MultiheadAttention"
	KindTransformerEncoderLayer = "quant.TransformerEncoderLayer"
	KindTransformerEncoder      = "quant.TransformerEncoder"
)

// The kinds are registered when the package is initialised: they are
// namespaced by the package name, so they cannot collide with a user's
// kinds, and a program that loads a quantised model file needs nothing but
// the import (a blank import will do).
func init() {
	nn.RegisterSizedLayer(KindDense, func(cfg json.RawMessage) (int64, error) {
		c, err := denseConfig(cfg)
		if err != nil {
			return 0, err
		}
		return values(c.Out, int64(c.In), c.NoBias), nil
	}, func(cfg json.RawMessage) (nn.Module, error) {
		c, err := denseConfig(cfg)
		if err != nil {
			return nil, err
		}
		act, _ := activation(c.Activation)
		return &Dense{l: emptyLinear([]int{c.Out, c.In}, c.NoBias), Activation: act}, nil
	})
	nn.RegisterSizedLayer(KindGPT, func(cfg json.RawMessage) (int64, error) {
		c, n, err := gptConfig(cfg)
		if err != nil {
			return 0, err
		}
		// One scale per output row of every int8 layer: 9E per block
		// (3E + E + 4E + E) and the vocabulary for lm_head.
		return n + int64(c.Layers)*9*int64(c.Block.DModel) + int64(c.VocabSize), nil
	}, func(cfg json.RawMessage) (nn.Module, error) {
		c, _, err := gptConfig(cfg)
		if err != nil {
			return nil, err
		}
		return buildGPT(c, nil), nil
	})
	nn.RegisterSizedLayer(KindRNNLM, func(cfg json.RawMessage) (int64, error) {
		c, n, err := rnnlmConfig(cfg)
		if err != nil {
			return 0, err
		}
		gates := int64(4)
		if c.GRU {
			gates = 3
		}
		// One scale per gate row of weight_ih and weight_hh, and per
		// output of the head.
		return n + int64(max(c.Layers, 1))*2*gates*int64(c.Hidden) + int64(c.Vocab), nil
	}, func(cfg json.RawMessage) (nn.Module, error) {
		c, _, err := rnnlmConfig(cfg)
		if err != nil {
			return nil, err
		}
		return buildRNNLM(c, nil), nil
	})
	for _, k := range []struct {
		kind  string
		gates int
	}{{KindLSTM, 4}, {KindGRU, 3}} {
		nn.RegisterSizedLayer(k.kind, func(cfg json.RawMessage) (int64, error) {
			_, n, err := recurrentConfig(cfg, k.gates)
			return n, err
		}, func(cfg json.RawMessage) (nn.Module, error) {
			c, _, err := recurrentConfig(cfg, k.gates)
			if err != nil {
				return nil, err
			}
			if k.gates == 4 {
				return &LSTM{newRecurrent(4, c, nil)}, nil
			}
			return &GRU{newRecurrent(3, c, nil)}, nil
		})
	}
	nn.RegisterSizedLayer(KindGPTBlock, func(cfg json.RawMessage) (int64, error) {
		_, n, err := gptBlockConfig(cfg)
		return n, err
	}, func(cfg json.RawMessage) (nn.Module, error) {
		c, _, err := gptBlockConfig(cfg)
		if err != nil {
			return nil, err
		}
		return buildGPTBlock(c, nil), nil
	})
	nn.RegisterSizedLayer(KindMultiheadAttention, func(cfg json.RawMessage) (int64, error) {
		c, err := attentionConfig(cfg)
		if err != nil {
			return 0, err
		}
		return attentionCount(c.Embed, c.NoBias), nil
	}, func(cfg json.RawMessage) (nn.Module, error) {
		c, err := attentionConfig(cfg)
		if err != nil {
			return nil, err
		}
		return emptyAttention(c), nil
	})
	nn.RegisterSizedLayer(KindTransformerEncoderLayer, func(cfg json.RawMessage) (int64, error) {
		c, _, err := transformerConfig(cfg)
		if err != nil {
			return 0, err
		}
		e, ff := int64(c.DModel), int64(c.DimFF)
		// Attention, linear1 and linear2 with biases and scales, two
		// layer norms.
		return attentionCount(c.DModel, false) + 2*e*ff + 2*ff + 2*e + 4*e, nil
	}, func(cfg json.RawMessage) (nn.Module, error) {
		c, act, err := transformerConfig(cfg)
		if err != nil {
			return nil, err
		}
		return emptyEncoderLayer(c, act), nil
	})
	nn.RegisterSizedLayer(KindTransformerEncoder, func(cfg json.RawMessage) (int64, error) {
		c, _, err := encoderConfig(cfg)
		if err != nil {
			return 0, err
		}
		e, ff := int64(c.DModel), int64(c.DimFF)
		n := int64(c.Layers) * (attentionCount(c.DModel, false) + 2*e*ff + 2*ff + 2*e + 4*e)
		if c.FinalNorm {
			n += 2 * e
		}
		return n, nil
	}, func(cfg json.RawMessage) (nn.Module, error) {
		c, act, err := encoderConfig(cfg)
		if err != nil {
			return nil, err
		}
		return emptyEncoder(c, act), nil
	})
	nn.RegisterSizedLayer(KindConv2D, func(cfg json.RawMessage) (int64, error) {
		c, err := conv2DConfig(cfg)
		if err != nil {
			return 0, err
		}
		return values(c.Out, int64(c.In*c.Kernel[0]*c.Kernel[1]), c.NoBias), nil
	}, func(cfg json.RawMessage) (nn.Module, error) {
		c, err := conv2DConfig(cfg)
		if err != nil {
			return nil, err
		}
		act, _ := activation(c.Activation)
		return &Conv2D{
			l:  emptyLinear([]int{c.Out, c.In, c.Kernel[0], c.Kernel[1]}, c.NoBias),
			kh: c.Kernel[0], kw: c.Kernel[1],
			Opts:       autogradOpts(c),
			Activation: act,
		}, nil
	})
}

// LayerConfig returns "quant.Dense" and an nn.DenseConfig: the schema of
// the float layer's, whose weight is stored as I8 beside its F32
// "weight_scale".
func (d *Dense) LayerConfig() (string, any) {
	return KindDense, nn.DenseConfig{In: d.l.in, Out: d.l.out, NoBias: d.l.bias == nil, Activation: actName(d.Activation)}
}

// LayerConfig returns "quant.Conv2D" and an nn.Conv2DConfig (groups
// always 1).
func (c *Conv2D) LayerConfig() (string, any) {
	o := c.Opts
	return KindConv2D, nn.Conv2DConfig{
		In: c.l.in / (c.kh * c.kw), Out: c.l.out, Kernel: [2]int{c.kh, c.kw},
		Stride: o.Stride, Padding: o.Padding, Dilation: o.Dilation,
		NoBias: c.l.bias == nil, Activation: actName(c.Activation),
	}
}

// emptyLinear makes a linear of zeros with the weight shape ws, for
// nn.LoadModel to load the file's tensors into.
func emptyLinear(ws []int, noBias bool) *linear {
	var bias *tensor.Tensor
	if !noBias {
		bias = tensor.Zeros(ws[0])
	}
	return makeLinear(tensor.Zeros(ws...), tensor.Zeros(ws[0]), bias)
}

// values counts a layer's stored values: the weight, its scales and the
// bias.
func values(out int, in int64, noBias bool) int64 {
	n := int64(out)*in + int64(out)
	if !noBias {
		n += int64(out)
	}
	return n
}

// maxDim bounds every size and option read from a file, like nn's
// built-in layers.
const maxDim = 1<<31 - 1

func decodeStrict(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if d.More() {
		return errors.New("config: data after the JSON value")
	}
	return nil
}

// denseConfig decodes and checks a quant.Dense configuration.
func denseConfig(raw json.RawMessage) (nn.DenseConfig, error) {
	var c nn.DenseConfig
	if err := decodeStrict(raw, &c); err != nil {
		return c, err
	}
	switch {
	case c.Out < 1 || c.Out > maxDim:
		return c, fmt.Errorf("config: out must be between 1 and %d, got %d", maxDim, c.Out)
	case c.In < 1 || c.In > maxIn:
		return c, fmt.Errorf("config: in must be between 1 and %d (the int32 sums of longer rows could overflow), got %d", maxIn, c.In)
	}
	if _, err := activation(c.Activation); err != nil {
		return c, err
	}
	return c, nil
}

// attentionCount is the values of an int8 attention layer of e features:
// 4E² weights, 4E scales and 4E biases (none with noBias).
func attentionCount(e int, noBias bool) int64 {
	n := 4*int64(e)*int64(e) + 4*int64(e)
	if !noBias {
		n += 4 * int64(e)
	}
	return n
}

// attentionConfig decodes and checks a quant.MultiheadAttention
// configuration.
func attentionConfig(raw json.RawMessage) (nn.AttentionConfig, error) {
	var c nn.AttentionConfig
	if err := decodeStrict(raw, &c); err != nil {
		return c, err
	}
	switch {
	case c.Embed < 1 || c.Embed > maxIn:
		return c, fmt.Errorf("config: embed must be between 1 and %d, got %d", maxIn, c.Embed)
	case c.Heads < 1 || c.Embed%c.Heads != 0:
		return c, fmt.Errorf("config: embed %d must be a positive multiple of heads %d", c.Embed, c.Heads)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return c, fmt.Errorf("config: dropout must be in [0, 1), got %v", c.Dropout)
	}
	return c, nil
}

// transformerConfig decodes and checks a quant.TransformerEncoderLayer
// configuration and returns its activation.
func transformerConfig(raw json.RawMessage) (nn.TransformerLayerConfig, nn.Activation, error) {
	var c nn.TransformerLayerConfig
	if err := decodeStrict(raw, &c); err != nil {
		return c, nn.ActNone, err
	}
	if _, err := attentionConfig(mustJSON(nn.AttentionConfig{Embed: c.DModel, Heads: c.Heads, Dropout: c.Dropout})); err != nil {
		return c, nn.ActNone, err
	}
	switch {
	case c.DimFF < 1 || c.DimFF > maxIn:
		return c, nn.ActNone, fmt.Errorf("config: dim_ff must be between 1 and %d, got %d", maxIn, c.DimFF)
	case !(c.Eps > 0) || c.Eps > 1:
		return c, nn.ActNone, fmt.Errorf("config: eps must be in (0, 1], got %v", c.Eps)
	case c.Layers != 0 || c.FinalNorm:
		return c, nn.ActNone, errors.New("config: layers and final_norm belong to a TransformerEncoder, not to one layer")
	}
	act, err := activation(c.Activation)
	if err == nil && act != nn.ActReLU && act != nn.ActGELU {
		err = fmt.Errorf("config: activation must be ReLU or GELU, got %q", c.Activation)
	}
	return c, act, err
}

// maxLayers bounds the layers of a quantised TransformerEncoder read from
// a file.
const maxLayers = 1 << 16

// encoderConfig decodes and checks a quant.TransformerEncoder
// configuration: one layer's, plus layers (at least 1) and final_norm.
func encoderConfig(raw json.RawMessage) (nn.TransformerLayerConfig, nn.Activation, error) {
	var c nn.TransformerLayerConfig
	if err := decodeStrict(raw, &c); err != nil {
		return c, nn.ActNone, err
	}
	if c.Layers < 1 || c.Layers > maxLayers {
		return c, nn.ActNone, fmt.Errorf("config: layers must be between 1 and %d, got %d", maxLayers, c.Layers)
	}
	one := c
	one.Layers, one.FinalNorm = 0, false
	_, act, err := transformerConfig(mustJSON(one))
	return c, act, err
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// gptConfig decodes and checks a quant.GPT configuration and returns the
// values of the float model it came from.
func gptConfig(raw json.RawMessage) (nn.GPTFileConfig, int64, error) {
	var c nn.GPTFileConfig
	if err := decodeStrict(raw, &c); err != nil {
		return c, 0, err
	}
	n, err := nn.GPTValues(c)
	if err != nil {
		return c, 0, fmt.Errorf("config: %w", err)
	}
	if e := c.Block.DModel; 4*e > maxIn {
		return c, 0, fmt.Errorf("config: d_model must be at most %d (the int32 sums of longer rows could overflow), got %d", maxIn/4, e)
	}
	return c, n, nil
}

// rnnlmConfig decodes and checks a quant.RNNLM configuration (an LSTM,
// or a GRU with gru set) and returns the values of the float model it came from.
func rnnlmConfig(raw json.RawMessage) (nn.RNNLMFileConfig, int64, error) {
	var c nn.RNNLMFileConfig
	if err := decodeStrict(raw, &c); err != nil {
		return c, 0, err
	}
	n, err := nn.RNNLMValues(c)
	if err != nil {
		return c, 0, fmt.Errorf("config: %w", err)
	}
	if c.Embed > maxIn || c.Hidden > maxIn {
		return c, 0, fmt.Errorf("config: embed and hidden must be at most %d (the int32 sums of longer rows could overflow), got %d and %d", maxIn, c.Embed, c.Hidden)
	}
	return c, n, nil
}

// conv2DConfig decodes and checks a quant.Conv2D configuration.
func conv2DConfig(raw json.RawMessage) (nn.Conv2DConfig, error) {
	var c nn.Conv2DConfig
	if err := decodeStrict(raw, &c); err != nil {
		return c, err
	}
	if c.Out < 1 || c.Out > maxDim {
		return c, fmt.Errorf("config: out must be between 1 and %d, got %d", maxDim, c.Out)
	}
	if c.Groups > 1 || c.Groups < 0 {
		return c, fmt.Errorf("config: groups must be 0 or 1 (grouped convolutions are not quantised), got %d", c.Groups)
	}
	for i := range 2 {
		for _, v := range []struct {
			name string
			v    int
			min  int
		}{{"kernel", c.Kernel[i], 1}, {"stride", c.Stride[i], 0}, {"padding", c.Padding[i], 0}, {"dilation", c.Dilation[i], 0}} {
			if v.v < v.min || v.v > maxDim {
				return c, fmt.Errorf("config: %s must be between %d and %d, got %d", v.name, v.min, maxDim, v.v)
			}
		}
	}
	// in·kh·kw, each factor at least 1, without overflow.
	if c.In < 1 || c.In > maxIn || c.Kernel[0] > maxIn || c.Kernel[1] > maxIn || c.In*c.Kernel[0]*c.Kernel[1] > maxIn {
		return c, fmt.Errorf("config: in·kernel (%d·%v) must be between 1 and %d (the int32 sums of longer rows could overflow)", c.In, c.Kernel, maxIn)
	}
	if _, err := activation(c.Activation); err != nil {
		return c, err
	}
	return c, nil
}

// autogradOpts returns the convolution options of c, with 0 strides and
// dilations (meaning 1) made 1.
func autogradOpts(c nn.Conv2DConfig) autograd.Conv2DOptions {
	o := autograd.Conv2DOptions{Stride: c.Stride, Padding: c.Padding, Dilation: c.Dilation}
	for i := range 2 {
		o.Stride[i] = max(o.Stride[i], 1)
		o.Dilation[i] = max(o.Dilation[i], 1)
	}
	return o
}

func actName(a nn.Activation) string {
	if a == nn.ActNone {
		return ""
	}
	return a.String()
}

// activation parses an nn.Activation's name; "" is none.
func activation(name string) (nn.Activation, error) {
	if name == "" {
		return nn.ActNone, nil
	}
	var known []string
	for a := nn.ActNone + 1; !strings.HasPrefix(a.String(), "Activation("); a++ {
		if a.String() == name {
			return a, nil
		}
		known = append(known, a.String())
	}
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	return nn.ActNone, fmt.Errorf("config: unknown activation %q (want one of %v)", name, known)
}

var _ nn.Configurer = (*Conv2D)(nil)
