package quant

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

// lmCorpus is a deterministic text with structure a small model learns
// in a few hundred steps: sentences of words from a short list.
func lmCorpus(n int) string {
	words := strings.Fields("the a cat dog sat ran on under mat tree big small red quick lazy fox jumps over and then")
	rng := rand.New(rand.NewPCG(7, 7))
	var b strings.Builder
	for b.Len() < n {
		for i := range 3 + rng.IntN(5) {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
		}
		b.WriteString(".\n")
	}
	return b.String()
}

// trainLM trains model briefly on lmCorpus and returns the validation set
// and the tokenizer.
func trainLM(t *testing.T, build func(vocab int) nn.Module, steps int) (nn.Module, data.Dataset, *text.Chars) {
	t.Helper()
	corpus := lmCorpus(30000)
	tok, err := text.NewChars(corpus)
	require.NoError(t, err)
	stream, err := text.Int32s(tok.Encode(corpus))
	require.NoError(t, err)
	tr, val, err := text.SplitStream(stream, 0.1)
	require.NoError(t, err)
	const seqLen, batch = 32, 16
	trainSet, err := text.NewWindows(tr, text.WindowsConfig{SeqLen: seqLen, VocabSize: tok.VocabSize(), PerEpoch: steps * batch, Seed: 1})
	require.NoError(t, err)
	valSet, err := text.NewSequential(val, seqLen, tok.VocabSize())
	require.NoError(t, err)
	model := build(tok.VocabSize())
	opt := optim.NewAdamW(model.Params(), optim.AdamWConfig{LR: 3e-3})
	_, err = train.Fit(context.Background(), model, opt, trainSet, train.Config{Epochs: 1, BatchSize: batch, Seed: 1})
	require.NoError(t, err)
	return model, valSet, tok
}

func evalLoss(t *testing.T, m nn.Module, val data.Dataset) float64 {
	t.Helper()
	logs, err := train.Evaluate(context.Background(), m, val, train.EvalConfig{BatchSize: 32})
	require.NoError(t, err)
	return logs["loss"]
}

// TestQuantizedLanguageModels trains a small char-level GPT (learned
// positions, and rotary) and a two-layer char-LSTM, quantises them, and
// checks (1) that the validation loss moves by at most 0.02 nats/char
// (about 1% here), the accuracy bound documented in the package; (2) that
// incremental decoding gives the logits of a full forward pass; (3) that
// the int8 model saves, loads with no code into the same logits, and
// generates through train.Generate; (4) that the file holds the
// projections as I8.
func TestQuantizedLanguageModels(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small language models")
	}
	for _, c := range []struct {
		name  string
		build func(vocab int) nn.Module
	}{
		{"gpt", func(v int) nn.Module {
			return nn.NewGPT(nn.GPTModelConfig{VocabSize: v, BlockSize: 32, Layers: 2, Block: nn.GPTConfig{DModel: 48, Heads: 4}}, nn.WithSeed(1))
		}},
		{"gpt-rotary", func(v int) nn.Module {
			return nn.NewGPT(nn.GPTModelConfig{VocabSize: v, BlockSize: 32, Layers: 1, Block: nn.GPTConfig{DModel: 32, Heads: 2, Rotary: true, NoBias: true}}, nn.WithSeed(2))
		}},
		{"lstm", func(v int) nn.Module {
			return nn.NewRNNLM(nn.RNNLMConfig{Vocab: v, Embed: 16, Hidden: 64, Layers: 2}, nn.WithSeed(3))
		}},
		{"gru", func(v int) nn.Module {
			return nn.NewRNNLM(nn.RNNLMConfig{Vocab: v, Embed: 16, Hidden: 48, Layers: 2, GRU: true}, nn.WithSeed(4))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, val, tok := trainLM(t, c.build, 150)
			q, err := Quantize(f)
			require.NoError(t, err)
			lf, lq := evalLoss(t, f, val), evalLoss(t, q, val)
			t.Logf("%v: validation loss float %.4f, int8 %.4f (Δ %+.4f nats/char; uniform %.2f)", q, lf, lq, lq-lf, math.Log(float64(tok.VocabSize())))
			require.Less(t, lf, 0.75*math.Log(float64(tok.VocabSize())), "the float model did not learn")
			require.InDelta(t, lf, lq, 0.02, "int8 loss")

			// Incremental decoding matches the full pass.
			lm := q.(nn.IncrementalLM)
			ids := tok.Encode("the quick fox jumps over")
			full := q.Forward(autograd.NoGrad(idsTensor(ids))).Value()
			d := lm.NewDecoder(1)
			v := tok.VocabSize()
			step := d.Decode(idsTensor(ids[:10])).Data()
			require.InDeltaSlice(t, full.Data()[:10*v], step, 1e-4)
			for i := 10; i < len(ids); i++ {
				step = d.Decode(idsTensor(ids[i : i+1])).Data()
				require.InDeltaSlice(t, full.Data()[i*v:(i+1)*v], step, 1e-4, "position %d", i)
			}

			// Save, load with no code, same logits; generate.
			dir := t.TempDir()
			var info nn.ModelInfo
			require.NoError(t, info.SetExtra(nn.ExtraTokenizer, tok))
			qp, fp := filepath.Join(dir, "q.safetensors"), filepath.Join(dir, "f.safetensors")
			require.NoError(t, nn.SaveModel(qp, q, info))
			require.NoError(t, nn.SaveModel(fp, f, info))
			back, _, err := nn.LoadModel(qp)
			require.NoError(t, err)
			require.Equal(t, full.Data(), back.Forward(autograd.NoGrad(idsTensor(ids))).Value().Data())
			qs, _ := os.Stat(qp)
			fs, _ := os.Stat(fp)
			t.Logf("file: float %d bytes, int8 %d bytes (%.2f×)", fs.Size(), qs.Size(), float64(fs.Size())/float64(qs.Size()))
			require.Less(t, float64(qs.Size()), 0.6*float64(fs.Size()))
			gen := train.GenerateConfig{MaxTokens: 20, Temperature: 0.8, TopK: 5, Rand: rand.New(rand.NewPCG(1, 1))}
			a, err := train.Generate(context.Background(), q, ids, gen)
			require.NoError(t, err)
			gen.Rand = rand.New(rand.NewPCG(1, 1))
			b, err := train.Generate(context.Background(), back, ids, gen)
			require.NoError(t, err)
			require.Equal(t, a, b)
			require.Len(t, a, 20)
		})
	}
}

func idsTensor(ids []int) *tensor.Tensor {
	x := make([]float32, len(ids))
	for i, id := range ids {
		x[i] = float32(id)
	}
	return tensor.New(x, 1, len(ids))
}

// TestLanguageModelConfigs feeds model-file configurations a hostile file
// could hold and expects errors naming the field.
func TestLanguageModelConfigs(t *testing.T) {
	for _, c := range []struct{ raw, msg string }{
		{`{"vocab_size":5,"block_size":8,"layers":1,"block":{"d_model":9,"heads":2}}`, "d_model 9 must divide by heads 2"},
		{`{"vocab_size":5,"block_size":8,"layers":0,"block":{"d_model":8,"heads":2}}`, "layers"},
		{`{"vocab_size":5,"block_size":8,"layers":1,"block":{"d_model":65536,"heads":2}}`, "d_model must be at most 32768"},
		{`{"vocab_size":5,"block_size":8,"layers":1,"extra":1}`, "unknown field"},
	} {
		_, _, err := gptConfig([]byte(c.raw))
		require.ErrorContains(t, err, c.msg, c.raw)
	}
	for _, c := range []struct{ raw, msg string }{
		{`{"vocab":5,"embed":4,"hidden":0}`, "hidden"},
		{`{"vocab":5,"embed":4,"hidden":200000}`, "at most 131072"},
	} {
		_, _, err := rnnlmConfig([]byte(c.raw))
		require.ErrorContains(t, err, c.msg, c.raw)
	}
}
