// Package serve puts a model behind HTTP: an http.Handler that validates
// requests against the model's input shape, gathers concurrent requests
// into batches, bounds what a client can make it do, exposes Prometheus
// metrics and shuts down without losing a request.
//
// A Handler serves any nn.Module that takes a batch [N, features...] and
// returns [N, outputs]:
//
//	h, err := serve.New(model, serve.Config{
//		InputShape: []int{1, 28, 28},
//		Classes:    []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	srv := &http.Server{Addr: "localhost:8080", Handler: h}
//	go srv.ListenAndServe()
//	...
//	srv.Shutdown(ctx) // waits for the requests in progress
//	h.Shutdown(ctx)   // stops the batch workers
//
// # Requests
//
// POST /predict takes one example as JSON, {"input": [...]}, a batch,
// {"inputs": [[...], ...]}, each example nested to the input shape or flat,
// or a batch as raw little-endian float32 values, N × features of them,
// with Content-Type application/octet-stream. The answer is JSON: for one
// example {"label": 7, "class": "7", "probabilities": [...]}, for a batch
// or a binary body {"predictions": [...]} of those. A request the Handler
// refuses gets a 4xx or 5xx status and {"error": "..."} saying what was
// expected and what came: 400 for a malformed body, a wrong shape or a
// non-finite value (NaN and ±Inf are rejected, in JSON and binary alike),
// 405, 413 for a body over MaxBodyBytes or more than MaxExamples examples,
// 415 for another Content-Type, 503 when the queue is full, the request's
// context ends before its batch runs, or the Handler is shutting down.
//
// # Batching
//
// Requests wait in a queue of at most MaxQueue; one goroutine forms
// batches of up to MaxBatch examples from it, waiting at most MaxDelay for
// a batch to fill, and MaxConcurrent workers run them, each through its own
// autograd.Arena in inference mode. While every worker is busy the batch
// being formed keeps growing, so batches follow the load without a timer;
// with no MaxDelay, the batch former also yields to the scheduler once
// before it hands a batch over, so that handlers ready to run queue their
// requests into it first.
// A request whose context ends before its batch runs is dropped from it.
//
// An answer does not depend on the batch it ran in: the probabilities
// equal, bit for bit, train.Predict's outputs for the same examples as one
// batch, each row's softmax taken alone. (The GEMM kernel sums a lone row
// in another order than a batch's, so a batch of one example runs as two
// equal rows.)
//
// # Language models
//
// A Generator (NewGenerator) serves text generation from a language model
// and its tokenizer: POST /generate takes {"prompt": "...", "max_tokens":
// N, "temperature": T, "top_k": K, "top_p": P, "seed": S} and answers
// {"text": "...", "tokens": N, "prompt_tokens": M, "finish_reason":
// "length" or "timeout", "seed": S}. GeneratorConfig bounds the tokens a
// request may ask for, the prompt's length, the body, the generations run
// at once and those waiting; its Timeout stops a generation before the
// next token and answers with the text so far, and a client that goes away
// stops its generation. Each request decodes on its own decoder over the
// shared read-only model (nn.GPT, nn.RNNLM, or their int8 versions from
// nn/quant). /healthz, /readyz and /metrics (requests by code, latency,
// tokens generated, queue depth) work as below.
//
//	model, info, err := nn.LoadModel("char-gpt.safetensors")
//	var s string
//	info.Extra(nn.ExtraTokenizer, &s)
//	tok, err := text.Unmarshal([]byte(s))
//	g, err := serve.NewGenerator(model, tok, serve.GeneratorConfig{MaxTokens: 500, Timeout: 10 * time.Second})
//	http.ListenAndServe("localhost:8080", g)
//
// # Other routes
//
// GET /healthz answers 200 while the process serves; GET /readyz answers
// 200 once the model is loaded and warmed up (New runs it once) and 503
// from the start of Shutdown. GET /metrics gives the Handler's metrics in
// the Prometheus text format, from Config.Registry (never the global
// registry): requests by status code, request latency, batch sizes, queue
// depth and batches running.
package serve
