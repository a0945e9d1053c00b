package onnx

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// randIDs returns a tensor of random ids in [0, num).
func randIDs(r *rand.Rand, num int, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(r.IntN(num))
	}
	return t
}

// TestExportSequenceRoundTrip exports embedding and recurrent models,
// loads them back and checks that the imported model computes exactly
// what the original does, at another batch size, with the parameter
// names and element types it should have.
func TestExportSequenceRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		name   string
		m      nn.Module
		shape  []int // per sample
		ids    int   // > 0: the input holds ids below this
		inType string
		params []string
		nodes  int
	}{{
		name: "embedding_lstm",
		m: nn.NewSequential(nn.NewEmbedding(20, 5, nn.WithSeed(1)),
			nn.NewLSTM(5, 4, nn.RNNConfig{Layers: 2, Bidirectional: true, BatchFirst: true}, nn.WithSeed(2))),
		shape: []int{6}, ids: 20, inType: "INT64",
		params: []string{"0.weight", "1.W_l0", "1.R_l0", "1.B_l0", "1.W_l1", "1.R_l1", "1.B_l1"},
	}, {
		name: "gru",
		m: nn.NewSequential(nn.NewGRU(3, 4, nn.RNNConfig{Layers: 2, Bidirectional: true}, nn.WithSeed(3)),
			nn.NewGRU(8, 2, nn.RNNConfig{}, nn.WithSeed(4), nn.WithoutBias())),
		shape: []int{2, 3}, inType: "FLOAT", // time-major: the dynamic axis is time
		params: []string{"0.W_l0", "0.R_l0", "0.B_l0", "0.W_l1", "0.R_l1", "0.B_l1", "1.W_l0", "1.R_l0"},
	}, {
		name: "cast_embedding_gru",
		m: nn.NewSequential(nn.NewFlatten(), nn.NewEmbedding(9, 3, nn.WithSeed(5)),
			nn.NewGRU(3, 5, nn.RNNConfig{BatchFirst: true}, nn.WithSeed(6))),
		shape: []int{4}, ids: 9, inType: "FLOAT",
		params: []string{"1.weight", "2.W_l0", "2.R_l0", "2.B_l0"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Export(&buf, c.m, c.shape...))
			if dir := os.Getenv("ONNX_EXPORT_DIR"); dir != "" { // for checking with onnx.checker
				require.NoError(t, os.WriteFile(dir+"/"+c.name+".onnx", buf.Bytes(), 0o644))
			}
			m, err := Decode(&buf)
			require.NoError(t, err)
			require.Equal(t, c.inType, m.Inputs()[0].Type)
			var got []string
			for _, p := range m.Params() {
				got = append(got, p.Name)
			}
			require.Equal(t, c.params, got)
			x := randTensor(r, append([]int{3}, c.shape...)...)
			if c.ids > 0 {
				x = randIDs(r, c.ids, append([]int{3}, c.shape...)...)
			}
			y := c.m.Forward(autograd.NoGrad(x)).Value()
			outs, err := m.Run(map[string]*autograd.Var{"input": autograd.NoGrad(x)})
			require.NoError(t, err)
			y2 := outs["output"].Value()
			require.Equal(t, y.Shape(), y2.Shape())
			require.Equal(t, y.Data(), y2.Data())
		})
	}
}
