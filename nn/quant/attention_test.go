package quant

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// closeTo requires every value of got within tol·max|want| of want.
func closeTo(t *testing.T, want, got []float32, tol float64, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	var scale, worst float64
	for i := range want {
		scale = max(scale, math.Abs(float64(want[i])))
		worst = max(worst, math.Abs(float64(want[i]-got[i])))
	}
	require.LessOrEqual(t, worst, tol*scale, "%s: worst error %.4g against max |y| %.4g", msg, worst, scale)
}

// TestMultiheadAttention compares the int8 attention with the float layer
// on self-attention, on cross-attention with masks and weights, and checks
// that distinct query, key and value inputs holding the same values give
// the self-attention answer (each takes its third of the projection).
func TestMultiheadAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := nn.NewMultiheadAttention(32, 4, 0, nn.WithSeed(3))
	q := NewMultiheadAttention(f)
	x := randTensor(rng, 2, 5, 32)
	kv := randTensor(rng, 2, 7, 32)
	want := f.Forward(autograd.NoGrad(x)).Value().Data()
	got := q.Forward(autograd.NoGrad(x)).Value().Data()
	closeTo(t, want, got, 0.03, "self-attention")

	o := nn.AttendOptions{KeyPadding: []bool{false, false, true, false, false, false, true, false, false, false, false, false, false, true}, NeedWeights: true}
	k := autograd.NoGrad(kv)
	wy, ww := f.Attend(autograd.NoGrad(x), k, k, o)
	gy, gw := q.Attend(autograd.NoGrad(x), k, k, o)
	closeTo(t, wy.Value().Data(), gy.Value().Data(), 0.03, "cross-attention")
	closeTo(t, ww.Value().Data(), gw.Value().Data(), 0.03, "weights")

	same, _ := q.Attend(autograd.NoGrad(x), autograd.NoGrad(x.Clone()), autograd.NoGrad(x.Clone()), nn.AttendOptions{})
	require.InDeltaSlice(t, got, same.Value().Data(), 1e-5)
}

// TestTransformerEncoderLayer compares int8 encoder layers (post-norm with
// ReLU, pre-norm with GELU, a causal mask) with the float ones, and saves
// and reloads a quantised stack through a model file.
func TestTransformerEncoderLayer(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	x := randTensor(rng, 2, 6, 32)
	for _, cfg := range []nn.TransformerConfig{
		{DModel: 32, Heads: 4, DimFF: 64},
		{DModel: 32, Heads: 2, DimFF: 48, Activation: nn.ActGELU, NormFirst: true},
	} {
		f := nn.NewSequential(nn.NewTransformerEncoderLayer(cfg, nn.WithSeed(6)), nn.NewTransformerEncoderLayer(cfg, nn.WithSeed(7)))
		qm, err := Quantize(f)
		require.NoError(t, err)
		want := f.Forward(autograd.NoGrad(x)).Value().Data()
		got := qm.Forward(autograd.NoGrad(x)).Value()
		closeTo(t, want, got.Data(), 0.03, "encoder")
		fl := f.Layer(0).(*nn.TransformerEncoderLayer)
		ql := qm.(*nn.Sequential).Layer(0).(*TransformerEncoderLayer)
		o := nn.AttendOptions{Causal: true}
		closeTo(t, fl.ForwardMasked(autograd.NoGrad(x), o).Value().Data(), ql.ForwardMasked(autograd.NoGrad(x), o).Value().Data(), 0.03, "causal")

		path := filepath.Join(t.TempDir(), "enc.safetensors")
		require.NoError(t, nn.SaveModel(path, qm, nn.ModelInfo{InputShape: []int{6, 32}}))
		back, _, err := nn.LoadModel(path)
		require.NoError(t, err)
		require.Equal(t, got.Data(), back.Forward(autograd.NoGrad(x)).Value().Data())
	}
	m := NewMultiheadAttention(nn.NewMultiheadAttention(16, 2, 0, nn.WithSeed(1), nn.WithoutBias()))
	path := filepath.Join(t.TempDir(), "mha.safetensors")
	require.NoError(t, nn.SaveModel(path, m, nn.ModelInfo{}))
	back, _, err := nn.LoadModel(path)
	require.NoError(t, err)
	xs := autograd.NoGrad(tensor.New(x.Data()[:2*3*16], 2, 3, 16))
	require.Equal(t, m.Forward(xs).Value().Data(), back.Forward(xs).Value().Data())
}

// TestAttentionConfigs checks that hostile attention configurations get
// errors naming the field.
func TestAttentionConfigs(t *testing.T) {
	for _, c := range []struct{ raw, msg string }{
		{`{"embed": 10, "heads": 3}`, "multiple of heads 3"},
		{`{"embed": 0, "heads": 1}`, "embed must be between"},
		{`{"embed": 8, "heads": 2, "dropout": 1}`, "dropout"},
	} {
		_, err := attentionConfig([]byte(c.raw))
		require.ErrorContains(t, err, c.msg, c.raw)
	}
	for _, c := range []struct{ raw, msg string }{
		{`{"d_model": 8, "heads": 2, "dim_ff": 0, "eps": 1e-5}`, "dim_ff"},
		{`{"d_model": 8, "heads": 2, "dim_ff": 4, "eps": 0}`, "eps"},
		{`{"d_model": 8, "heads": 2, "dim_ff": 4, "eps": 1e-5, "activation": "Tanh"}`, "ReLU or GELU"},
		{`{"d_model": 8, "heads": 2, "dim_ff": 4, "eps": 1e-5, "activation": "ReLU", "layers": 2}`, "TransformerEncoder"},
	} {
		_, _, err := transformerConfig([]byte(c.raw))
		require.ErrorContains(t, err, c.msg, c.raw)
	}
}

// TestTransformerEncoder quantises a two-layer pre-norm stack with a final
// norm, compares it with the float stack and round-trips it through a
// model file.
func TestTransformerEncoder(t *testing.T) {
	x := randTensor(rand.New(rand.NewPCG(8, 9)), 2, 5, 16)
	f := nn.NewTransformerEncoder(nn.TransformerConfig{DModel: 16, Heads: 2, DimFF: 32, NormFirst: true}, 2, true, nn.WithSeed(3))
	q, err := Quantize(f)
	require.NoError(t, err)
	require.IsType(t, &TransformerEncoder{}, q)
	got := q.Forward(autograd.NoGrad(x)).Value().Data()
	closeTo(t, f.Forward(autograd.NoGrad(x)).Value().Data(), got, 0.03, "encoder stack")
	path := filepath.Join(t.TempDir(), "stack.safetensors")
	require.NoError(t, nn.SaveModel(path, q, nn.ModelInfo{}))
	back, _, err := nn.LoadModel(path)
	require.NoError(t, err)
	require.Equal(t, got, back.Forward(autograd.NoGrad(x)).Value().Data())
	_, _, err = encoderConfig([]byte(`{"d_model": 8, "heads": 2, "dim_ff": 4, "eps": 1e-5, "activation": "ReLU", "layers": 0}`))
	require.ErrorContains(t, err, "layers must be between 1")
}
