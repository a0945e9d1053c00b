package quant

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestGPTBlock quantises standalone GPT blocks (learned positions, rotary
// without bias) inside a Sequential and checks them against the float
// blocks (within 3% of the largest output), Decode against Forward, and a
// model-file round trip (same bits, same bytes again); the values a
// configuration claims must be those of the block it builds.
func TestGPTBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cfg := range []nn.GPTConfig{
		{DModel: 24, Heads: 3},
		{DModel: 16, Heads: 2, Rotary: true, NoBias: true},
	} {
		f := nn.NewGPTBlock(cfg, nn.WithSeed(7))
		qm, err := Quantize(nn.NewSequential(f))
		require.NoError(t, err)
		q := qm.(*nn.Sequential).Layer(0).(*GPTBlock)
		x := autograd.NoGrad(randTensor(rng, 3, 7, cfg.DModel))
		want, got := f.Forward(x).Value().Data(), q.Forward(x).Value().Data()
		closeTo(t, want, got, 0.03, q.String())

		c := nn.NewKVCache(3, 7, cfg.DModel)
		first := q.Decode(autograd.NoGrad(tensor.New(x.Value().Data()[:0], 3, 0, cfg.DModel)), c)
		require.Equal(t, []int{3, 0, cfg.DModel}, first.Shape())
		var steps []float32
		for s := range 7 {
			xs := autograd.Slice(x, 1, s, s+1)
			steps = append(steps, q.Decode(xs, c).Value().Data()...)
		}
		// steps are [7][3, 1, E]; the full pass is [3, 7, E].
		for s := range 7 {
			for b := range 3 {
				e := cfg.DModel
				require.InDeltaSlice(t, got[(b*7+s)*e:(b*7+s+1)*e], steps[(s*3+b)*e:(s*3+b+1)*e], 1e-4)
			}
		}

		var buf bytes.Buffer
		require.NoError(t, nn.WriteModel(&buf, qm, nn.ModelInfo{InputShape: []int{7, cfg.DModel}}))
		back, _, err := nn.ReadModel(bytes.NewReader(buf.Bytes()))
		require.NoError(t, err)
		require.Equal(t, got, back.Forward(x).Value().Data())
		var again bytes.Buffer
		require.NoError(t, nn.WriteModel(&again, back, nn.ModelInfo{InputShape: []int{7, cfg.DModel}}))
		require.Equal(t, buf.Bytes(), again.Bytes())

		_, n, err := gptBlockConfig(mustJSON(q.cfg))
		require.NoError(t, err)
		var have int64
		for _, p := range q.Buffers() {
			have += int64(p.Value().Size())
		}
		require.Equal(t, have, n)
	}
	for raw, msg := range map[string]string{
		`{"d_model": 9, "heads": 2}`:                    "must be a positive multiple of heads",
		`{"d_model": 40000, "heads": 1}`:                "d_model must be between 1 and 32768",
		`{"d_model": 6, "heads": 2, "rotary": true}`:    "even head size",
		`{"d_model": 4, "heads": 2, "dropout": 2}`:      "dropout",
		`{"d_model": 4, "heads": 2, "rotary_base": -1}`: "rotary_base",
	} {
		_, _, err := gptBlockConfig([]byte(raw))
		require.ErrorContains(t, err, msg, raw)
	}
}
