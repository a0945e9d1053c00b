package nn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// predict runs m on x in inference mode and evaluation mode (an
// Embedding's output is not in inference mode, so the layers after it need
// Eval) and returns a copy of the output, leaving m in training mode.
func predict(m Module, x *tensor.Tensor) []float32 {
	Eval(m)
	defer Train(m)
	return append([]float32(nil), m.Forward(autograd.NoGrad(x)).Value().Data()...)
}

// roundTrip saves m with info, loads it back with LoadModel, MapModel and
// ReadModel, and checks that each gives bit-identical outputs on x, the
// same description and the same info.
func roundTrip(t *testing.T, m Module, info ModelInfo, x *tensor.Tensor) Module {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.safetensors")
	require.NoError(t, SaveModel(path, m, info))
	want := predict(m, x)
	wantSpec, err := DescribeModel(m)
	require.NoError(t, err)

	loaded, gotInfo, err := LoadModel(path)
	require.NoError(t, err)
	mapped, err := MapModel(path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, mapped.Close()) })
	var buf bytes.Buffer
	require.NoError(t, WriteModel(&buf, m, info))
	read, readInfo, err := ReadModel(&buf)
	require.NoError(t, err)

	for name, got := range map[string]Module{"LoadModel": loaded, "MapModel": mapped.Model, "ReadModel": read} {
		require.Equal(t, want, predict(got, x), name)
		spec, err := DescribeModel(got)
		require.NoError(t, err)
		require.Equal(t, wantSpec, spec, name)
		require.Equal(t, len(StateDict(m)), len(StateDict(got)), name)
		for i, nt := range StateDict(got) {
			require.Equal(t, StateDict(m)[i].Name, nt.Name)
			require.Equal(t, StateDict(m)[i].Value.Data(), nt.Value.Data(), nt.Name)
		}
	}
	for _, got := range []ModelInfo{gotInfo, mapped.Info, readInfo} {
		require.Equal(t, info, got)
	}
	if canMap {
		require.Equal(t, len(StateDict(m))-countInt64(m), mapped.Views, "every F32 tensor is a view of the mapping")
	}
	return loaded
}

// countInt64 counts m's tensors saved as something other than F32.
func countInt64(m Module) int {
	n := 0
	for _, t := range StateDict(m) {
		if t.Dtype != "" && t.Dtype != Float32 {
			n++
		}
	}
	return n
}

func TestModelRoundTripMLP(t *testing.T) {
	m := NewSequential(
		NewDense(4, 8, WithActivation(ActReLU), WithSeed(1)),
		NewDropout(0.3, WithSeed(2)),
		NewDense(8, 6, WithoutBias(), WithActivation(ActTanh), WithSeed(3)),
		NewDense(6, 3, WithSeed(4)),
		NewSoftmax(),
	)
	info := ModelInfo{InputShape: []int{4}, ClassNames: []string{"setosa", "versicolor", "virginica"}}
	require.NoError(t, info.SetExtra("standardizer", map[string]any{"mean": []float32{1, 2, 3, 4}, "std": []float32{0.5, 1, 1, 2}}))
	x := tensor.RandN(rand.New(rand.NewPCG(5, 5)), 0, 1, 7, 4)
	loaded := roundTrip(t, m, info, x)
	// Dropout keeps its probability and is active in training mode.
	d := loaded.(*Sequential).Layer(1).(*Dropout)
	require.Equal(t, float32(0.3), d.P)
	require.True(t, d.Training())
}

func TestModelRoundTripCNN(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	bn2 := NewBatchNorm2D(4, WithMomentum(0.3), WithEps(1e-3))
	bn1 := NewBatchNorm1D(16, WithoutAffine())
	m := NewSequential(
		NewConv2D(2, 4, 3, WithPadding(1), WithStride(1, 2), WithDilation(1), WithActivation(ActGELU), WithSeed(1)),
		bn2,
		NewConv2D(4, 4, 1, WithKernel(1, 3), WithGroups(2), WithoutBias(), WithPadding(0, 2), WithDilation(1, 2), WithSeed(2)),
		NewLeakyReLU(0.2),
		NewMaxPool2D(2, WithStride(1), WithPadding(1)),
		NewAvgPool2D(2, WithKernel(2, 1)),
		NewDropout(0.25, WithSeed(3)),
		NewSequential( // nested
			NewResidual(NewSequential(NewConv2D(4, 4, 3, WithPadding(1), WithSeed(4)), NewSigmoid())),
			NewGlobalAvgPool2D(),
		),
		NewDense(4, 16, WithSeed(5)),
		bn1,
		NewLayerNorm(16, WithEps(1e-4)),
		NewTanh(),
		NewDense(16, 5, WithActivation(ActLogSoftmax), WithSeed(6)),
	)
	// Give the running statistics values other than their defaults, and
	// num_batches_tracked a count.
	for range 3 {
		m.Forward(autograd.Constant(tensor.RandN(r, 1, 2, 6, 2, 8, 8)))
	}
	require.NotEqual(t, float32(0), bn2.RunningMean.Value().Data()[0])
	x := tensor.RandN(r, 0, 1, 3, 2, 8, 8)
	roundTrip(t, m, ModelInfo{InputShape: []int{2, 8, 8}}, x)
}

func TestModelRoundTripConv1DAndActivations(t *testing.T) {
	m := NewSequential(
		NewConv1D(3, 6, 3, WithStride(2), WithPadding(1), WithDilation(2), WithGroups(3), WithActivation(ActSigmoid), WithSeed(1)),
		NewMaxPool1D(2, WithPadding(1)),
		NewAvgPool1D(2, WithStride(1)),
		NewReLU(),
		NewFlatten(),
		NewGELU(),
		&LogSoftmax{},
	)
	x := tensor.RandN(rand.New(rand.NewPCG(3, 3)), 0, 1, 2, 3, 16)
	roundTrip(t, m, ModelInfo{}, x)
}

// GLU is a user-defined layer: Proj(x) split in halves a, b; a·σ(b).
type testGLU struct {
	Proj *Dense
	Out  int
}

func newTestGLU(in, out int, opts ...Option) *testGLU {
	return &testGLU{Proj: Register("proj", NewDense(in, 2*out, opts...)), Out: out}
}

func (g *testGLU) Forward(x *autograd.Var) *autograd.Var {
	h := g.Proj.Forward(x)
	a := autograd.Slice(h, 1, 0, g.Out)
	b := autograd.Slice(h, 1, g.Out, 2*g.Out)
	return autograd.Mul(a, autograd.Sigmoid(b))
}

func (g *testGLU) Params() []*Param { return g.Proj.Params() }

type gluConfig struct {
	In  int `json:"in"`
	Out int `json:"out"`
}

func (g *testGLU) LayerConfig() (string, any) {
	return "TestGLU", gluConfig{In: g.Proj.Weight.Shape()[1], Out: g.Out}
}

// testPair is a user-defined container: the sum of two modules.
type testPair struct {
	A, B  Module
	views ParamViews
}

func (p *testPair) Forward(x *autograd.Var) *autograd.Var {
	return autograd.Add(p.A.Forward(x), p.B.Forward(x))
}
func (p *testPair) Params() []*Param {
	return append(p.views.Prefix("a", p.A.Params()), p.views.Prefix("b", p.B.Params())...)
}
func (p *testPair) Children() []Module         { return []Module{p.A, p.B} }
func (p *testPair) LayerConfig() (string, any) { return "TestPair", nil }

var registerTestLayers = sync.OnceFunc(func() {
	RegisterLayer("TestGLU", func(raw json.RawMessage) (Module, error) {
		var c gluConfig
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, err
		}
		if c.In < 1 || c.Out < 1 || c.In > 1<<16 || c.Out > 1<<16 {
			return nil, fmt.Errorf("TestGLU: sizes %d, %d out of range", c.In, c.Out)
		}
		return newTestGLU(c.In, c.Out), nil
	})
	RegisterContainer("TestPair", func(_ json.RawMessage, ch []Module) (Module, error) {
		if len(ch) != 2 {
			return nil, fmt.Errorf("TestPair wants 2 layers, got %d", len(ch))
		}
		return &testPair{A: ch[0], B: ch[1]}, nil
	})
})

func TestModelRoundTripCustomLayer(t *testing.T) {
	registerTestLayers()
	m := NewSequential(newTestGLU(5, 4, WithSeed(1)), &testPair{A: NewDense(4, 3, WithSeed(2)), B: NewDense(4, 3, WithSeed(3))})
	require.Equal(t, "1.a.weight", StateDict(m)[3].Name) // 0.proj.bias, 0.proj.weight, 1.a.bias, 1.a.weight, ...
	x := tensor.RandN(rand.New(rand.NewPCG(1, 2)), 0, 1, 3, 5)
	roundTrip(t, m, ModelInfo{InputShape: []int{5}}, x)
	require.Contains(t, LayerKinds(), "TestGLU")
	require.Panics(t, func() { RegisterLayer("TestGLU", func(json.RawMessage) (Module, error) { return nil, nil }) })
	require.Panics(t, func() { RegisterLayer("Dense", func(json.RawMessage) (Module, error) { return nil, nil }) })
	require.Panics(t, func() { RegisterLayer("", func(json.RawMessage) (Module, error) { return nil, nil }) })
}

func TestModelInfoExtra(t *testing.T) {
	var info ModelInfo
	type scaler struct{ Mean, Std []float32 }
	require.NoError(t, info.SetExtra("scaler", scaler{Mean: []float32{1.5}, Std: []float32{2}}))
	var got scaler
	ok, err := info.Extra("scaler", &got)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, scaler{Mean: []float32{1.5}, Std: []float32{2}}, got)
	ok, err = info.Extra("tokenizer", &got)
	require.NoError(t, err)
	require.False(t, ok)
	_, err = info.Extra("scaler", new(int))
	require.ErrorContains(t, err, `extra "scaler"`)
	require.ErrorContains(t, info.SetExtra("bad", func() {}), `extra "bad"`)
}

// The mapping is private: training a mapped model changes the model, not
// the file.
func TestMapModelWritesDoNotReachFile(t *testing.T) {
	m := NewSequential(NewDense(3, 2, WithSeed(1)))
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, SaveModel(path, m, ModelInfo{}))
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	mm, err := MapModel(path)
	require.NoError(t, err)
	w := mm.Model.Params()[0] // 0.weight
	require.Equal(t, "0.weight", w.Name)
	w.Value().Data()[0] = 42
	require.Equal(t, float32(42), mm.Model.(*Sequential).Layer(0).(*Dense).Weight.Value().Data()[0])
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after)
	// A second mapping sees the file's value, not the first one's write.
	mm2, err := MapModel(path)
	require.NoError(t, err)
	require.Equal(t, m.Params()[0].Value().Data()[0], mm2.Model.Params()[0].Value().Data()[0])
	require.NoError(t, mm.Close())
	require.NoError(t, mm.Close())
	require.Nil(t, mm.Model)
	require.NoError(t, mm2.Close())
}

// writeDesc writes a safetensors file holding the tensors and the given
// model description.
func writeDesc(t *testing.T, desc string, ts []NamedTensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	md := map[string]string{}
	if desc != "" {
		md[ModelKey] = desc
	}
	require.NoError(t, WriteTensors(&buf, ts, md))
	return buf.Bytes()
}

func dense34() []NamedTensor {
	return []NamedTensor{
		{Name: "0.weight", Value: tensor.Zeros(4, 3)},
		{Name: "0.bias", Value: tensor.Zeros(4)},
	}
}

func TestLoadModelErrors(t *testing.T) {
	registerTestLayers()
	seq := func(layers string) string {
		return `{"version":1,"model":{"kind":"Sequential","layers":[` + layers + `]}}`
	}
	dense := `{"kind":"Dense","config":{"in":3,"out":4}}`
	deep := `{"kind":"Dense","config":{"in":3,"out":4}}`
	for range 70 {
		deep = `{"kind":"Sequential","layers":[` + deep + `]}`
	}
	cases := []struct {
		name, desc string
		ts         []NamedTensor
		want       string
	}{
		{"no description", "", dense34(), `no model description (metadata "shoshin.model")`},
		{"bad json", `{"version":1,`, dense34(), "model description: unexpected end of JSON input"},
		{"no version", `{"model":{"kind":"ReLU"}}`, nil, "model description has no version"},
		{"future version", `{"version":2,"model":{"kind":"ReLU"}}`, nil, "version 2 is not supported (this library reads 1 to 1)"},
		{"unknown top field", `{"version":1,"model":{"kind":"ReLU"},"optimizer":{}}`, nil, `unknown field "optimizer"`},
		{"unknown kinds", seq(dense + `,{"kind":"Frob"},{"kind":"Zap"},{"kind":"Frob"}`), dense34(), `unknown layer kinds "Frob", "Zap": register them with nn.RegisterLayer`},
		{"bad size", seq(`{"kind":"Dense","config":{"in":0,"out":4}}`), dense34(), "model.layers[0] (Dense): config: in must be between 1 and 2147483647, got 0"},
		{"negative size", seq(`{"kind":"Dense","config":{"in":3,"out":-4}}`), dense34(), "out must be between 1"},
		{"huge size", seq(`{"kind":"Dense","config":{"in":3,"out":1e12}}`), dense34(), "model.layers[0] (Dense): config: json: cannot unmarshal number 1e12"},
		{"unknown config field", seq(`{"kind":"Dense","config":{"in":3,"out":4,"units":4}}`), dense34(), `config: json: unknown field "units"`},
		{"unknown activation", seq(`{"kind":"Dense","config":{"in":3,"out":4,"activation":"Swish"}}`), dense34(), `unknown activation "Swish"`},
		{"config type", seq(`{"kind":"Dense","config":{"in":"3","out":4}}`), dense34(), "cannot unmarshal string"},
		{"too many params", seq(`{"kind":"Dense","config":{"in":100000,"out":100000}}`), dense34(), "the architecture needs 10000100000 parameter values but the file holds only 16"},
		{"too many params summed", seq(dense + `,` + dense), dense34(), "needs 32 parameter values but the file holds only 16"},
		{"missing weight", seq(dense), []NamedTensor{dense34()[0], {Name: "0.extra", Value: tensor.Zeros(4)}}, "weights do not match the architecture: missing [0.bias]; unexpected [0.extra]"},
		{"wrong shape", seq(`{"kind":"Dense","config":{"in":4,"out":3}}`), []NamedTensor{{Name: "0.weight", Value: tensor.Zeros(4, 3)}, {Name: "0.bias", Value: tensor.Zeros(3)}}, "shape mismatch 0.weight: file [4 3], model [3 4]"},
		{"unexpected weight", seq(`{"kind":"ReLU"}`), dense34(), "unexpected [0.bias 0.weight]"},
		{"residual children", `{"version":1,"model":{"kind":"Residual","layers":[{"kind":"ReLU"},{"kind":"ReLU"}]}}`, nil, "model (Residual): wants 1 child layers, found 2"},
		{"leaf with children", `{"version":1,"model":{"kind":"ReLU","layers":[{"kind":"ReLU"}]}}`, nil, "model (ReLU): a ReLU layer has no child layers, found 1"},
		{"too deep", `{"version":1,"model":` + deep + `}`, dense34(), "nested more than 64 levels deep"},
		{"input shape", `{"version":1,"model":{"kind":"ReLU"},"input_shape":[28,0]}`, nil, "input_shape [28 0]: sizes must be between 1"},
		{"dropout p", seq(`{"kind":"Dropout","config":{"p":1}}`), nil, "model.layers[0] (Dropout): config: p must be in [0, 1), got 1"},
		{"batchnorm eps", seq(`{"kind":"BatchNorm1D","config":{"features":4,"eps":0}}`), nil, "eps must be positive and finite, got 0"},
		{"batchnorm momentum", seq(`{"kind":"BatchNorm2D","config":{"features":4,"momentum":1.5}}`), nil, "momentum must be in [0, 1], got 1.5"},
		{"pool padding", seq(`{"kind":"MaxPool2D","config":{"kernel":[2,2],"stride":[0,0],"padding":[2,0],"dilation":[0,0]}}`), nil, "padding [2 0] may be at most half the kernel [2 2]"},
		{"conv groups", seq(`{"kind":"Conv2D","config":{"in":3,"out":4,"kernel":[3,3],"stride":[1,1],"padding":[0,0],"dilation":[1,1],"groups":2}}`), nil, "in 3 and out 4 must divide by groups 2"},
		{"layernorm shape", seq(`{"kind":"LayerNorm","config":{"shape":[]}}`), nil, "shape [] must have 1 to 16 axes"},
		{"softmax axis", seq(`{"kind":"Softmax","config":{"axis":99}}`), nil, "axis 99 out of range"},
		{"leaky slope", seq(`{"kind":"LeakyReLU","config":{"slope":"NaN"}}`), nil, "cannot unmarshal string"},
		{"heads", seq(`{"kind":"MultiheadAttention","config":{"embed":8,"heads":3}}`), nil, "model.layers[0] (MultiheadAttention): config: d_model 8 must divide by heads 3"},
		{"transformer activation", seq(`{"kind":"TransformerEncoderLayer","config":{"d_model":8,"heads":2,"dim_ff":4,"eps":1e-5,"activation":"Tanh"}}`), nil, `activation "Tanh", want ReLU or GELU`},
		{"transformer eps", seq(`{"kind":"TransformerEncoder","config":{"d_model":8,"heads":2,"dim_ff":4,"layers":2}}`), nil, "eps must be positive and finite, got 0"},
		{"encoder layers", seq(`{"kind":"TransformerEncoder","config":{"d_model":8,"heads":2,"dim_ff":4,"eps":1e-5}}`), nil, "layers must be between 1"},
		{"gpt huge saturates", seq(`{"kind":"GPTBlock","config":{"d_model":2147483646,"heads":1}}`), nil, "needs 46116860"},
		{"transformer huge saturates", seq(`{"kind":"TransformerEncoder","config":{"d_model":2147483646,"heads":1,"dim_ff":2147483647,"eps":1e-5,"layers":2147483647}}`), nil, "needs 46116860"},
		{"lstm huge saturates", seq(`{"kind":"LSTM","config":{"input":2147483647,"hidden":2147483647,"layers":2147483647,"bidirectional":true}}`), nil, "needs 46116860"},
		{"gpt rotary", seq(`{"kind":"GPTBlock","config":{"d_model":6,"heads":2,"rotary":true}}`), nil, "rotary embeddings need an even head size, got 3"},
		{"rnn nonlinearity", seq(`{"kind":"RNN","config":{"input":2,"hidden":2,"nonlinearity":"sigmoid"}}`), nil, `nonlinearity "sigmoid", want "tanh" or "relu"`},
		{"lstm nonlinearity", seq(`{"kind":"LSTM","config":{"input":2,"hidden":2,"nonlinearity":"relu"}}`), nil, "nonlinearity applies only to RNN"},
		{"cell layers", seq(`{"kind":"GRUCell","config":{"input":2,"hidden":2,"layers":2}}`), nil, "belong to RNN, LSTM and GRU, not to cells"},
		{"padding idx", seq(`{"kind":"Embedding","config":{"num":4,"dim":3,"padding_idx":4}}`), dense34(), "padding_idx 4 outside [0, 4)"},
		{"sinusoidal table", seq(`{"kind":"SinusoidalPositionalEncoding","config":{"num":1000000,"dim":1000}}`), nil, "needs 1000000000 computed values (position tables), more than the 16777216 allowed"},
		{"sinusoidal odd", seq(`{"kind":"SinusoidalPositionalEncoding","config":{"num":10,"dim":3}}`), nil, "dim 3 must be even"},
		{"custom layer error", seq(`{"kind":"TestGLU","config":{"in":0,"out":2}}`), nil, "model.layers[0] (TestGLU): TestGLU: sizes 0, 2 out of range"},
		{"custom container error", seq(`{"kind":"TestPair","layers":[{"kind":"ReLU"}]}`), nil, "model.layers[0] (TestPair): TestPair wants 2 layers, got 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := writeDesc(t, c.desc, c.ts)
			_, _, err := ReadModel(bytes.NewReader(b))
			require.ErrorContains(t, err, c.want)
			path := filepath.Join(t.TempDir(), "bad.safetensors")
			require.NoError(t, os.WriteFile(path, b, 0o600))
			_, _, err = LoadModel(path)
			require.ErrorContains(t, err, c.want)
			require.ErrorContains(t, err, path)
			_, err = MapModel(path)
			require.ErrorContains(t, err, c.want)
		})
	}
	_, _, err := LoadModel(filepath.Join(t.TempDir(), "absent.safetensors"))
	require.ErrorContains(t, err, "absent.safetensors")
	_, _, err = ReadModel(strings.NewReader("short"))
	require.ErrorContains(t, err, "too short")
}

// A layer whose constructor panics on a configuration it accepted gives an
// error, not a crash.
func TestLoadModelRecoversConstructorPanic(t *testing.T) {
	registerPanicky()
	b := writeDesc(t, `{"version":1,"model":{"kind":"TestPanicky"}}`, nil)
	_, _, err := ReadModel(bytes.NewReader(b))
	require.ErrorContains(t, err, "model (TestPanicky): building the layer failed: boom")
}

var registerPanicky = sync.OnceFunc(func() {
	RegisterLayer("TestPanicky", func(json.RawMessage) (Module, error) { panic("boom") })
})

type unconfigured struct{ ReLU }

type opaque struct{}

func (opaque) Forward(x *autograd.Var) *autograd.Var { return x }
func (opaque) Params() []*Param                      { return nil }

func (unconfigured) LayerConfig() (string, any) { return "NotRegistered", nil }

func TestSaveModelErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	err := SaveModel(path, NewSequential(NewReLU(), opaque{}), ModelInfo{})
	require.ErrorContains(t, err, "model.layers[1]: layer nn.opaque does not describe its configuration: implement nn.Configurer")
	// A layer embedding a built-in one would otherwise save as the
	// built-in and load without its own behaviour.
	err = SaveModel(path, NewSequential(NewReLU(), &struct{ *Dense }{NewDense(2, 2)}), ModelInfo{})
	require.ErrorContains(t, err, `model.layers[1]: layer *struct { *nn.Dense } reports kind "Dense", the built-in *nn.Dense, through a method it embeds`)
	err = SaveModel(path, NewSequential(unconfigured{}), ModelInfo{})
	require.ErrorContains(t, err, `model.layers[0]: layer nn.unconfigured has kind "NotRegistered", which is not registered`)
	err = SaveModel(path, &Dense{}, ModelInfo{})
	require.ErrorContains(t, err, "model (Dense): config: in must be between 1")
	err = SaveModel(path, NewReLU(), ModelInfo{InputShape: []int{-1}})
	require.ErrorContains(t, err, "input_shape [-1]")
	require.ErrorContains(t, SaveModel(path, nil, ModelInfo{}), "nil model")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "a failed save leaves no file")
	// A file of weights alone is not a model file.
	require.NoError(t, SaveFile(path, NewDense(3, 4)))
	_, _, err = LoadModel(path)
	require.ErrorContains(t, err, "the file holds weights only; build the model in code and use nn.LoadFile")
}

// The file written by SaveModel is an ordinary weights file: LoadFile
// reads it into a model built in code.
func TestSaveModelWeightsLoadWithLoadFile(t *testing.T) {
	m := NewSequential(NewDense(3, 4, WithSeed(1)), NewReLU())
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, SaveModel(path, m, ModelInfo{}))
	other := NewSequential(NewDense(3, 4, WithSeed(2)), NewReLU())
	md, err := LoadFileWithMetadata(path, other)
	require.NoError(t, err)
	require.Equal(t, m.Params()[1].Value().Data(), other.Params()[1].Value().Data())
	require.Equal(t, FormatPyTorch, md[FormatKey])
	require.Contains(t, md[ModelKey], `"kind":"Sequential"`)
}

func TestModelRoundTripSequenceLayers(t *testing.T) {
	tcfg := TransformerConfig{DModel: 8, Heads: 2, DimFF: 16, Dropout: 0.1, Activation: ActGELU, NormFirst: true, Eps: 1e-4}
	m := NewSequential(
		NewEmbeddingPadded(20, 8, 0, WithSeed(1)),
		NewPositionalEmbedding(6, 8, WithSeed(2)),
		NewSinusoidalPositionalEncoding(6, 8),
		NewTransformerEncoderLayer(tcfg, WithSeed(3)),
		NewTransformerEncoder(TransformerConfig{DModel: 8, Heads: 4, DimFF: 12}, 2, true, WithSeed(4)),
		NewGPTBlock(GPTConfig{DModel: 8, Heads: 2, Rotary: true, RotaryBase: 500}, WithSeed(5)),
		NewGPTBlock(GPTConfig{DModel: 8, Heads: 1, NoBias: true, Dropout: 0.2}, WithSeed(6)),
		&Rotary{Heads: 2, Base: 100},
		NewMultiheadAttention(8, 2, 0.1, WithSeed(7)),
		NewMultiheadAttention(8, 4, 0, WithoutBias(), WithSeed(8)),
		NewLSTM(8, 5, RNNConfig{Layers: 2, Bidirectional: true, BatchFirst: true, Dropout: 0.3}, WithSeed(9)),
		NewGRU(10, 4, RNNConfig{BatchFirst: true}, WithoutBias(), WithSeed(10)),
		NewRNN(4, 3, RNNConfig{BatchFirst: true, Nonlinearity: "relu"}, WithSeed(11)),
	)
	x := tensor.New([]float32{1, 5, 0, 19, 3, 3, 2, 7, 11, 0, 0, 4}, 2, 6)
	info := ModelInfo{InputShape: []int{6}}
	require.NoError(t, info.SetExtra("tokenizer", map[string]any{"merges": [][2]int{{1, 2}}}))
	roundTrip(t, m, info, x)

	cells := NewSequential(NewLSTMCell(4, 5, WithSeed(1)), NewGRUCell(5, 3, WithoutBias(), WithSeed(2)), NewRNNCell(3, 2, "relu", WithSeed(3)), NewRNNCell(2, 2, "tanh", WithSeed(4)))
	roundTrip(t, cells, ModelInfo{}, tensor.RandN(rand.New(rand.NewPCG(1, 1)), 0, 1, 3, 4))
}

// fuzzSeeds returns valid model files to start fuzzing from.
func fuzzSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, m := range []Module{
		NewSequential(NewDense(3, 4, WithActivation(ActReLU), WithSeed(1)), NewDropout(0.5), NewDense(4, 2, WithSeed(2)), NewSoftmax()),
		NewSequential(NewConv2D(1, 2, 3, WithPadding(1), WithSeed(1)), NewBatchNorm2D(2), NewMaxPool2D(2), NewFlatten(), NewLayerNorm(8)),
		NewSequential(NewEmbedding(5, 4, WithSeed(1)), NewGRU(4, 3, RNNConfig{BatchFirst: true}, WithSeed(2))),
		NewResidual(NewSequential(NewDense(2, 2, WithSeed(1)), NewTanh())),
	} {
		var buf bytes.Buffer
		if err := WriteModel(&buf, m, ModelInfo{InputShape: []int{3}, ClassNames: []string{"a"}, Extras: map[string]json.RawMessage{"x": json.RawMessage(`{"k":[1,2]}`)}}); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}

// FuzzLoadModel feeds arbitrary files to the model loader: it must return
// a model or an error, never panic, and never allocate much more than the
// file's size (the parameter bound), which the fuzzer's memory limit
// would catch.
func FuzzLoadModel(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _, err := ReadModel(bytes.NewReader(b))
		if err == nil && m == nil {
			t.Fatal("no model and no error")
		}
	})
}

// FuzzModelDescription fuzzes the JSON description alone, inside a valid
// file whose weights fit the seeds, so that the fuzzer spends its time in
// the architecture decoder rather than in the safetensors header.
func FuzzModelDescription(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		_, md, err := ReadTensors(bytes.NewReader(b))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(md[ModelKey])
	}
	f.Add(`{"version":1,"model":{"kind":"Dense","config":{"in":3,"out":4}}}`)
	f.Add(`{"version":1,"model":{"kind":"TransformerEncoder","config":{"d_model":4,"heads":2,"dim_ff":4,"eps":1e-5,"layers":1}}}`)
	weights := []NamedTensor{
		{Name: "0.weight", Value: tensor.Zeros(4, 3)},
		{Name: "0.bias", Value: tensor.Zeros(4)},
		{Name: "2.weight", Value: tensor.Zeros(2, 4)},
		{Name: "2.bias", Value: tensor.Zeros(2)},
	}
	f.Fuzz(func(t *testing.T, desc string) {
		var buf bytes.Buffer
		if err := WriteTensors(&buf, weights, map[string]string{ModelKey: desc}); err != nil {
			return // a description the writer refuses (invalid UTF-8, say)
		}
		m, _, err := ReadModel(&buf)
		if err == nil && m == nil {
			t.Fatal("no model and no error")
		}
	})
}
