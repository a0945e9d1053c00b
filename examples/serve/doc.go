// Command serve serves any self-describing model file (nn.SaveModel) — by
// default the MNIST model trained by examples/mnist — over HTTP with
// package serve: JSON and binary prediction requests, micro-batching,
// health and readiness probes and Prometheus metrics.
//
//	go run ./examples/mnist   # trains the model, writes mnist-mlp.safetensors
//	go run ./examples/serve   # serves it on localhost:8080
//
// It rebuilds the model from the file alone with nn.LoadModel (the
// architecture, input shape and class names are stored in it; an int8 model
// from nn/quant loads the same way), prints example curl commands
// and serves until Ctrl-C (SIGINT) or SIGTERM, then stops taking
// connections, answers the requests already in, and exits.
//
// A language model file (a GPT or RNNLM saved with its tokenizer, as
// examples/char-gpt and examples/char-lstm write them) is served for text
// generation instead, with serve.Generator: POST /generate takes
// {"prompt": "...", "max_tokens": N, "temperature": T, "top_k": K,
// "top_p": P, "seed": S} and answers {"text": "...", "tokens": N,
// "prompt_tokens": M, "finish_reason": "length" or "timeout", "seed": S}.
//
//	go run ./examples/char-gpt                                   # writes char-gpt.safetensors
//	go run ./examples/serve -model char-gpt.safetensors -int8   # serves it, quantised
//	curl -s localhost:8080/generate -H 'Content-Type: application/json' \
//	     -d '{"prompt": "The light", "max_tokens": 200, "temperature": 0.8, "seed": 7}'
//
// Flags:
//
//	-model FILE      the saved model file (default mnist-mlp.safetensors)
//	-addr HOST:PORT  where to listen (default localhost:8080)
//	-max-batch N     most examples run through the model at once (default 64; 1: no batching)
//	-max-delay D     how long a batch waits to fill (default 0: it takes what is queued)
//	-timeout D       per-request deadline (default 10s); a generation past it
//	                 answers with the text so far
//	-max-tokens N    language models: most tokens one request may ask for (default 500)
//	-int8            quantise the model to int8 (nn/quant) before serving
package main
