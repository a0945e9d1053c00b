package onnx

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
)

// TestExportTransformerRoundTrip exports a GPT, a GPTBlock and encoder
// layers, loads them back and checks that the imported model computes
// what the original does, to float32 rounding (the graph multiplies in
// another order than the fused attention kernel), at another batch size.
func TestExportTransformerRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	gpt := nn.NewGPT(nn.GPTModelConfig{VocabSize: 13, BlockSize: 8, Layers: 2,
		Block: nn.GPTConfig{DModel: 8, Heads: 2}}, nn.WithSeed(1))
	for _, c := range []struct {
		name   string
		m      nn.Module
		shape  []int
		ids    int
		inType string
	}{
		{"gpt", gpt, []int{6}, 13, "INT64"},
		{"gpt_block", nn.NewSequential(nn.NewGPTBlock(nn.GPTConfig{DModel: 6, Heads: 3, NoBias: true}, nn.WithSeed(2))), []int{5, 6}, 0, "FLOAT"},
		{"embedding_gpt_block", nn.NewSequential(nn.NewEmbedding(7, 4, nn.WithSeed(6)), nn.NewGPTBlock(nn.GPTConfig{DModel: 4, Heads: 2}, nn.WithSeed(7))), []int{3}, 7, "INT64"},
		{"encoder_post_relu", nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: 8, Heads: 4, DimFF: 16}, nn.WithSeed(3)), []int{4, 8}, 0, "FLOAT"},
		{"encoder_pre_gelu", nn.NewSequential(
			nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: 8, Heads: 2, DimFF: 12, Activation: nn.ActGELU, NormFirst: true}, nn.WithSeed(4)),
			nn.NewLayerNorm(8), nn.NewDense(8, 3, nn.WithSeed(5)), nn.NewGELU()), []int{5, 8}, 0, "FLOAT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			nn.Eval(c.m)
			var buf bytes.Buffer
			require.NoError(t, Export(&buf, c.m, c.shape...))
			if dir := os.Getenv("ONNX_EXPORT_DIR"); dir != "" { // for checking with onnx.checker
				require.NoError(t, os.WriteFile(dir+"/"+c.name+".onnx", buf.Bytes(), 0o644))
			}
			m, err := Decode(&buf)
			require.NoError(t, err)
			require.Equal(t, LayerNormOpset, m.Opset())
			require.Equal(t, c.inType, m.Inputs()[0].Type)
			var want, got []string
			for _, p := range c.m.Params() {
				want = append(want, p.Name)
			}
			for _, p := range m.Params() {
				got = append(got, p.Name)
			}
			require.ElementsMatch(t, want, got)
			x := randTensor(r, append([]int{3}, c.shape...)...)
			if c.ids > 0 {
				x = randIDs(r, c.ids, append([]int{3}, c.shape...)...)
			}
			y := c.m.Forward(autograd.NoGrad(x)).Value()
			outs, err := m.Run(map[string]*autograd.Var{"input": autograd.NoGrad(x)})
			require.NoError(t, err)
			y2 := outs["output"].Value()
			require.Equal(t, y.Shape(), y2.Shape())
			worst := 0.0
			for i, v := range y.Data() {
				d := math.Abs(float64(v-y2.Data()[i])) / (1 + math.Abs(float64(v)))
				worst = max(worst, d)
			}
			t.Logf("largest relative difference %.3g", worst)
			require.Less(t, worst, 2e-6, "largest relative difference")
		})
	}
}

// TestExportErrors checks that layers Export cannot write, or inputs the
// model rejects, are errors naming the layer.
func TestExportErrors(t *testing.T) {
	rotary := nn.NewGPT(nn.GPTModelConfig{VocabSize: 5, BlockSize: 4, Layers: 1,
		Block: nn.GPTConfig{DModel: 4, Heads: 1, Rotary: true}}, nn.WithSeed(1))
	for _, c := range []struct {
		m     nn.Module
		shape []int
		want  string
	}{
		{rotary, []int{3}, "layer 0 (*nn.GPT): block 0: rotary attention has no ONNX export"},
		{nn.NewSequential(nn.NewDense(3, 4), nn.NewLSTM(4, 2, nn.RNNConfig{})), []int{3}, "layer 1 (*nn.LSTM): LSTM needs a rank-3 input, got rank 2"},
		{nn.NewSequential(nn.NewDense(3, 4), nn.NewDense(5, 2)), []int{3}, "layer 1 (*nn.Dense) rejected an input of shape [1 4]"},
		{nn.NewSequential(nn.NewEmbedding(5, 4), nn.NewGPTBlock(nn.GPTConfig{DModel: 4, Heads: 2})), []int{2, 3}, "layer 1 (*nn.GPTBlock): GPTBlock needs [B, T, E] input, got rank 4"},
	} {
		var buf bytes.Buffer
		require.ErrorContains(t, Export(&buf, c.m, c.shape...), c.want)
	}
}
