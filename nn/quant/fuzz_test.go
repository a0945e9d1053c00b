package quant

import (
	"bytes"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
)

// FuzzReadQuantizedModel feeds arbitrary files, starting from valid int8
// model files of every kind of this package, to the model loader: it must
// return a model or an error, never panic, and never allocate much more
// than the file holds (each kind's size function bounds it).
func FuzzReadQuantizedModel(f *testing.F) {
	for _, b := range quantSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _, err := nn.ReadModel(bytes.NewReader(b))
		if err == nil && m == nil {
			t.Fatal("no model and no error")
		}
	})
}

// FuzzQuantizedModelDescription fuzzes the JSON description alone, inside
// a file holding the tensors of the seeds, so that the fuzzer spends its
// time in the kinds' configuration checks and size functions.
func FuzzQuantizedModelDescription(f *testing.F) {
	var weights []nn.NamedTensor
	seen := map[string]bool{}
	for _, b := range quantSeeds(f) {
		ts, md, err := nn.ReadTensors(bytes.NewReader(b))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(md[nn.ModelKey])
		for _, w := range ts {
			if !seen[w.Name] { // the first seed's tensor keeps a shared name
				seen[w.Name] = true
				weights = append(weights, w)
			}
		}
	}
	var check bytes.Buffer
	if err := nn.WriteTensors(&check, weights, nil); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, desc string) {
		var buf bytes.Buffer
		if err := nn.WriteTensors(&buf, weights, map[string]string{nn.ModelKey: desc}); err != nil {
			return
		}
		m, _, err := nn.ReadModel(&buf)
		if err == nil && m == nil {
			t.Fatal("no model and no error")
		}
	})
}

// quantSeeds returns int8 model files of every kind of this package.
func quantSeeds(f testing.TB) [][]byte {
	var out [][]byte
	for _, m := range []nn.Module{
		nn.NewSequential(nn.NewDense(3, 4, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)), nn.NewDense(4, 2, nn.WithSeed(2))),
		nn.NewSequential(nn.NewConv2D(1, 2, 3, nn.WithSeed(1)), nn.NewFlatten()),
		nn.NewGPT(nn.GPTModelConfig{VocabSize: 5, BlockSize: 4, Layers: 1, Block: nn.GPTConfig{DModel: 4, Heads: 2}}, nn.WithSeed(1)),
		nn.NewRNNLM(nn.RNNLMConfig{Vocab: 5, Embed: 3, Hidden: 4}, nn.WithSeed(1)),
		nn.NewRNNLM(nn.RNNLMConfig{Vocab: 5, Embed: 3, Hidden: 4, Layers: 2, GRU: true}, nn.WithSeed(2)),
		nn.NewSequential(nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: 4, Heads: 2, DimFF: 4}, nn.WithSeed(1)),
			nn.NewMultiheadAttention(4, 2, 0, nn.WithSeed(2))),
		nn.NewTransformerEncoder(nn.TransformerConfig{DModel: 4, Heads: 1, DimFF: 2, NormFirst: true}, 2, true, nn.WithSeed(3)),
		nn.NewSequential(nn.NewGPTBlock(nn.GPTConfig{DModel: 4, Heads: 2, Rotary: true}, nn.WithSeed(4))),
		nn.NewSequential(nn.NewLSTM(3, 2, nn.RNNConfig{Layers: 2, Bidirectional: true}, nn.WithSeed(1)),
			nn.NewGRU(4, 3, nn.RNNConfig{BatchFirst: true}, nn.WithSeed(2), nn.WithoutBias())),
	} {
		q, err := Quantize(m)
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		if err := nn.WriteModel(&buf, q, nn.ModelInfo{InputShape: []int{3}}); err != nil {
			f.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}
