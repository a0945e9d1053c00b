package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

var mnistShape = []int{1, 28, 28}

// newMNISTHandler serves mnistMLP(1); it is shut down with the test.
func newMNISTHandler(t testing.TB, model nn.Module, cfg Config) *Handler {
	t.Helper()
	if cfg.InputShape == nil {
		cfg.InputShape = mnistShape
	}
	h, err := New(model, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}

// reference returns the probabilities the Handler should answer for the
// examples x: train.Predict's logits for x as one batch, each row's
// softmax taken alone. Like New, it lets the model keep its weights
// packed (nn.PackForInference), so both multiply the same way.
func reference(t testing.TB, model nn.Module, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	nn.PackForInference(model)
	logits, err := train.Predict(model, x, x.Dim(0))
	require.NoError(t, err)
	c := logits.Dim(1)
	p := tensor.Zeros(logits.Shape()...)
	for i := range logits.Dim(0) {
		row := tensor.Softmax(tensor.New(logits.Data()[i*c:(i+1)*c], 1, c), -1)
		copy(p.Data()[i*c:], row.Data())
	}
	return p
}

// requirePrediction checks one answer against row i of the reference
// probabilities, bit for bit.
func requirePrediction(t testing.TB, ref *tensor.Tensor, i int, got prediction) {
	t.Helper()
	row := ref.Data()[i*10 : (i+1)*10]
	requireBits(t, row, got.Probabilities, "example", i)
	label := 0
	for k, p := range row {
		if p > row[label] {
			label = k
		}
	}
	require.Equal(t, label, got.Label, "example %d", i)
}

func decodeOne(t testing.TB, w *httptest.ResponseRecorder) prediction {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var p prediction
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	return p
}

func decodeBatch(t testing.TB, w *httptest.ResponseRecorder) []prediction {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var b batchAnswer
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b))
	return b.Predictions
}

// TestPredictMatchesTrainPredict sends the same examples in every request
// form and checks each answer against train.PredictProba bit for bit,
// whether an example ran alone or in a batch.
func TestPredictMatchesTrainPredict(t *testing.T) {
	model := mnistMLP(1)
	x := images(5, 2)
	ref := reference(t, model, x)
	h := newMNISTHandler(t, model, Config{Classes: strings.Fields("zero one two three four five six seven eight nine")})
	for i := range 5 {
		row := x.Data()[i*784 : (i+1)*784]
		// flat
		p := decodeOne(t, postPredict(h, "application/json", []byte(`{"input": `+float32JSON(row)+`}`)))
		requirePrediction(t, ref, i, p)
		require.Equal(t, strings.Fields("zero one two three four five six seven eight nine")[p.Label], p.Class)
		// nested [1, 28, 28], no Content-Type
		var nested strings.Builder
		nested.WriteString(`{"input": [[`)
		for r := range 28 {
			if r > 0 {
				nested.WriteByte(',')
			}
			nested.WriteString(float32JSON(row[r*28 : (r+1)*28]))
		}
		nested.WriteString(`]]}`)
		requirePrediction(t, ref, i, decodeOne(t, postPredict(h, "", []byte(nested.String()))))
		// binary, one example
		got := decodeBatch(t, postPredict(h, "application/octet-stream", rawFloats(row)))
		require.Len(t, got, 1)
		requirePrediction(t, ref, i, got[0])
	}
	for _, w := range []*httptest.ResponseRecorder{
		postPredict(h, "application/json; charset=utf-8", []byte(rowsJSON(x))),
		postPredict(h, "application/octet-stream", rawFloats(x.Data())),
	} {
		got := decodeBatch(t, w)
		require.Len(t, got, 5)
		for i := range got {
			requirePrediction(t, ref, i, got[i])
		}
	}
}

// TestPredictOutputKinds checks OutputProbabilities (as is), OutputLogits
// and OutputAuto on a model ending in a softmax.
func TestPredictOutputKinds(t *testing.T) {
	nn.SetSeed(3)
	withSoftmax := nn.NewSequential(nn.NewDense(4, 3), nn.NewSoftmax())
	x := tensor.New([]float32{1, 2, 3, 4, -1, 0.5, 2, 0}, 2, 4)
	raw, err := train.Predict(withSoftmax, x, 2)
	require.NoError(t, err)
	body := []byte(`{"inputs": [[1, 2, 3, 4], [-1, 0.5, 2, 0]]}`)
	for _, tc := range []struct {
		out  Output
		want *tensor.Tensor
	}{
		{OutputAuto, raw},
		{OutputProbabilities, raw},
		{OutputLogits, tensor.Softmax(raw, -1)},
	} {
		h := newMNISTHandler(t, withSoftmax, Config{InputShape: []int{4}, Output: tc.out})
		got := decodeBatch(t, postPredict(h, "", body))
		requireBits(t, tc.want.Data(), append(got[0].Probabilities, got[1].Probabilities...), tc.out)
	}
}

// TestPredictErrors checks each refusal's status and message through the
// Handler.
func TestPredictErrors(t *testing.T) {
	h := newMNISTHandler(t, mnistMLP(1), Config{MaxExamples: 2, MaxBodyBytes: 64 << 10})
	big := strings.Repeat(" ", 64<<10) + `{"input": [1]}`
	for _, tc := range []struct {
		name, method, ct, body string
		status                 int
		msg                    string
	}{
		{"GET", http.MethodGet, "", "", 405, "use POST for /predict, not GET"},
		{"content type", http.MethodPost, "text/plain", "1", 415, `Content-Type "text/plain" is not application/json or application/octet-stream`},
		{"empty", http.MethodPost, "application/json", "", 400, `empty body: want {"input": [...]} or {"inputs": [[...], ...]}`},
		{"bad JSON", http.MethodPost, "application/json", `{"input": [1,`, 400, "invalid JSON: unexpected end of body inside an array"},
		{"wrong length", http.MethodPost, "application/json", `{"input": [1, 2, 3]}`, 400, `"input" has shape [3]; want [1 28 28] or [784]`},
		{"binary length", http.MethodPost, "application/octet-stream", "abcdefgh", 400, "binary body has 8 bytes, not a multiple of 3136 (784 float32 values of 4 bytes per example)"},
		{"binary empty", http.MethodPost, "application/octet-stream", "", 400, "empty body: want N×784 little-endian float32 values"},
		{"too many examples", http.MethodPost, "application/octet-stream", string(make([]byte, 3*3136)), 413, "3 examples in one request; at most 2"},
		{"body too big", http.MethodPost, "application/json", big, 413, "body larger than 65536 bytes"},
		// A body of unknown length (chunked) is bounded as it is read.
		{"body too big, no length", http.MethodPost, "application/json", big, 413, "body larger than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/predict", strings.NewReader(tc.body))
			if strings.HasSuffix(tc.name, "no length") {
				r.ContentLength = -1
			}
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, tc.status, w.Code)
			require.Equal(t, "application/json", w.Header().Get("Content-Type"))
			var e errorBody
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
			require.Equal(t, tc.msg, e.Error)
		})
	}
	// The NaN of the binary form.
	row := make([]float32, 784)
	row[5] = float32(nanValue())
	w := postPredict(h, "application/octet-stream", rawFloats(row))
	require.Equal(t, 400, w.Code)
	require.JSONEq(t, `{"error": "non-finite value NaN at example 0, index 5"}`, w.Body.String())
	// Every refusal was counted under its code.
	m := scrape(t, h)
	require.Contains(t, m, `shoshin_serve_requests_total{code="400"} 6`)
	require.Contains(t, m, `shoshin_serve_requests_total{code="413"} 3`)
	require.Contains(t, m, `shoshin_serve_requests_total{code="405"} 1`)
	require.Contains(t, m, `shoshin_serve_requests_total{code="415"} 1`)
	require.Contains(t, m, `shoshin_serve_requests_total{code="200"} 0`)
}

func nanValue() float64 { var z float64; return z / z }

// TestErrorMessagesBounded checks that an error message quoting the
// client's input stays short.
func TestErrorMessagesBounded(t *testing.T) {
	h := newMNISTHandler(t, mnistMLP(1), Config{})
	w := postPredict(h, "application/json", []byte(`{"`+strings.Repeat("x", 100000)+`": 1}`))
	require.Equal(t, 400, w.Code)
	require.Less(t, w.Body.Len(), 200)
	cut := truncate(strings.Repeat("é", 1000), 512) // the cut keeps whole runes
	require.LessOrEqual(t, len(cut), 512)
	require.True(t, utf8.ValidString(cut))
	require.True(t, strings.HasSuffix(cut, "é..."))
}

func TestRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newMNISTHandler(t, mnistMLP(1), Config{Registry: reg})
	require.Same(t, reg, h.Registry())
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	require.Equal(t, 200, get("/healthz").Code)
	require.Equal(t, 200, get("/readyz").Code)
	nf := get("/nope")
	require.Equal(t, 404, nf.Code)
	require.Contains(t, nf.Body.String(), `no such path \"/nope\"`)
	m := get("/metrics")
	require.Equal(t, 200, m.Code)
	for _, name := range []string{"shoshin_serve_requests_total", "shoshin_serve_request_duration_seconds_bucket", "shoshin_serve_batch_size_bucket", "shoshin_serve_queue_depth 0", "shoshin_serve_batches_running 0"} {
		require.Contains(t, m.Body.String(), name)
	}
	// The metrics are in the caller's registry.
	fams, err := reg.Gather()
	require.NoError(t, err)
	require.NotEmpty(t, fams)
	// A second Handler on the same registry is an error, not a panic.
	_, err = New(mnistMLP(1), Config{InputShape: mnistShape, Registry: reg})
	require.ErrorContains(t, err, "serve: registering metrics")
	require.NoError(t, h.Shutdown(context.Background()))
	require.Equal(t, 503, get("/readyz").Code)
	require.Equal(t, 200, get("/healthz").Code)
	w := postPredict(h, "application/octet-stream", rawFloats(make([]float32, 784)))
	require.Equal(t, 503, w.Code)
	require.JSONEq(t, `{"error": "the server is shutting down"}`, w.Body.String())
	require.Equal(t, "1", w.Header().Get("Retry-After"))
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		msg  string
	}{
		{"no shape", Config{}, "serve: Config.InputShape is empty"},
		{"bad dim", Config{InputShape: []int{0, 28}}, "every dimension must be positive"},
		{"wrong shape", Config{InputShape: []int{3, 28, 28}}, "serve: warm-up: the model failed on input [2 3 28 28]"},
		{"classes", Config{InputShape: mnistShape, Classes: []string{"a", "b"}}, "serve: Config.Classes has 2 names but the model has 10 outputs"},
		{"negative", Config{InputShape: mnistShape, MaxBatch: -1}, "serve: Config.MaxBatch is -1"},
		{"output", Config{InputShape: mnistShape, Output: 7}, "serve: Config.Output Output(7) is not one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(mnistMLP(1), tc.cfg)
			require.ErrorContains(t, err, tc.msg)
		})
	}
	_, err := New(nil, Config{InputShape: mnistShape})
	require.EqualError(t, err, "serve: New: the model is nil")
}

// scrape returns h's /metrics text.
func scrape(t testing.TB, h http.Handler) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, 200, w.Code)
	return w.Body.String()
}

// gated wraps a model so that, once armed, each Forward reports its batch
// size on entered and waits for a value on release.
type gated struct {
	nn.Module
	armed   atomic.Bool
	entered chan int
	release chan struct{}
	stop    chan struct{} // closed when the test ends, to free the workers
	once    sync.Once
}

// newGated returns m gated; when the test ends, the gate opens before the
// Handler's cleanup shuts it down.
func newGated(t testing.TB, m nn.Module) *gated {
	g := &gated{Module: m, entered: make(chan int), release: make(chan struct{}), stop: make(chan struct{})}
	return g
}

// open frees the workers for good; register it with t.Cleanup after the
// Handler's.
func (g *gated) open() { g.once.Do(func() { close(g.stop) }) }

func (g *gated) Forward(x *autograd.Var) *autograd.Var {
	if g.armed.Load() {
		select {
		case g.entered <- x.Value().Dim(0):
		case <-g.stop:
		}
		select {
		case <-g.release:
		case <-g.stop:
		}
	}
	return g.Module.Forward(x)
}

// waitFor waits until cond holds: a settled state, not a time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang, not a slow machine
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never reached: %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// answer is a /predict answer recorded by a goroutine.
type answer struct {
	i int
	w *httptest.ResponseRecorder
}

// send posts example i of x from a goroutine with ctx and delivers the
// answer on out.
func send(h http.Handler, ctx context.Context, x *tensor.Tensor, i int, out chan<- answer) {
	go func() {
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/predict", strings.NewReader(string(rawFloats(x.Data()[i*784:(i+1)*784]))))
		r.Header.Set("Content-Type", "application/octet-stream")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		out <- answer{i, w}
	}()
}

// TestMicroBatching holds the only worker inside the model while eight
// requests queue up, then checks that they ran as one batch of eight and
// that each got its own answer.
func TestMicroBatching(t *testing.T) {
	model := mnistMLP(1)
	g := newGated(t, model)
	h := newMNISTHandler(t, g, Config{MaxConcurrent: 1, MaxBatch: 64})
	t.Cleanup(g.open)
	g.armed.Store(true)
	x := images(9, 4)
	ref := reference(t, model, x)
	answers := make(chan answer, 9)
	send(h, context.Background(), x, 0, answers)
	require.Equal(t, 2, <-g.entered) // one example runs as two rows
	for i := 1; i < 9; i++ {
		send(h, context.Background(), x, i, answers)
	}
	waitFor(t, "eight queued requests", func() bool { return h.batcher.pending.Load() == 8 })
	require.Contains(t, scrape(t, h), "shoshin_serve_queue_depth 8")
	g.release <- struct{}{}
	require.Equal(t, 8, <-g.entered)
	g.release <- struct{}{}
	for range 9 {
		a := <-answers
		got := decodeBatch(t, a.w)
		require.Len(t, got, 1)
		requirePrediction(t, ref, a.i, got[0])
	}
	m := scrape(t, h)
	require.Contains(t, m, "shoshin_serve_batch_size_count 2")
	require.Contains(t, m, "shoshin_serve_batch_size_sum 9")
	require.Contains(t, m, `shoshin_serve_batch_size_bucket{le="4"} 1`)
	require.Contains(t, m, `shoshin_serve_batch_size_bucket{le="8"} 2`)
	require.Contains(t, m, `shoshin_serve_requests_total{code="200"} 9`)
}

// TestMaxBatchSplits checks that a batch stops at MaxBatch examples.
func TestMaxBatchSplits(t *testing.T) {
	model := mnistMLP(1)
	g := newGated(t, model)
	h := newMNISTHandler(t, g, Config{MaxConcurrent: 1, MaxBatch: 3})
	t.Cleanup(g.open)
	g.armed.Store(true)
	x := images(6, 5)
	answers := make(chan answer, 6)
	send(h, context.Background(), x, 0, answers)
	require.Equal(t, 2, <-g.entered)
	for i := 1; i < 6; i++ {
		send(h, context.Background(), x, i, answers)
	}
	waitFor(t, "five queued requests", func() bool { return h.batcher.pending.Load() == 5 })
	g.release <- struct{}{}
	require.Equal(t, 3, <-g.entered)
	g.release <- struct{}{}
	require.Equal(t, 2, <-g.entered)
	g.release <- struct{}{}
	ref := reference(t, model, x)
	for range 6 {
		a := <-answers
		requirePrediction(t, ref, a.i, decodeBatch(t, a.w)[0])
	}
}

// TestCancelledRequestDropped cancels one of two queued requests: it gets
// 503 at once, and the batch that runs afterwards holds only the other.
func TestCancelledRequestDropped(t *testing.T) {
	model := mnistMLP(1)
	g := newGated(t, model)
	h := newMNISTHandler(t, g, Config{MaxConcurrent: 1})
	t.Cleanup(g.open)
	g.armed.Store(true)
	x := images(3, 6)
	ref := reference(t, model, x)
	answers := make(chan answer, 3)
	send(h, context.Background(), x, 0, answers)
	require.Equal(t, 2, <-g.entered)
	ctx, cancel := context.WithCancel(context.Background())
	send(h, ctx, x, 1, answers)
	send(h, context.Background(), x, 2, answers)
	waitFor(t, "two queued requests", func() bool { return h.batcher.pending.Load() == 2 })
	cancel()
	a := <-answers
	require.Equal(t, 1, a.i)
	require.Equal(t, 503, a.w.Code)
	require.JSONEq(t, `{"error": "request cancelled before the model ran"}`, a.w.Body.String())
	g.release <- struct{}{}
	require.Equal(t, 2, <-g.entered) // example 2 alone, as two rows
	g.release <- struct{}{}
	for range 2 {
		a := <-answers
		requirePrediction(t, ref, a.i, decodeBatch(t, a.w)[0])
	}
	require.Contains(t, scrape(t, h), "shoshin_serve_examples_total 2")
}

// TestTimeout checks Config.Timeout: a request whose deadline passes gets
// 503 and its answer is never sent, and a request still queued when it
// expires never runs.
func TestTimeout(t *testing.T) {
	g := newGated(t, mnistMLP(1))
	h := newMNISTHandler(t, g, Config{MaxConcurrent: 1, Timeout: time.Millisecond})
	t.Cleanup(g.open)
	g.armed.Store(true)
	x := images(2, 7)
	answers := make(chan answer, 2)
	// Normally the model takes the first request and holds it past its
	// deadline, so it gets 503 too: the model's answer comes too late. On a
	// slow machine its millisecond may pass before the model takes it; then
	// it never runs at all. Either way both requests get 503.
	send(h, context.Background(), x, 0, answers)
	var got []answer
	held := false
	select {
	case n := <-g.entered:
		require.Equal(t, 2, n)
		held = true
	case a := <-answers:
		got = append(got, a)
	}
	send(h, context.Background(), x, 1, answers)
	for len(got) < 2 {
		got = append(got, <-answers)
	}
	for _, a := range got {
		require.Equal(t, 503, a.w.Code)
		require.JSONEq(t, `{"error": "request timed out before the model ran"}`, a.w.Body.String())
	}
	if held {
		// The second request expired in the queue behind the held one: only
		// the first ever reaches the model.
		g.release <- struct{}{}
		require.NoError(t, h.Close())
		require.Contains(t, scrape(t, h), "shoshin_serve_examples_total 1")
		return
	}
	g.open()
	require.NoError(t, h.Close())
}

// TestQueueFull fills the queue and checks that the next request fails at
// once with 503, and that MaxInFlight refuses before reading.
func TestQueueFull(t *testing.T) {
	model := mnistMLP(1)
	g := newGated(t, model)
	h := newMNISTHandler(t, g, Config{MaxConcurrent: 1, MaxBatch: 1, MaxQueue: 2, MaxInFlight: 5})
	t.Cleanup(g.open)
	g.armed.Store(true)
	x := images(6, 8)
	answers := make(chan answer, 6)
	send(h, context.Background(), x, 0, answers)
	require.Equal(t, 2, <-g.entered)
	// The collector takes request 1 and waits for the worker with it;
	// requests 2 and 3 fill the queue.
	send(h, context.Background(), x, 1, answers)
	waitFor(t, "the collector holds request 1", func() bool { return h.batcher.pending.Load() == 1 && len(h.batcher.queue) == 0 })
	send(h, context.Background(), x, 2, answers)
	send(h, context.Background(), x, 3, answers)
	waitFor(t, "a full queue", func() bool { return len(h.batcher.queue) == 2 })
	send(h, context.Background(), x, 4, answers)
	a := <-answers
	require.Equal(t, 4, a.i)
	require.Equal(t, 503, a.w.Code)
	require.JSONEq(t, `{"error": "the queue is full; try again later"}`, a.w.Body.String())
	ref := reference(t, model, x)
	for k := range 4 {
		g.release <- struct{}{}
		if k < 3 {
			require.Equal(t, 2, <-g.entered)
		}
	}
	for range 4 {
		a := <-answers
		requirePrediction(t, ref, a.i, decodeBatch(t, a.w)[0])
	}
}

// TestMaxInFlight checks that a request past MaxInFlight is refused
// before its body is read.
func TestMaxInFlight(t *testing.T) {
	g := newGated(t, mnistMLP(1))
	h := newMNISTHandler(t, g, Config{MaxInFlight: 1})
	t.Cleanup(g.open)
	g.armed.Store(true)
	x := images(2, 8)
	answers := make(chan answer, 2)
	send(h, context.Background(), x, 0, answers)
	require.Equal(t, 2, <-g.entered)
	send(h, context.Background(), x, 1, answers)
	a := <-answers
	require.Equal(t, 1, a.i)
	require.Equal(t, 503, a.w.Code)
	require.JSONEq(t, `{"error": "server busy: 1 requests in progress; try again later"}`, a.w.Body.String())
	g.release <- struct{}{}
	require.Equal(t, 200, (<-answers).w.Code)
}

// TestShutdownDrains shuts down while requests are queued behind a busy
// model: each queued request still gets its answer, later ones get 503,
// and Shutdown returns once all ran.
func TestShutdownDrains(t *testing.T) {
	model := mnistMLP(1)
	g := newGated(t, model)
	// Batches of one: the collector holds request 1, the queue 2 and 3.
	h := newMNISTHandler(t, g, Config{MaxConcurrent: 1, MaxBatch: 1})
	t.Cleanup(g.open)
	g.armed.Store(true)
	x := images(5, 9)
	ref := reference(t, model, x)
	answers := make(chan answer, 5)
	send(h, context.Background(), x, 0, answers)
	require.Equal(t, 2, <-g.entered)
	send(h, context.Background(), x, 1, answers)
	waitFor(t, "the collector holds request 1", func() bool { return h.batcher.pending.Load() == 1 && len(h.batcher.queue) == 0 })
	send(h, context.Background(), x, 2, answers)
	send(h, context.Background(), x, 3, answers)
	waitFor(t, "two more queued", func() bool { return len(h.batcher.queue) == 2 })
	shut := make(chan error)
	go func() { shut <- h.Shutdown(context.Background()) }()
	waitFor(t, "shutting down", func() bool { return h.closing.Load() })
	send(h, context.Background(), x, 4, answers)
	a := <-answers
	require.Equal(t, 4, a.i)
	require.Equal(t, 503, a.w.Code)
	// A Shutdown whose context ends returns its error; the drain goes on.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, h.Shutdown(ctx), context.Canceled)
	for k := range 4 {
		g.release <- struct{}{}
		if k < 3 {
			require.Equal(t, 2, <-g.entered, "batch %d after the shutdown began", k+1)
		}
	}
	require.NoError(t, <-shut)
	for range 4 {
		a := <-answers
		requirePrediction(t, ref, a.i, decodeBatch(t, a.w)[0])
	}
}

// TestModelPanicIs500 checks that a model failing on a batch answers 500
// for the requests in it and goes on serving.
func TestModelPanicIs500(t *testing.T) {
	f := &flaky{Module: mnistMLP(1)}
	h := newMNISTHandler(t, f, Config{})
	f.fail.Store(true)
	w := postPredict(h, "application/octet-stream", rawFloats(make([]float32, 784)))
	require.Equal(t, 500, w.Code)
	require.JSONEq(t, `{"error": "the model failed on input [2 1 28 28]: out of ideas"}`, w.Body.String())
	f.fail.Store(false)
	require.Equal(t, 200, postPredict(h, "application/octet-stream", rawFloats(make([]float32, 784))).Code)
}

type flaky struct {
	nn.Module
	fail atomic.Bool
}

func (f *flaky) Forward(x *autograd.Var) *autograd.Var {
	if f.fail.Load() {
		panic("out of ideas")
	}
	return f.Module.Forward(x)
}

// TestShutdownUnderLoad runs a real server with many keep-alive clients
// and shuts it down in the middle: every answer is a 200 with the right
// probabilities or a clean 503, transport errors come only once the
// server stopped accepting, and the server counted as many 200s as the
// clients received.
func TestShutdownUnderLoad(t *testing.T) {
	t.Run("handler first", func(t *testing.T) { shutdownUnderLoad(t, true) })
	t.Run("server first", func(t *testing.T) { shutdownUnderLoad(t, false) })
}

// shutdownUnderLoad shuts down the Handler and then the server, or the
// other way round. Handler first, every client ends with a clean 503;
// server first, clients find the server gone (http.Server.Shutdown closes
// idle keep-alive connections) but no answer is lost.
func shutdownUnderLoad(t *testing.T, handlerFirst bool) {
	model := mnistMLP(1)
	x := images(32, 10)
	ref := reference(t, model, x)
	h, err := New(model, Config{InputShape: mnistShape, MaxBatch: 16})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(h)
	srv.Start()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	var ok200, ok503, stopped atomic.Int64
	var serverDown atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	const clients = 24
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				i := (c + k) % 32
				var resp *http.Response
				var err error
				if k%2 == 0 {
					resp, err = client.Post(srv.URL+"/predict", "application/octet-stream", strings.NewReader(string(rawFloats(x.Data()[i*784:(i+1)*784]))))
				} else {
					resp, err = client.Post(srv.URL+"/predict", "application/json", strings.NewReader(`{"input":`+float32JSON(x.Data()[i*784:(i+1)*784])+`}`))
				}
				if err != nil {
					if !serverDown.Load() {
						errs <- fmt.Errorf("client %d: %v before shutdown", c, err)
					}
					stopped.Add(1)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					errs <- fmt.Errorf("client %d: reading: %v", c, err)
					return
				}
				switch resp.StatusCode {
				case 200:
					var p prediction
					var b batchAnswer
					if k%2 == 1 {
						err = json.Unmarshal(body, &p)
					} else if err = json.Unmarshal(body, &b); err == nil && len(b.Predictions) == 1 {
						p = b.Predictions[0]
					}
					if err != nil {
						errs <- fmt.Errorf("client %d: bad answer %s", c, body)
						return
					}
					for k, v := range ref.Data()[i*10 : (i+1)*10] {
						if len(p.Probabilities) != 10 || p.Probabilities[k] != v {
							errs <- fmt.Errorf("client %d: example %d: got %v, want %v", c, i, p.Probabilities, ref.Data()[i*10:(i+1)*10])
							return
						}
					}
					ok200.Add(1)
				case 503:
					ok503.Add(1)
					if !strings.Contains(string(body), "shutting down") {
						errs <- fmt.Errorf("client %d: 503 %s", c, body)
					}
					return
				default:
					errs <- fmt.Errorf("client %d: status %d: %s", c, resp.StatusCode, body)
					return
				}
			}
		}()
	}
	waitFor(t, "100 answers", func() bool { return ok200.Load() >= 100 || len(errs) > 0 })
	if handlerFirst {
		require.NoError(t, h.Shutdown(context.Background()))
		waitFor(t, "a 503 for every client", func() bool { return ok503.Load() == clients || len(errs) > 0 })
		serverDown.Store(true)
		require.NoError(t, srv.Config.Shutdown(context.Background()))
	} else {
		serverDown.Store(true)
		require.NoError(t, srv.Config.Shutdown(context.Background()))
		require.NoError(t, h.Shutdown(context.Background()))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.Equal(t, int64(clients), ok503.Load()+stopped.Load())
	require.Contains(t, scrape(t, h), fmt.Sprintf(`shoshin_serve_requests_total{code="200"} %d`, ok200.Load()))
	t.Logf("%d answers, %d clients got 503, %d found the server gone", ok200.Load(), ok503.Load(), stopped.Load())
	srv.Close()
}

// TestMaxDelayWaitsForAFullBatch sets a delay far longer than the test:
// the first request waits in its batch until three more fill it, and the
// four run as one batch of MaxBatch.
func TestMaxDelayWaitsForAFullBatch(t *testing.T) {
	model := mnistMLP(1)
	g := newGated(t, model)
	h := newMNISTHandler(t, g, Config{MaxBatch: 4, MaxDelay: time.Hour})
	t.Cleanup(g.open)
	g.armed.Store(true)
	x := images(4, 12)
	ref := reference(t, model, x)
	answers := make(chan answer, 4)
	for i := range 4 {
		send(h, context.Background(), x, i, answers)
	}
	require.Equal(t, 4, <-g.entered)
	g.release <- struct{}{}
	for range 4 {
		a := <-answers
		requirePrediction(t, ref, a.i, decodeBatch(t, a.w)[0])
	}
}

// headerWriter is a ResponseWriter that keeps its header map and body
// across requests, so that counting allocations counts the Handler's.
type headerWriter struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (w *headerWriter) Header() http.Header { return w.h }
func (w *headerWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *headerWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// TestPredictAllocs counts the allocations of a binary one-example
// /predict answered through a warm Handler: its buffers, the job, the
// batch, the model's input tensor and the probability views are reused
// across requests, so none is left but the header value net/http asks
// for (a map entry the writer already holds here).
func TestPredictAllocs(t *testing.T) {
	model := mnistMLP(1)
	x := images(2, 3) // the reference runs at least two rows, as the Handler does
	ref := reference(t, model, x)
	h := newMNISTHandler(t, model, Config{MaxBatch: 64})
	body := rawFloats(x.Data()[:784])
	rd := bytes.NewReader(body)
	r := httptest.NewRequest(http.MethodPost, "/predict", rd)
	r.Header.Set("Content-Type", "application/octet-stream")
	w := &headerWriter{h: http.Header{}}
	serve := func() {
		rd.Reset(body)
		r.Body = io.NopCloser(rd)
		w.code = 0
		w.body.Reset()
		h.ServeHTTP(w, r)
	}
	for range 10 { // warm the pools and buffers
		serve()
	}
	require.Equal(t, http.StatusOK, w.code, w.body.String())
	var got batchAnswer
	require.NoError(t, json.Unmarshal(w.body.Bytes(), &got))
	require.Len(t, got.Predictions, 1)
	requirePrediction(t, ref, 0, got.Predictions[0])
	if raceEnabled {
		return // the answer is checked; the count is not meaningful
	}
	allocs := testalloc.PerRun(200, serve)
	t.Logf("%.2f allocations per request", allocs)
	require.LessOrEqual(t, allocs, 1.0, "allocations per request")
}
