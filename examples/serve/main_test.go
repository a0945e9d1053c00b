package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/examples/internal/mnistdir"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/nn/quant"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

// savedModel writes a self-describing model of the flagship's
// architecture with seeded weights to a temporary file, as examples/mnist
// would.
func savedModel(t *testing.T) (string, *nn.Sequential) {
	t.Helper()
	nn.SetSeed(5)
	m := nn.NewSequential(
		nn.NewFlatten(),
		nn.NewDense(28*28, 128, nn.WithActivation(nn.ActReLU)),
		nn.NewDense(128, 10),
	)
	path := filepath.Join(t.TempDir(), "mnist-mlp.safetensors")
	require.NoError(t, nn.SaveModel(path, m, nn.ModelInfo{
		InputShape: []int{1, 28, 28},
		ClassNames: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
	}))
	return path, m
}

// TestWeightsOnlyFileIsRefused checks that a file without a model
// description gets an error saying what to do, not a guessed architecture.
func TestWeightsOnlyFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weights.safetensors")
	require.NoError(t, nn.SaveFile(path, nn.NewSequential(nn.NewDense(3, 2))))
	_, _, err := newHandler(path)
	require.ErrorContains(t, err, "no model description")
}

// TestServeMNISTImage serves a saved model and sends it real MNIST test
// images in both forms: each answer agrees bit for bit with train.Predict
// on the model as saved.
func TestServeMNISTImage(t *testing.T) {
	if _, err := mnistdir.Dir(""); err != nil {
		t.Skip(err)
	}
	_, test, err := mnistdir.Load("")
	require.NoError(t, err)
	path, model := savedModel(t)
	*modelPath = path
	h, _, err := newHandler(path)
	require.NoError(t, err)
	defer h.Shutdown(context.Background())
	srv := httptest.NewServer(h)
	defer srv.Close()

	x := tensor.New(test.X().Data()[:2*784], 2, 1, 28, 28)
	// The handler multiplies by weights packed once (serve.New opts the
	// model in); the reference does the same.
	nn.PackForInference(model)
	logits, err := train.Predict(model, x, 2)
	require.NoError(t, err)
	for i := range 2 {
		img := x.Data()[i*784 : (i+1)*784]
		want := tensor.Softmax(tensor.New(logits.Data()[i*10:(i+1)*10], 1, 10), -1).Data()
		var raw bytes.Buffer
		require.NoError(t, binary.Write(&raw, binary.LittleEndian, img))
		js, err := json.Marshal(map[string][]float32{"input": img})
		require.NoError(t, err)
		for _, req := range []struct {
			ct   string
			body []byte
		}{{"application/octet-stream", raw.Bytes()}, {"application/json", js}} {
			resp, err := http.Post(srv.URL+"/predict", req.ct, bytes.NewReader(req.body))
			require.NoError(t, err)
			var got struct {
				Label         int       `json:"label"`
				Class         string    `json:"class"`
				Probabilities []float32 `json:"probabilities"`
				Predictions   []struct {
					Label         int       `json:"label"`
					Class         string    `json:"class"`
					Probabilities []float32 `json:"probabilities"`
				} `json:"predictions"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			if len(got.Predictions) == 1 {
				got.Label, got.Class, got.Probabilities = got.Predictions[0].Label, got.Predictions[0].Class, got.Predictions[0].Probabilities
			}
			require.Len(t, got.Probabilities, 10)
			for k := range want {
				require.Equal(t, math.Float32bits(want[k]), math.Float32bits(got.Probabilities[k]), "image %d, %s, class %d", i, req.ct, k)
			}
			label := 0
			for k, p := range want {
				if p > want[label] {
					label = k
				}
			}
			require.Equal(t, label, got.Label)
			require.Equal(t, string(rune('0'+label)), got.Class)
		}
	}
}

// TestRunShutsDown runs the program on a random loopback port, checks
// that it answers and prints the curl commands, and that cancelling its
// context (what SIGINT does) shuts it down cleanly.
func TestRunShutsDown(t *testing.T) {
	path, _ := savedModel(t)
	*modelPath = path
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error)
	go func() { done <- run(ctx, ln, &out) }()
	url := "http://" + ln.Addr().String()
	resp, err := http.Post(url+"/predict", "application/octet-stream", bytes.NewReader(make([]byte, 2*784*4)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
	require.Contains(t, out.String(), "curl -s "+url+"/predict -H 'Content-Type: application/octet-stream' --data-binary @-")
	require.True(t, strings.HasSuffix(out.String(), "shutting down: finishing the requests in progress\n"))
	_, err = http.Get(url + "/healthz")
	require.Error(t, err)
}

// TestMissingModel checks that a missing model file says how to make one.
func TestMissingModel(t *testing.T) {
	_, _, err := newHandler(filepath.Join(t.TempDir(), "none.safetensors"))
	require.ErrorContains(t, err, "none.safetensors does not exist: train and save the model first with\n  go run ./examples/mnist\n")
}

// TestServeLanguageModel saves a small GPT with its tokenizer as a model
// file, serves it as the program does (float, then quantised with -int8)
// and checks that /generate answers what train.Generate gives the loaded
// model, and that the program prints the /generate commands.
func TestServeLanguageModel(t *testing.T) {
	tok, err := text.NewChars("the quick brown fox jumps over the lazy dog.\n")
	require.NoError(t, err)
	m := nn.NewGPT(nn.GPTModelConfig{VocabSize: tok.VocabSize(), BlockSize: 16, Layers: 1, Block: nn.GPTConfig{DModel: 16, Heads: 2}}, nn.WithSeed(3))
	var info nn.ModelInfo
	require.NoError(t, info.SetExtra(nn.ExtraTokenizer, tok))
	path := filepath.Join(t.TempDir(), "char-gpt.safetensors")
	require.NoError(t, nn.SaveModel(path, m, info))
	*modelPath = path
	defer func() { *int8 = false }()
	for _, q := range []bool{false, true} {
		*int8 = q
		h, lm, err := newHandler(path)
		require.NoError(t, err)
		require.True(t, lm)
		srv := httptest.NewServer(h)
		resp, err := http.Post(srv.URL+"/generate", "application/json", strings.NewReader(`{"prompt": "the", "max_tokens": 12}`))
		require.NoError(t, err)
		var got struct {
			Text   string `json:"text"`
			Tokens int    `json:"tokens"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		var ref nn.Module = m
		if q {
			ref, err = quant.Quantize(m)
			require.NoError(t, err)
		}
		want, err := train.Generate(context.Background(), ref, tok.Encode("the"), train.GenerateConfig{MaxTokens: 12})
		require.NoError(t, err)
		require.Equal(t, tok.Decode(want), got.Text, "int8 %v", q)
		require.Equal(t, 12, got.Tokens)
		srv.Close()
		require.NoError(t, h.Shutdown(context.Background()))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error)
	go func() { done <- run(ctx, ln, &out) }()
	url := "http://" + ln.Addr().String()
	resp, err := http.Post(url+"/generate", "application/json", strings.NewReader(`{"prompt": "a", "max_tokens": 3}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
	require.Contains(t, out.String(), "curl -s "+url+"/generate -H 'Content-Type: application/json'")
}
