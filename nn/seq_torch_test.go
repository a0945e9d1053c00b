package nn_test

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// The fixtures below are written by nn/testdata/seq_torch.py (PyTorch 1.13,
// float64 arithmetic on float32-rounded inputs).

// seqFixture reads a safetensors fixture into a map by name.
func seqFixture(t *testing.T, name string) map[string]*tensor.Tensor {
	t.Helper()
	ts, _, err := nn.ReadTensorsFile("testdata/" + name)
	require.NoError(t, err)
	m := make(map[string]*tensor.Tensor, len(ts))
	for _, x := range ts {
		m[x.Name] = x.Value
	}
	return m
}

// get returns the named tensor, failing the test when it is absent.
func get(t *testing.T, fx map[string]*tensor.Tensor, name string) *tensor.Tensor {
	t.Helper()
	x, ok := fx[name]
	require.True(t, ok, "fixture has no tensor %q", name)
	return x
}

// stateWithPrefix returns the fixture's tensors named prefix+key as a state
// dict keyed by key.
func stateWithPrefix(fx map[string]*tensor.Tensor, prefix string) []nn.NamedTensor {
	var out []nn.NamedTensor
	for k, v := range fx {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, nn.NamedTensor{Name: name, Value: v.Clone()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// requireScaled checks max|got − want| ≤ 1e-5·max|want|: an error relative
// to the tensor's scale, which is what float32 arithmetic can promise for
// whole tensors whose elements may cancel.
func requireScaled(t *testing.T, want, got *tensor.Tensor, what string) {
	t.Helper()
	require.NotNil(t, got, "%s: missing", what)
	require.Equal(t, want.Shape(), got.Shape(), what)
	scale := max(tensor.MaxAll(tensor.Abs(want)), 1e-30)
	diff := tensor.MaxAbsDiff(want, got)
	require.LessOrEqual(t, diff, 1e-5*scale, "%s: max|diff| %.3g vs scale %.3g", what, diff, scale)
}

func boolsOf(x *tensor.Tensor) []bool {
	b := make([]bool, x.Size())
	for i, v := range x.Data() {
		b[i] = v != 0
	}
	return b
}

func TestTorchScaledDotProductAttention(t *testing.T) {
	fx := seqFixture(t, "seq_attention.safetensors")
	kpm := boolsOf(get(t, fx, "kpm"))
	cases := map[string]autograd.AttentionOptions{
		"causal":  {Causal: true},
		"padding": {KeyPadding: kpm},
		"both":    {Causal: true, KeyPadding: kpm},
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			if m, ok := fx[name+".mask"]; ok {
				opt.Mask = m
			}
			q, k, v := autograd.NewVar(get(t, fx, name+".q")), autograd.NewVar(get(t, fx, name+".k")), autograd.NewVar(get(t, fx, name+".v"))
			y := autograd.ScaledDotProductAttention(q, k, v, opt)
			autograd.Sum(autograd.Mul(y, autograd.Constant(get(t, fx, name+".proj"))), false).Backward()
			requireScaled(t, get(t, fx, name+".out"), y.Value(), "out")
			requireScaled(t, get(t, fx, name+".grad.q"), q.Grad(), "grad q")
			requireScaled(t, get(t, fx, name+".grad.k"), k.Grad(), "grad k")
			requireScaled(t, get(t, fx, name+".grad.v"), v.Grad(), "grad v")
		})
	}
}

// lossWith returns Σ y·proj.
func lossWith(y *autograd.Var, proj *tensor.Tensor) *autograd.Var {
	return autograd.Sum(autograd.Mul(y, autograd.Constant(proj)), false)
}

func requireParamGrads(t *testing.T, fx map[string]*tensor.Tensor, prefix string, m nn.Module) {
	t.Helper()
	for _, p := range m.Params() {
		requireScaled(t, get(t, fx, prefix+p.Name), p.Grad(), "grad "+p.Name)
	}
}

func TestTorchMultiheadAttention(t *testing.T) {
	fx := seqFixture(t, "seq_mha.safetensors")
	load := func(t *testing.T) *nn.MultiheadAttention {
		m := nn.NewMultiheadAttention(8, 2, 0, nn.WithSeed(1))
		require.NoError(t, nn.LoadStateDict(m, stateWithPrefix(fx, "model.")))
		return m
	}
	t.Run("self", func(t *testing.T) {
		m := load(t)
		x := autograd.NewVar(get(t, fx, "self.x"))
		y, w := m.Attend(x, x, x, nn.AttendOptions{Causal: true, KeyPadding: boolsOf(get(t, fx, "self.kpm")), NeedWeights: true})
		autograd.Add(lossWith(y, get(t, fx, "self.proj")), lossWith(w, get(t, fx, "self.projw"))).Backward()
		requireScaled(t, get(t, fx, "self.out"), y.Value(), "out")
		requireScaled(t, get(t, fx, "self.weights"), w.Value(), "weights")
		requireScaled(t, get(t, fx, "self.grad.x"), x.Grad(), "grad x")
		requireParamGrads(t, fx, "self.grad.", m)
	})
	t.Run("cross", func(t *testing.T) {
		m := load(t)
		q, kv := autograd.NewVar(get(t, fx, "cross.q")), autograd.NewVar(get(t, fx, "cross.kv"))
		y, w := m.Attend(q, kv, kv, nn.AttendOptions{NeedWeights: true})
		autograd.Add(lossWith(y, get(t, fx, "cross.proj")), lossWith(w, get(t, fx, "cross.projw"))).Backward()
		requireScaled(t, get(t, fx, "cross.out"), y.Value(), "out")
		requireScaled(t, get(t, fx, "cross.weights"), w.Value(), "weights")
		requireScaled(t, get(t, fx, "cross.grad.q"), q.Grad(), "grad q")
		requireScaled(t, get(t, fx, "cross.grad.kv"), kv.Grad(), "grad kv")
		requireParamGrads(t, fx, "cross.grad.", m)
	})
}

func TestTorchTransformerEncoderLayer(t *testing.T) {
	fx := seqFixture(t, "seq_encoder.safetensors")
	for _, c := range []struct {
		name string
		cfg  nn.TransformerConfig
	}{
		{"pre", nn.TransformerConfig{DModel: 8, Heads: 2, DimFF: 16, Activation: nn.ActGELU, NormFirst: true}},
		{"post", nn.TransformerConfig{DModel: 8, Heads: 2, DimFF: 16}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := nn.NewTransformerEncoderLayer(c.cfg, nn.WithSeed(2))
			require.NoError(t, nn.LoadStateDict(l, stateWithPrefix(fx, c.name+".model.")))
			x := autograd.NewVar(get(t, fx, c.name+".x"))
			y := l.ForwardMasked(x, nn.AttendOptions{Causal: true, KeyPadding: boolsOf(get(t, fx, c.name+".kpm"))})
			lossWith(y, get(t, fx, c.name+".proj")).Backward()
			requireScaled(t, get(t, fx, c.name+".out"), y.Value(), "out")
			requireScaled(t, get(t, fx, c.name+".grad.x"), x.Grad(), "grad x")
			requireParamGrads(t, fx, c.name+".grad.", l)
		})
	}
}

func intsOf(x *tensor.Tensor) []int {
	out := make([]int, x.Size())
	for i, v := range x.Data() {
		out[i] = int(v)
	}
	return out
}

func TestTorchTinyGPT(t *testing.T) {
	fx := seqFixture(t, "seq_gpt.safetensors")
	g := nn.NewGPT(nn.GPTModelConfig{VocabSize: 11, BlockSize: 6, Layers: 2, Block: nn.GPTConfig{DModel: 8, Heads: 2}}, nn.WithSeed(3))
	require.NoError(t, nn.LoadStateDict(g, stateWithPrefix(fx, "model.")))
	idx := get(t, fx, "idx")
	logits := g.Forward(autograd.Constant(idx))
	flat := autograd.Reshape(logits, -1, 11)
	loss := autograd.SoftmaxCrossEntropy(flat, intsOf(get(t, fx, "targets")), 0, autograd.ReduceMean)
	loss.Backward()
	requireScaled(t, get(t, fx, "logits"), logits.Value(), "logits")
	requireScaled(t, get(t, fx, "loss"), loss.Value().Reshape(1), "loss")
	requireParamGrads(t, fx, "grad.", g)
}

func TestTorchSequenceStateNames(t *testing.T) {
	raw, err := os.ReadFile("testdata/seq_state_names.json")
	require.NoError(t, err)
	var want map[string]map[string][]int
	require.NoError(t, json.Unmarshal(raw, &want))
	ours := map[string]nn.Module{
		"MultiheadAttention":      nn.NewMultiheadAttention(8, 2, 0),
		"TransformerEncoderLayer": nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: 8, Heads: 2, DimFF: 16}),
		"TransformerEncoder":      nn.NewTransformerEncoder(nn.TransformerConfig{DModel: 8, Heads: 2, DimFF: 16, NormFirst: true}, 2, true),
		"Embedding":               nn.NewEmbeddingPadded(10, 4, 0),
		"Conv1d":                  nn.NewConv1D(4, 6, 3),
	}
	require.Len(t, ours, len(want))
	for name, m := range ours {
		got := map[string][]int{}
		for _, s := range nn.StateDict(m) {
			got[s.Name] = s.Value.Shape()
		}
		require.Equal(t, want[name], got, name)
		// PyTorch's state dict loads into ours strictly: zeros of the right
		// shapes under PyTorch's names.
		var state []nn.NamedTensor
		for k, shape := range want[name] {
			state = append(state, nn.NamedTensor{Name: k, Value: tensor.Zeros(shape...)})
		}
		require.NoError(t, nn.LoadStateDict(m, state), name)
	}
}
