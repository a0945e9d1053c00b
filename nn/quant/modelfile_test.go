package quant

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
	"github.com/stretchr/testify/require"
)

func predictions(t *testing.T, m nn.Module, x *tensor.Tensor) []float32 {
	t.Helper()
	y, err := train.Predict(m, x, 16)
	require.NoError(t, err)
	return y.Data()
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Size()
}

// TestModelFileRoundTripMLP saves a quantised MNIST MLP with nn.SaveModel
// and loads it with nn.LoadModel, ReadModel and MapModel, with no code:
// each gives back quantised layers whose predictions are bit-identical to
// the saved model's. The file is about a quarter of the float model's.
func TestModelFileRoundTripMLP(t *testing.T) {
	float := mlp(5)
	q, err := Quantize(float)
	require.NoError(t, err)
	dir := t.TempDir()
	fpath, qpath := filepath.Join(dir, "float.safetensors"), filepath.Join(dir, "int8.safetensors")
	info := nn.ModelInfo{InputShape: []int{1, 28, 28}, ClassNames: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	require.NoError(t, nn.SaveModel(fpath, float, info))
	require.NoError(t, nn.SaveModel(qpath, q, info))

	fs, qs := fileSize(t, fpath), fileSize(t, qpath)
	ratio := float64(fs) / float64(qs)
	t.Logf("model file: float32 %d bytes, int8 %d bytes (%.2f× smaller)", fs, qs, ratio)
	require.Greater(t, ratio, 3.8)
	require.Less(t, ratio, 4.0)

	x := randTensor(rand.New(rand.NewPCG(1, 2)), 33, 1, 28, 28)
	want := predictions(t, q, x)

	loaded, got, err := nn.LoadModel(qpath)
	require.NoError(t, err)
	require.Equal(t, info, got)
	seq := loaded.(*nn.Sequential)
	require.IsType(t, &Dense{}, seq.Layer(1))
	require.IsType(t, &Dense{}, seq.Layer(2))
	require.Equal(t, "quant.Dense(784 → 128, int8, ReLU)", seq.Layer(1).(*Dense).String())
	require.Empty(t, loaded.Params(), "a loaded quantised model has nothing to train")
	require.Equal(t, want, predictions(t, loaded, x))

	b, err := os.ReadFile(qpath)
	require.NoError(t, err)
	read, _, err := nn.ReadModel(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, want, predictions(t, read, x))

	mapped, err := nn.MapModel(qpath)
	require.NoError(t, err)
	require.Equal(t, want, predictions(t, mapped.Model, x))
	require.NoError(t, mapped.Close())

	// Saving the loaded model again gives the same file.
	again := filepath.Join(dir, "again.safetensors")
	require.NoError(t, nn.SaveModel(again, loaded, info))
	b2, err := os.ReadFile(again)
	require.NoError(t, err)
	require.Equal(t, b, b2)
}

// TestModelFileRoundTripCNN does the same for a CNN with quantised
// convolutions (stride, padding, dilation, no bias) and a float BatchNorm
// and pooling between them.
func TestModelFileRoundTripCNN(t *testing.T) {
	float := nn.NewSequential(
		nn.NewConv2D(3, 6, 3, nn.WithStride(2), nn.WithPadding(1), nn.WithActivation(nn.ActReLU), nn.WithSeed(1)),
		nn.NewBatchNorm2D(6),
		nn.NewConv2D(6, 4, 2, nn.WithDilation(2), nn.WithoutBias(), nn.WithSeed(2)),
		nn.NewMaxPool2D(2),
		nn.NewFlatten(),
		nn.NewDense(4*2*2, 5, nn.WithActivation(nn.ActTanh), nn.WithoutBias(), nn.WithSeed(3)),
	)
	q, err := Quantize(float)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, nn.WriteModel(&buf, q, nn.ModelInfo{InputShape: []int{3, 12, 12}}))
	loaded, _, err := nn.ReadModel(&buf)
	require.NoError(t, err)
	seq := loaded.(*nn.Sequential)
	require.IsType(t, &Conv2D{}, seq.Layer(0))
	require.IsType(t, &Conv2D{}, seq.Layer(2))
	require.IsType(t, &Dense{}, seq.Layer(5))
	require.Equal(t, q.(*nn.Sequential).Layer(2).(*Conv2D).String(), seq.Layer(2).(*Conv2D).String())

	x := randTensor(rand.New(rand.NewPCG(3, 4)), 5, 3, 12, 12)
	require.Equal(t, predictions(t, q, x), predictions(t, loaded, x))
}

// TestModelFileResidual quantises the Dense layers inside a Residual
// (which Quantize rebuilds, like Sequential) and round-trips the model.
func TestModelFileResidual(t *testing.T) {
	float := nn.NewSequential(
		nn.NewDense(6, 8, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)),
		nn.NewResidual(nn.NewSequential(nn.NewDense(8, 8, nn.WithActivation(nn.ActGELU), nn.WithSeed(2)), nn.NewLayerNorm(8))),
		nn.NewDense(8, 3, nn.WithSeed(3)),
	)
	q, err := Quantize(float)
	require.NoError(t, err)
	inner := q.(*nn.Sequential).Layer(1).(*nn.Residual).F.(*nn.Sequential)
	require.IsType(t, &Dense{}, inner.Layer(0))
	require.IsType(t, &nn.Residual{}, float.Layer(1), "the float model is unchanged")
	require.IsType(t, &nn.Dense{}, float.Layer(1).(*nn.Residual).F.(*nn.Sequential).Layer(0), "the float model is unchanged")

	var buf bytes.Buffer
	require.NoError(t, nn.WriteModel(&buf, q, nn.ModelInfo{}))
	loaded, _, err := nn.ReadModel(&buf)
	require.NoError(t, err)
	require.IsType(t, &Dense{}, loaded.(*nn.Sequential).Layer(1).(*nn.Residual).F.(*nn.Sequential).Layer(0))
	x := randTensor(rand.New(rand.NewPCG(5, 6)), 7, 6)
	want := predictions(t, q, x)
	require.Equal(t, want, predictions(t, loaded, x))
	require.NotEqual(t, predictions(t, float, x), want, "the int8 model differs from the float one")
}

// TestModelFileErrors feeds nn.ReadModel hostile or inconsistent
// descriptions of quantised layers: each is refused with an error naming
// the layer, before anything large is allocated.
func TestModelFileErrors(t *testing.T) {
	seq := func(layer string) string {
		return `{"version":1,"model":{"kind":"Sequential","layers":[` + layer + `]}}`
	}
	small := []nn.NamedTensor{
		{Name: "0.weight", Value: tensor.Zeros(4, 3), Dtype: nn.Int8},
		{Name: "0.weight_scale", Value: tensor.Zeros(4)},
		{Name: "0.bias", Value: tensor.Zeros(4)},
	}
	dense := func(cfg string) string { return seq(`{"kind":"quant.Dense","config":` + cfg + `}`) }
	conv := func(cfg string) string { return seq(`{"kind":"quant.Conv2D","config":` + cfg + `}`) }
	for _, c := range []struct {
		name, desc string
		ts         []nn.NamedTensor
		want       string
	}{
		{"zero in", dense(`{"in":0,"out":4}`), small, "model.layers[0] (quant.Dense): config: in must be between 1 and 131072"},
		{"in overflows int32 sums", dense(`{"in":131073,"out":1}`), small, "in must be between 1 and 131072 (the int32 sums of longer rows could overflow), got 131073"},
		{"negative out", dense(`{"in":3,"out":-4}`), small, "out must be between 1"},
		{"huge out", dense(`{"in":131072,"out":2147483647}`), small, "the architecture needs 281479271546878 parameter values but the file holds only 20"},
		{"no config", seq(`{"kind":"quant.Dense"}`), small, "(quant.Dense): config: out must be between 1"},
		{"unknown field", dense(`{"in":3,"out":4,"bits":4}`), small, `config: json: unknown field "bits"`},
		{"trailing data", dense(`{"in":3,"out":4}{}`), small, "invalid character"},
		{"unknown activation", dense(`{"in":3,"out":4,"activation":"Swish"}`), small, `unknown activation "Swish" (want one of [ReLU`},
		{"children", seq(`{"kind":"quant.Dense","config":{"in":3,"out":4},"layers":[{"kind":"ReLU"}]}`), small, "a quant.Dense layer has no child layers"},
		{"missing scale", dense(`{"in":3,"out":4}`), []nn.NamedTensor{small[0], {Name: "0.extra", Value: tensor.Zeros(4)}, small[2]}, "weights do not match the architecture: missing [0.weight_scale]; unexpected [0.extra]"},
		{"scale shape", dense(`{"in":3,"out":4}`), []nn.NamedTensor{small[0], {Name: "0.weight_scale", Value: tensor.Zeros(5)}, small[2]}, "shape mismatch 0.weight_scale: file [5], model [4]"},
		{"unexpected bias", dense(`{"in":3,"out":4,"no_bias":true}`), small, "unexpected [0.bias]"},
		{"conv groups", conv(`{"in":2,"out":4,"kernel":[1,1],"stride":[1,1],"padding":[0,0],"dilation":[1,1],"groups":2}`), small, "model.layers[0] (quant.Conv2D): config: groups must be 0 or 1"},
		{"conv kernel", conv(`{"in":3,"out":4,"kernel":[0,1],"stride":[1,1],"padding":[0,0],"dilation":[1,1]}`), small, "kernel must be between 1 and 2147483647, got 0"},
		{"conv stride", conv(`{"in":3,"out":4,"kernel":[1,1],"stride":[1,-1],"padding":[0,0],"dilation":[1,1]}`), small, "stride must be between 0 and 2147483647, got -1"},
		{"conv reduction overflows", conv(`{"in":2147483647,"out":4,"kernel":[2147483647,2147483647],"stride":[1,1],"padding":[0,0],"dilation":[1,1]}`), small, "in·kernel (2147483647·[2147483647 2147483647]) must be between 1 and 131072"},
		{"conv reduction", conv(`{"in":512,"out":4,"kernel":[17,16],"stride":[1,1],"padding":[0,0],"dilation":[1,1]}`), small, "must be between 1 and 131072"},
		{"conv too many values", conv(`{"in":512,"out":65536,"kernel":[16,16],"stride":[1,1],"padding":[0,0],"dilation":[1,1]}`), small, "the architecture needs 8590065664 parameter values but the file holds only 20"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, nn.WriteTensors(&buf, c.ts, map[string]string{nn.ModelKey: c.desc}))
			_, _, err := nn.ReadModel(&buf)
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestModelFileRoundTripRecurrent saves a model of int8 LSTM (two
// bidirectional layers, no bias) and GRU layers with nn.SaveModel, loads
// it with nn.LoadModel and ReadModel, and checks that the loaded model
// gives bit-identical outputs and saves to the same bytes.
func TestModelFileRoundTripRecurrent(t *testing.T) {
	float := nn.NewSequential(
		nn.NewLSTM(3, 5, nn.RNNConfig{Layers: 2, Bidirectional: true, BatchFirst: true}, nn.WithSeed(1), nn.WithoutBias()),
		nn.NewGRU(10, 7, nn.RNNConfig{BatchFirst: true}, nn.WithSeed(2)),
		nn.NewFlatten(),
		nn.NewDense(4*7, 2, nn.WithSeed(3)),
	)
	q, err := Quantize(float)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "rnn-int8.safetensors")
	info := nn.ModelInfo{InputShape: []int{4, 3}}
	require.NoError(t, nn.SaveModel(path, q, info))
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 3, 4, 3)
	want := predictions(t, q, x)

	loaded, _, err := nn.LoadModel(path)
	require.NoError(t, err)
	seq := loaded.(*nn.Sequential)
	require.Equal(t, "quant.LSTM(3 → 5, layers=2, bidirectional, batch first, no bias, int8)", seq.Layer(0).(*LSTM).String())
	require.Equal(t, "quant.GRU(10 → 7, batch first, int8)", seq.Layer(1).(*GRU).String())
	require.Equal(t, want, predictions(t, loaded, x))

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	read, _, err := nn.ReadModel(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, want, predictions(t, read, x))
	var again bytes.Buffer
	require.NoError(t, nn.WriteModel(&again, loaded, info))
	require.Equal(t, b, again.Bytes())
}

// TestRecurrentConfigValues: the values a quant.LSTM or quant.GRU
// configuration claims (which nn.ReadModel checks against the bytes in
// the file before allocating) are exactly those of the layer it builds,
// and bad configurations are errors naming the field.
func TestRecurrentConfigValues(t *testing.T) {
	for _, c := range []nn.RecurrentConfig{
		{Input: 3, Hidden: 5},
		{Input: 4, Hidden: 7, Layers: 3, Bidirectional: true},
		{Input: 1, Hidden: 2, Layers: 2, NoBias: true, BatchFirst: true, Dropout: 0.5},
	} {
		for _, gates := range []int{4, 3} {
			_, n, err := recurrentConfig(mustJSON(c), gates)
			require.NoError(t, err)
			r := newRecurrent(gates, c, nil)
			var have int64
			for _, p := range r.buffers() {
				have += int64(p.Value().Size())
			}
			require.Equal(t, have, n, "%+v, %d gates", c, gates)
		}
	}
	for raw, msg := range map[string]string{
		`{"input": 0, "hidden": 3}`:                            "input must be between 1 and 131072",
		`{"input": 2, "hidden": 70000, "bidirectional": true}`: "hidden·directions must be between 1 and 131072",
		`{"input": 2, "hidden": 3, "layers": -1}`:              "layers must be between 0 and 65536",
		`{"input": 2, "hidden": 3, "dropout": 1}`:              "dropout must be in [0, 1)",
		`{"input": 2, "hidden": 3, "nonlinearity": "relu"}`:    "nonlinearity applies only to RNN",
		`{"input": 2, "hidden": 3, "cells": 1}`:                "unknown field",
	} {
		_, _, err := recurrentConfig(json.RawMessage(raw), 4)
		require.ErrorContains(t, err, msg, raw)
	}
}
