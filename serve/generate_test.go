package serve

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/nn/quant"
	"github.com/shoshin-ml/shoshin/train"
)

const genCorpus = "the quick brown fox jumps over the lazy dog.\n"

func charTok(t *testing.T) *text.Chars {
	tok, err := text.NewChars(genCorpus)
	require.NoError(t, err)
	return tok
}

func tinyGPT(vocab int) *nn.GPT {
	return nn.NewGPT(nn.GPTModelConfig{VocabSize: vocab, BlockSize: 16, Layers: 1, Block: nn.GPTConfig{DModel: 16, Heads: 2}}, nn.WithSeed(4))
}

// postGenerate sends body to g's /generate and returns the status and the
// decoded answer (or error body).
func postGenerate(t *testing.T, g http.Handler, body string) (int, GenerateResponse, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/generate", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	var resp GenerateResponse
	if w.Code == http.StatusOK {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp), w.Body.String())
	}
	return w.Code, resp, w.Body.String()
}

// TestGeneratorMatchesGenerate checks that /generate answers what
// train.Generate gives for the same prompt, settings and seed, greedy and
// sampled, for a float GPT, its int8 version and an LSTM language model.
func TestGeneratorMatchesGenerate(t *testing.T) {
	tok := charTok(t)
	v := tok.VocabSize()
	qgpt, err := quant.Quantize(tinyGPT(v))
	require.NoError(t, err)
	for _, m := range []nn.Module{
		tinyGPT(v), qgpt,
		nn.NewRNNLM(nn.RNNLMConfig{Vocab: v, Embed: 8, Hidden: 16}, nn.WithSeed(5)),
	} {
		g, err := NewGenerator(m, tok, GeneratorConfig{MaxTokens: 40})
		require.NoError(t, err)
		prompt := tok.Encode("the quick")
		for _, c := range []struct {
			body string
			cfg  train.GenerateConfig
		}{
			{`{"prompt": "the quick", "max_tokens": 30}`, train.GenerateConfig{MaxTokens: 30}},
			{`{"prompt": "the quick", "max_tokens": 30, "temperature": 0.9, "top_k": 6, "top_p": 0.9, "seed": 11}`,
				train.GenerateConfig{MaxTokens: 30, Temperature: 0.9, TopK: 6, TopP: 0.9, Rand: rand.New(rand.NewPCG(11, 11^0x9e3779b97f4a7c15))}},
		} {
			code, resp, raw := postGenerate(t, g, c.body)
			require.Equal(t, http.StatusOK, code, raw)
			want, err := train.Generate(context.Background(), m, prompt, c.cfg)
			require.NoError(t, err)
			require.Equal(t, tok.Decode(want), resp.Text, "%v: %s", m, c.body)
			require.Equal(t, 30, resp.Tokens)
			require.Equal(t, len(prompt), resp.PromptTokens)
			require.Equal(t, "length", resp.FinishReason)
		}
		// Without a seed the answer names the seed it drew, which replays
		// it.
		code, a, raw := postGenerate(t, g, `{"prompt": "dog", "max_tokens": 20, "temperature": 1.5}`)
		require.Equal(t, http.StatusOK, code, raw)
		code, b, raw := postGenerate(t, g, `{"prompt": "dog", "max_tokens": 20, "temperature": 1.5, "seed": `+jsonUint(a.Seed)+`}`)
		require.Equal(t, http.StatusOK, code, raw)
		require.Equal(t, a.Text, b.Text)
		require.NoError(t, g.Shutdown(context.Background()))
	}
}

func jsonUint(u uint64) string { b, _ := json.Marshal(u); return string(b) }

// TestGeneratorRejects sends requests the Generator must refuse, each with
// the status and a message saying what was wrong.
func TestGeneratorRejects(t *testing.T) {
	tok := charTok(t)
	g, err := NewGenerator(tinyGPT(tok.VocabSize()), tok, GeneratorConfig{MaxTokens: 10, MaxPromptTokens: 20, MaxBodyBytes: 200})
	require.NoError(t, err)
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"prompt": ""}`, 400, "prompt is empty"},
		{`{"prompt": "a", "max_tokens": 11}`, 400, "max_tokens is 11; want 1 to 10"},
		{`{"prompt": "a", "max_tokens": -1}`, 400, "max_tokens is -1"},
		{`{"prompt": "a", "temperature": -1}`, 400, "temperature is -1"},
		{`{"prompt": "a", "temperature": 1000}`, 400, "temperature is 1000"},
		{`{"prompt": "a", "top_k": -2}`, 400, "top_k is -2"},
		{`{"prompt": "a", "top_p": 1.5}`, 400, "top_p is 1.5"},
		{`{"prompt": "a", "seed": -1}`, 400, "body is not a generation request"},
		{`{"prompt": "a", "temp": 1}`, 400, `unknown field`},
		{`{"prompt": "a"} {}`, 400, "data after the JSON object"},
		{`["a"]`, 400, "body is not a generation request"},
		{`{"prompt": "` + strings.Repeat("a", 21) + `"}`, 413, "prompt is 21 tokens, more than 20"},
		{`{"prompt": "` + strings.Repeat("a", 300) + `"}`, 413, "body larger than 200 bytes"},
	} {
		code, _, raw := postGenerate(t, g, c.body)
		require.Equal(t, c.code, code, c.body)
		require.Contains(t, raw, c.msg, c.body)
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/generate", nil))
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	r := httptest.NewRequest(http.MethodPost, "/generate", strings.NewReader(`{"prompt": "a"}`))
	r.Header.Set("Content-Type", "text/plain")
	w = httptest.NewRecorder()
	g.ServeHTTP(w, r)
	require.Equal(t, http.StatusUnsupportedMediaType, w.Code)
}

// endless returns a Generator over an LSTM language model (no context
// limit) allowed a million tokens, which take far longer than any test.
func endless(t *testing.T, cfg GeneratorConfig) (*Generator, *text.Chars) {
	tok := charTok(t)
	cfg.MaxTokens = 1 << 20
	g, err := NewGenerator(nn.NewRNNLM(nn.RNNLMConfig{Vocab: tok.VocabSize(), Embed: 8, Hidden: 16}, nn.WithSeed(5)), tok, cfg)
	require.NoError(t, err)
	return g, tok
}

// TestGeneratorTimeout checks that GeneratorConfig.Timeout stops a long
// generation and answers with the text so far.
func TestGeneratorTimeout(t *testing.T) {
	g, _ := endless(t, GeneratorConfig{Timeout: 50 * time.Millisecond})
	code, resp, raw := postGenerate(t, g, `{"prompt": "the", "max_tokens": 1048576}`)
	require.Equal(t, http.StatusOK, code, raw)
	require.Equal(t, "timeout", resp.FinishReason)
	require.Less(t, resp.Tokens, 1<<20)
	require.Len(t, []rune(resp.Text), resp.Tokens) // one character per token
}

// TestGeneratorClientGone checks that a client's cancelled context stops
// its generation (the handler returns, and Shutdown finds nothing left),
// and that requests beyond MaxConcurrent + MaxQueue fail fast with 503.
func TestGeneratorClientGone(t *testing.T) {
	g, _ := endless(t, GeneratorConfig{MaxConcurrent: 1, MaxQueue: 1})
	ctx, cancel := context.WithCancel(context.Background())
	start := func() chan int {
		done := make(chan int, 1)
		go func() {
			r := httptest.NewRequest(http.MethodPost, "/generate", strings.NewReader(`{"prompt": "the", "max_tokens": 1048576}`)).WithContext(ctx)
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			done <- w.Code
		}()
		return done
	}
	first := start()
	// Wait until the first request holds the one slot.
	for len(g.slots) == 0 {
		time.Sleep(time.Millisecond)
	}
	second := start()
	for g.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	code, _, raw := postGenerate(t, g, `{"prompt": "the"}`)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, raw, "1 requests waiting")
	cancel()
	require.Equal(t, http.StatusServiceUnavailable, <-first)
	require.Equal(t, http.StatusServiceUnavailable, <-second)
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	require.NoError(t, g.Shutdown(sctx))
	code, _, raw = postGenerate(t, g, `{"prompt": "the"}`)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, raw, "shutting down")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	w = httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Contains(t, w.Body.String(), "shoshin_generated_tokens_total")
	require.Contains(t, w.Body.String(), `shoshin_generate_requests_total{code="503"} 4`)
}

// FuzzGenerateRequest feeds arbitrary bodies to /generate: every answer is
// 200 or a 4xx with a JSON error, never a panic.
func FuzzGenerateRequest(f *testing.F) {
	for _, s := range []string{`{"prompt": "the", "max_tokens": 3}`, `{"prompt": "x", "temperature": 1e308, "seed": 1}`,
		`{"prompt": "\u00e9\ud83d\ude00", "top_p": 0.5, "top_k": 1}`, `{}`, `[`, `{"prompt": "a", "max_tokens": 1e3}`} {
		f.Add(s)
	}
	tok, err := text.NewChars(genCorpus)
	require.NoError(f, err)
	g, err := NewGenerator(tinyGPT(tok.VocabSize()), tok, GeneratorConfig{MaxTokens: 4, MaxPromptTokens: 64, MaxBodyBytes: 1024})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, body string) {
		code, _, raw := postGenerate(t, g, body)
		if code != http.StatusOK {
			require.True(t, code == 400 || code == 413, "%d %s", code, raw)
			var e errorBody
			require.NoError(t, json.Unmarshal([]byte(raw), &e), raw)
			require.NotEmpty(t, e.Error)
		}
	})
}

// TestGeneratorConcurrent runs generations on one int8 GPT from several
// goroutines at once (each on its own decoder): every answer equals the
// one the same request gets alone. Run with -race.
func TestGeneratorConcurrent(t *testing.T) {
	tok := charTok(t)
	q, err := quant.Quantize(tinyGPT(tok.VocabSize()))
	require.NoError(t, err)
	g, err := NewGenerator(q, tok, GeneratorConfig{MaxTokens: 20, MaxConcurrent: 4})
	require.NoError(t, err)
	bodies := []string{
		`{"prompt": "the", "max_tokens": 20, "temperature": 1, "seed": 1}`,
		`{"prompt": "quick brown", "max_tokens": 20, "temperature": 0.7, "top_k": 3, "seed": 2}`,
		`{"prompt": "dog", "max_tokens": 20}`,
		`{"prompt": "lazy", "max_tokens": 20, "temperature": 1.2, "top_p": 0.8, "seed": 3}`,
	}
	want := make([]string, len(bodies))
	for i, b := range bodies {
		code, resp, raw := postGenerate(t, g, b)
		require.Equal(t, http.StatusOK, code, raw)
		want[i] = resp.Text
	}
	type result struct {
		i    int
		code int
		text string
	}
	out := make(chan result, 4*len(bodies))
	for range 4 {
		for i, b := range bodies {
			go func() {
				r := httptest.NewRequest(http.MethodPost, "/generate", strings.NewReader(b))
				w := httptest.NewRecorder()
				g.ServeHTTP(w, r)
				var resp GenerateResponse
				_ = json.Unmarshal(w.Body.Bytes(), &resp)
				out <- result{i, w.Code, resp.Text}
			}()
		}
	}
	for range 4 * len(bodies) {
		r := <-out
		require.Equal(t, http.StatusOK, r.code)
		require.Equal(t, want[r.i], r.text, bodies[r.i])
	}
}
