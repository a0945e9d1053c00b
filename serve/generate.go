package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/train"
)

// GeneratorConfig sets the limits of a Generator. The zero value of each
// field takes the default documented on it.
type GeneratorConfig struct {
	// MaxTokens is the most tokens one request may ask for (default 256);
	// a request that gives no max_tokens gets this many.
	MaxTokens int
	// MaxPromptTokens is the longest prompt accepted, in tokens (default
	// 4096). Longer prompts get 413. A GPT sees at most its block size of
	// them: generation starts from the prompt's last positions.
	MaxPromptTokens int
	// MaxBodyBytes is the largest request body accepted (default: 16
	// bytes per prompt token plus 4 KiB).
	MaxBodyBytes int64
	// MaxConcurrent is the most generations run at once (default
	// GOMAXPROCS). Further requests wait for a slot until their deadline.
	MaxConcurrent int
	// MaxQueue is the most requests waiting for a slot (default 64); a
	// request that finds the queue full fails at once with 503.
	MaxQueue int
	// Timeout bounds each request (default 0: only the request's own
	// context). When it passes during generation, generation stops before
	// the next token and the answer carries the text so far with
	// finish_reason "timeout".
	Timeout time.Duration
	// Registry receives the Generator's metrics; nil means a fresh one
	// (see Generator.Registry), never the global default.
	Registry *prometheus.Registry
}

func (c GeneratorConfig) withDefaults() (GeneratorConfig, error) {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxTokens", &c.MaxTokens, 256},
		{"MaxPromptTokens", &c.MaxPromptTokens, 4096},
		{"MaxConcurrent", &c.MaxConcurrent, runtime.GOMAXPROCS(0)},
		{"MaxQueue", &c.MaxQueue, 64},
	} {
		if *f.v < 0 {
			return c, fmt.Errorf("serve: GeneratorConfig.%s is %d; want 0 (default) or more", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.MaxBodyBytes < 0 || c.Timeout < 0 {
		return c, fmt.Errorf("serve: GeneratorConfig limits must not be negative (MaxBodyBytes %d, Timeout %v)", c.MaxBodyBytes, c.Timeout)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = int64(c.MaxPromptTokens)*16 + 4096
	}
	return c, nil
}

// Generator serves a language model's text generation over HTTP. Its
// routes:
//
//	POST /generate  continue a prompt (JSON in, JSON out)
//	GET  /healthz   200 while the process serves
//	GET  /readyz    200 once the model is warm, 503 after Shutdown began
//	GET  /metrics   the Generator's metrics in the Prometheus text format
//
// A request is a JSON object:
//
//	{"prompt": "To be", "max_tokens": 100, "temperature": 0.8,
//	 "top_k": 40, "top_p": 0.95, "seed": 7}
//
// Only prompt is required. max_tokens defaults to (and may not exceed)
// GeneratorConfig.MaxTokens; temperature 0 (the default) decodes greedily;
// top_k and top_p restrict sampling as in train.GenerateConfig; seed makes
// a sampled answer reproducible (without one the Generator draws a seed
// and returns it). The answer:
//
//	{"text": " or not", "tokens": 7, "prompt_tokens": 5,
//	 "finish_reason": "length", "seed": 7}
//
// finish_reason is "length" when max_tokens were generated and "timeout"
// when GeneratorConfig.Timeout passed first (text then holds what was
// generated so far). Errors are {"error": "..."} with 400 for a malformed
// request (unknown fields, an empty prompt, values out of range), 405, 413
// for a body or prompt over the limits, 415 for a Content-Type other than
// JSON, and 503 when the queue is full, the request's own context ended
// before its answer, or the Generator is shutting down. A client that goes
// away stops its generation before the next token.
//
// Each request decodes on its own decoder (nn.IncrementalLM), so requests
// share the read-only model and run in parallel up to MaxConcurrent.
type Generator struct {
	model    nn.Module
	tok      text.Tokenizer
	cfg      GeneratorConfig
	reg      *prometheus.Registry
	metrics  *genMetrics
	mh       http.Handler
	slots    chan struct{}
	waiting  atomic.Int64
	closing  atomic.Bool
	wg       sync.WaitGroup
	closeMu  sync.Mutex // orders wg.Add against Shutdown's Wait
	seedMu   sync.Mutex
	seedRand *rand.Rand
}

// NewGenerator returns a Generator for model, a language model mapping
// ids [B, T] to logits [B, T, vocab] (an nn.IncrementalLM such as nn.GPT,
// nn.RNNLM or their nn/quant versions decodes incrementally), with the
// tokenizer it was trained with. It generates one token from a one-token
// prompt to check that the model and tokenizer fit (the warm-up) and
// returns an error saying what is wrong otherwise.
func NewGenerator(model nn.Module, tok text.Tokenizer, cfg GeneratorConfig) (*Generator, error) {
	if model == nil || tok == nil {
		return nil, errors.New("serve: NewGenerator: the model and the tokenizer are required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := train.Generate(context.Background(), model, []int{0}, train.GenerateConfig{MaxTokens: 1}); err != nil {
		return nil, fmt.Errorf("serve: warm-up: %w", err)
	}
	g := &Generator{model: model, tok: tok, cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent),
		seedRand: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed))}
	g.reg = cfg.Registry
	if g.reg == nil {
		g.reg = prometheus.NewRegistry()
	}
	if g.metrics, err = newGenMetrics(g.reg, func() float64 { return float64(g.waiting.Load()) }); err != nil {
		return nil, fmt.Errorf("serve: registering metrics: %w", err)
	}
	g.mh = promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{})
	return g, nil
}

// Registry returns the registry that holds the Generator's metrics.
func (g *Generator) Registry() *prometheus.Registry { return g.reg }

// Shutdown stops taking requests (new ones get 503, /readyz turns 503) and
// waits until the generations in progress are answered or ctx ends.
func (g *Generator) Shutdown(ctx context.Context) error {
	g.closeMu.Lock()
	g.closing.Store(true)
	g.closeMu.Unlock()
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP routes a request to /generate, /healthz, /readyz or /metrics.
func (g *Generator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/generate":
		start := time.Now()
		code := g.generate(w, r)
		g.metrics.count(code)
		g.metrics.latency.Observe(time.Since(start).Seconds())
	default:
		serveCommon(w, r, g.closing.Load(), g.mh, "/generate")
	}
}

// GenerateRequest is the body of POST /generate.
type GenerateRequest struct {
	Prompt      string  `json:"prompt"`
	MaxTokens   int     `json:"max_tokens,omitempty"`
	Temperature float64 `json:"temperature,omitempty"`
	TopK        int     `json:"top_k,omitempty"`
	TopP        float64 `json:"top_p,omitempty"`
	Seed        *uint64 `json:"seed,omitempty"`
}

// GenerateResponse is the answer of POST /generate.
type GenerateResponse struct {
	Text         string `json:"text"`
	Tokens       int    `json:"tokens"`
	PromptTokens int    `json:"prompt_tokens"`
	FinishReason string `json:"finish_reason"`
	Seed         uint64 `json:"seed"`
}

// maxTemperature bounds the temperature a request may ask for.
const maxTemperature = 100

// check validates a decoded request against the limits.
func (g *Generator) check(req *GenerateRequest) *requestError {
	switch {
	case req.Prompt == "":
		return badRequest("prompt is empty; give at least one character to continue")
	case req.MaxTokens < 0 || req.MaxTokens > g.cfg.MaxTokens:
		return badRequest("max_tokens is %d; want 1 to %d (or leave it out for %d)", req.MaxTokens, g.cfg.MaxTokens, g.cfg.MaxTokens)
	case !(req.Temperature >= 0 && req.Temperature <= maxTemperature):
		return badRequest("temperature is %v; want 0 (greedy) to %d", req.Temperature, maxTemperature)
	case req.TopK < 0:
		return badRequest("top_k is %d; want 0 (off) or more", req.TopK)
	case !(req.TopP >= 0 && req.TopP <= 1):
		return badRequest("top_p is %v; want a probability in [0, 1]", req.TopP)
	}
	return nil
}

// generate answers POST /generate and returns the status sent.
func (g *Generator) generate(w http.ResponseWriter, r *http.Request) int {
	fail := func(code int, msg string) int {
		writeError(w, code, msg)
		return code
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return fail(http.StatusMethodNotAllowed, "use POST for /generate, not "+truncate(r.Method, 16))
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return fail(http.StatusUnsupportedMediaType, "Content-Type "+strconv.Quote(truncate(ct, 64))+" is not application/json")
		}
	}
	g.closeMu.Lock()
	if g.closing.Load() {
		g.closeMu.Unlock()
		return fail(http.StatusServiceUnavailable, errClosed.Error())
	}
	g.wg.Add(1)
	g.closeMu.Unlock()
	defer g.wg.Done()

	body, err := readBody(w, r, nil, g.cfg.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", g.cfg.MaxBodyBytes))
		}
		return fail(http.StatusBadRequest, "reading the body: "+err.Error())
	}
	var req GenerateRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fail(http.StatusBadRequest, "body is not a generation request: "+err.Error()+`; want {"prompt": "...", "max_tokens": N, "temperature": T, "top_k": K, "top_p": P, "seed": S}`)
	}
	if dec.More() {
		return fail(http.StatusBadRequest, "data after the JSON object")
	}
	if rerr := g.check(&req); rerr != nil {
		return fail(rerr.status, rerr.msg)
	}
	prompt := g.tok.Encode(req.Prompt)
	if len(prompt) > g.cfg.MaxPromptTokens {
		return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("prompt is %d tokens, more than %d", len(prompt), g.cfg.MaxPromptTokens))
	}
	if len(prompt) == 0 {
		return fail(http.StatusBadRequest, "prompt encodes to no tokens")
	}
	if req.MaxTokens == 0 {
		req.MaxTokens = g.cfg.MaxTokens
	}
	var seed uint64
	if req.Seed != nil {
		seed = *req.Seed
	} else {
		g.seedMu.Lock()
		seed = g.seedRand.Uint64()
		g.seedMu.Unlock()
	}

	ctx := r.Context()
	if g.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.cfg.Timeout)
		defer cancel()
	}
	// Wait for a slot, failing fast when the queue is full.
	if g.waiting.Add(1) > int64(g.cfg.MaxQueue) {
		g.waiting.Add(-1)
		return fail(http.StatusServiceUnavailable, fmt.Sprintf("server busy: %d requests waiting; try again later", g.cfg.MaxQueue))
	}
	select {
	case g.slots <- struct{}{}:
		g.waiting.Add(-1)
	case <-ctx.Done():
		g.waiting.Add(-1)
		return fail(http.StatusServiceUnavailable, "request "+ctxReason(ctx.Err())+" waiting for the model")
	}
	ids, err := train.Generate(ctx, g.model, prompt, train.GenerateConfig{
		MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopK: req.TopK, TopP: req.TopP,
		Rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	})
	<-g.slots
	g.metrics.tokens.Add(float64(len(ids)))
	finish := "length"
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		if r.Context().Err() != nil {
			// The client went away (or its own deadline passed): nobody
			// reads an answer.
			return fail(http.StatusServiceUnavailable, "request "+ctxReason(r.Context().Err())+" during generation")
		}
		finish = "timeout"
	default:
		return fail(http.StatusInternalServerError, err.Error())
	}
	resp, _ := json.Marshal(GenerateResponse{Text: g.tok.Decode(ids), Tokens: len(ids), PromptTokens: len(prompt), FinishReason: finish, Seed: seed})
	resp = append(resp, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(http.StatusOK)
	w.Write(resp)
	return http.StatusOK
}

// genMetrics are the Generator's Prometheus metrics.
type genMetrics struct {
	requests *prometheus.CounterVec
	latency  prometheus.Histogram
	tokens   prometheus.Counter
}

func newGenMetrics(reg *prometheus.Registry, waiting func() float64) (*genMetrics, error) {
	m := &genMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoshin_generate_requests_total",
			Help: "Generation requests answered, by HTTP status code.",
		}, []string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shoshin_generate_request_duration_seconds",
			Help:    "Time from a generation request's arrival to its answer.",
			Buckets: prometheus.ExponentialBuckets(1e-3, 2, 16), // 1 ms to 33 s
		}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shoshin_generated_tokens_total",
			Help: "Tokens generated.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.tokens,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shoshin_generate_queue_depth",
			Help: "Generation requests waiting for a slot.",
		}, waiting),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *genMetrics) count(code int) { m.requests.WithLabelValues(strconv.Itoa(code)).Inc() }
