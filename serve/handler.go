package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Handler serves a model over HTTP. Its routes:
//
//	POST /predict  run the model on one example or a batch (JSON or binary)
//	GET  /healthz  200 while the process serves
//	GET  /readyz   200 once the model is warm, 503 after Shutdown began
//	GET  /metrics  the Handler's metrics in the Prometheus text format
//
// Mount it under a prefix with http.StripPrefix. A Handler is safe for
// concurrent use; call Shutdown (or Close) when done with it.
type Handler struct {
	model             nn.Module
	cfg               Config
	features, outputs int
	post              post
	batcher           *batcher
	metrics           *metrics
	reg               *prometheus.Registry
	metricsHandler    http.Handler
	inFlight          atomic.Int64
	closing           atomic.Bool
	reqs              sync.Pool // of *request
}

// post is what turns a model's outputs into probabilities.
type post int

const (
	postNone post = iota
	postSoftmax
	postSigmoid
	postExp
)

// request holds the buffers of one /predict request, reused across
// requests.
type request struct {
	body []byte
	x    []float32
	out  []float32
	resp []byte
	job  job
	// views are [1, outputs] tensors over the rows of out, kept while
	// out keeps its backing array.
	views []*tensor.Tensor
}

// rowViews returns [1, outputs] tensors over the first n rows of
// req.out, reusing the ones made for earlier requests while req.out has
// the same backing array.
func (req *request) rowViews(n, outputs int) []*tensor.Tensor {
	if len(req.views) > 0 && (len(req.out) == 0 || &req.views[0].Data()[0] != &req.out[0]) {
		req.views = req.views[:0]
	}
	for i := len(req.views); i < n; i++ {
		req.views = append(req.views, tensor.New(req.out[i*outputs:(i+1)*outputs], 1, outputs))
	}
	return req.views[:n]
}

// New returns a Handler serving model, a module that takes a batch
// [N, cfg.InputShape...] and returns [N, outputs]. It runs the model once
// on a zero example (the warm-up) and returns an error saying what went
// wrong when the configuration is invalid, the model rejects the input
// shape or the class names do not match its outputs. The model must not be
// trained while the Handler serves it: inputs run in inference mode, so
// the Handler neither changes the model's mode nor records anything. New
// calls nn.PackForInference on the model, so its layers keep their weights
// packed between requests.
func New(model nn.Module, cfg Config) (*Handler, error) {
	if model == nil {
		return nil, errors.New("serve: New: the model is nil")
	}
	cfg, features, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{model: model, cfg: cfg, features: features}
	// A served model is not trained in place: its layers may keep their
	// weights packed for inference.
	nn.PackForInference(model)
	// Warm up: two zero examples (the smallest batch run) check the
	// shapes and the outputs.
	shape := append([]int{2}, cfg.InputShape...)
	y, err := forward(model, autograd.NewArena(), tensor.Zeros(shape...))
	if err != nil {
		return nil, fmt.Errorf("serve: warm-up: %w", err)
	}
	if y.Rank() < 1 || y.Rank() > 2 || y.Dim(0) != 2 || y.Size() == 0 {
		return nil, fmt.Errorf("serve: warm-up: the model turned input %v into output %v; want [2, outputs]", shape, y.Shape())
	}
	h.outputs = y.Size() / 2
	if n := len(cfg.Classes); n > 0 && n != h.outputs && (h.outputs != 1 || n != 2) {
		return nil, fmt.Errorf("serve: Config.Classes has %d names but the model has %d outputs", n, h.outputs)
	}
	h.post = choosePost(model, cfg.Output, h.outputs)
	h.reg = cfg.Registry
	if h.reg == nil {
		h.reg = prometheus.NewRegistry()
	}
	h.batcher = newBatcher(model, cfg.InputShape, features, h.outputs, cfg, func(n int) {
		h.metrics.batchSize.Observe(float64(n))
		h.metrics.examples.Add(float64(n))
	})
	h.metrics, err = newMetrics(h.reg, cfg.MaxBatch,
		func() float64 { return float64(h.batcher.pending.Load()) },
		func() float64 { return float64(h.batcher.running.Load()) })
	if err != nil {
		h.batcher.close()
		return nil, fmt.Errorf("serve: registering metrics: %w", err)
	}
	h.metricsHandler = promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{})
	h.reqs.New = func() any { return new(request) }
	return h, nil
}

// choosePost picks what turns the outputs into probabilities; OutputAuto
// follows train.PredictProba.
func choosePost(model nn.Module, o Output, outputs int) post {
	switch o {
	case OutputProbabilities:
		return postNone
	case OutputAuto:
		switch nn.OutputActivation(model) {
		case nn.ActSoftmax, nn.ActSigmoid:
			return postNone
		case nn.ActLogSoftmax:
			return postExp
		}
	}
	if outputs == 1 {
		return postSigmoid
	}
	return postSoftmax
}

// Registry returns the registry that holds the Handler's metrics.
func (h *Handler) Registry() *prometheus.Registry { return h.reg }

// Shutdown stops taking prediction requests (new ones get 503 and /readyz
// turns 503), runs every request already queued and waits until they are
// answered or ctx ends. Call it after http.Server.Shutdown, which waits for
// the requests in progress, or before it to have /readyz fail first.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.closing.Store(true)
	h.batcher.close()
	done := make(chan struct{})
	go func() {
		h.batcher.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close is Shutdown without a deadline.
func (h *Handler) Close() error { return h.Shutdown(context.Background()) }

// ServeHTTP routes a request to /predict, /healthz, /readyz or /metrics.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/predict":
		h.predict(w, r)
	default:
		serveCommon(w, r, h.closing.Load(), h.metricsHandler, "/predict")
	}
}

// serveCommon answers the routes every handler of this package has besides
// its own (main, named in the 404 message): /healthz, /readyz (503 while
// closing), /metrics from metrics, and 404 for any other path.
func serveCommon(w http.ResponseWriter, r *http.Request, closing bool, metrics http.Handler, main string) {
	switch r.URL.Path {
	case "/healthz":
		writeText(w, http.StatusOK, "ok\n")
	case "/readyz":
		if closing {
			writeText(w, http.StatusServiceUnavailable, "shutting down\n")
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	case "/metrics":
		metrics.ServeHTTP(w, r)
	default:
		writeError(w, http.StatusNotFound, "no such path "+strconv.Quote(truncate(r.URL.Path, 64))+"; the routes are POST "+main+", GET /healthz, /readyz, /metrics")
	}
}

func writeText(w http.ResponseWriter, code int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, s)
}

// jsonContentType is the Content-Type header value of JSON answers.
var jsonContentType = []string{"application/json"}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers with code and {"error": msg}, msg cut to
// maxErrorLen bytes.
func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(errorBody{truncate(msg, maxErrorLen)})
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-3]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// predict serves POST /predict.
func (h *Handler) predict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := h.predictCode(w, r)
	h.metrics.count(code)
	h.metrics.latency.Observe(time.Since(start).Seconds())
}

// predictCode answers a prediction request and returns the status sent.
func (h *Handler) predictCode(w http.ResponseWriter, r *http.Request) int {
	fail := func(code int, msg string) int {
		writeError(w, code, msg)
		return code
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return fail(http.StatusMethodNotAllowed, "use POST for /predict, not "+truncate(r.Method, 16))
	}
	if h.inFlight.Add(1) > int64(h.cfg.MaxInFlight) {
		h.inFlight.Add(-1)
		return fail(http.StatusServiceUnavailable, fmt.Sprintf("server busy: %d requests in progress; try again later", h.cfg.MaxInFlight))
	}
	defer h.inFlight.Add(-1)
	binary := false
	switch ct := r.Header.Get("Content-Type"); ct {
	case "", "application/json":
	case "application/octet-stream":
		binary = true
	default:
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err == nil && mt == "application/json":
		case err == nil && mt == "application/octet-stream":
			binary = true
		default:
			return fail(http.StatusUnsupportedMediaType, "Content-Type "+strconv.Quote(truncate(ct, 64))+" is not application/json or application/octet-stream")
		}
	}
	if h.closing.Load() {
		return fail(http.StatusServiceUnavailable, errClosed.Error())
	}
	ctx := r.Context()
	if h.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.cfg.Timeout)
		defer cancel()
	}

	req := h.reqs.Get().(*request)
	var err error
	req.body, err = readBody(w, r, req.body[:0], h.cfg.MaxBodyBytes)
	if err != nil {
		h.reqs.Put(req)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.cfg.MaxBodyBytes))
		}
		return fail(http.StatusBadRequest, "reading the body: "+err.Error())
	}
	var n int
	var rerr *requestError
	if binary {
		req.x, n, rerr = decodeBinary(req.body, h.features, h.cfg.MaxExamples, req.x[:0])
	} else {
		req.x, n, rerr = decodeJSON(req.body, h.cfg.InputShape, h.features, h.cfg.MaxExamples, req.x[:0])
	}
	if rerr != nil {
		h.reqs.Put(req)
		return fail(rerr.status, rerr.msg)
	}
	req.out = grow(req.out[:0], n*h.outputs)
	j := &req.job
	if j.done == nil {
		j.done = make(chan struct{}, 1)
	}
	j.ctx, j.x, j.n, j.out, j.err = ctx, req.x, n, req.out, nil
	if err := h.batcher.submit(j); err != nil {
		j.ctx = nil
		h.reqs.Put(req)
		return fail(http.StatusServiceUnavailable, err.Error())
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		// The worker may still write to this request's buffers: leave
		// them to the garbage collector.
		return fail(http.StatusServiceUnavailable, "request "+ctxReason(ctx.Err())+" before the model ran")
	}
	defer func() {
		j.ctx = nil
		h.reqs.Put(req)
	}()
	if j.err != nil {
		if errors.Is(j.err, context.Canceled) || errors.Is(j.err, context.DeadlineExceeded) {
			return fail(http.StatusServiceUnavailable, "request "+ctxReason(j.err)+" before the model ran")
		}
		return fail(http.StatusInternalServerError, j.err.Error())
	}
	h.probabilities(req.rowViews(n, h.outputs))
	req.resp = h.encode(req.resp[:0], req.out, n, binary || isBatch(req.body))
	// Header values are set as shared slices: net/http only reads them,
	// and Set would allocate one per call. net/http sets Content-Length
	// itself, without allocating, for an answer it holds whole in its
	// buffer when the handler returns; a longer one gets it here rather
	// than being chunked.
	hdr := w.Header()
	hdr["Content-Type"] = jsonContentType
	if len(req.resp) > smallAnswer {
		hdr["Content-Length"] = []string{strconv.Itoa(len(req.resp))}
	}
	w.Write(req.resp)
	return http.StatusOK
}

// smallAnswer is the longest answer left to net/http to give a
// Content-Length: it holds up to 2048 bytes before it starts chunking.
const smallAnswer = 2000

// ctxReason words a context error for a client.
func ctxReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return "cancelled"
}

// readBody reads r's body, at most limit bytes, into buf. It trusts
// Content-Length only up to the limit.
func readBody(w http.ResponseWriter, r *http.Request, buf []byte, limit int64) ([]byte, error) {
	// net/http reads no more than a declared Content-Length: within the
	// limit, the body needs no further bound.
	body := r.Body
	if r.ContentLength < 0 || r.ContentLength > limit {
		body = http.MaxBytesReader(w, r.Body, limit)
	}
	if n := r.ContentLength; n > 0 && n <= limit && int64(cap(buf)) < n+1 {
		buf = make([]byte, 0, n+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// isBatch reports whether a JSON body used "inputs": decodeJSON accepted
// it, so the first field name tells.
func isBatch(body []byte) bool {
	for i := 0; i+7 < len(body); i++ {
		if body[i] == '"' {
			return body[i+6] == 's'
		}
	}
	return false
}

// probabilities turns rows, [1, outputs] views of model outputs, into
// probabilities in place, with the functions of train.PredictProba applied to one row at a
// time: the vector kernels round an element by where it falls in the
// slice, and an example's answer should not depend on the batch it ran in.
func (h *Handler) probabilities(rows []*tensor.Tensor) {
	if h.post == postNone {
		return
	}
	for _, t := range rows {
		switch h.post {
		case postSoftmax:
			tensor.SoftmaxTo(t, t, -1)
		case postSigmoid:
			tensor.SigmoidTo(t, t)
		case postExp:
			tensor.ExpTo(t, t)
		}
	}
}

// encode appends the JSON answer for n rows of probabilities to b: one
// prediction object, or {"predictions": [...]} for a batch.
func (h *Handler) encode(b []byte, probs []float32, n int, batch bool) []byte {
	if batch {
		b = append(b, `{"predictions":[`...)
	}
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		row := probs[i*h.outputs : (i+1)*h.outputs]
		label := 0
		if len(row) == 1 {
			if row[0] >= 0.5 {
				label = 1
			}
		} else {
			for k, p := range row {
				if p > row[label] {
					label = k
				}
			}
		}
		b = append(b, `{"label":`...)
		b = strconv.AppendInt(b, int64(label), 10)
		if len(h.cfg.Classes) > 0 {
			b = append(b, `,"class":`...)
			b = strconv.AppendQuote(b, h.cfg.Classes[label])
		}
		b = append(b, `,"probabilities":[`...)
		for k, p := range row {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, float64(p), 'g', -1, 32)
		}
		b = append(b, "]}"...)
	}
	if batch {
		b = append(b, "]}"...)
	}
	return append(b, '\n')
}
