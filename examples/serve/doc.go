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
// Flags:
//
//	-model FILE      the saved model file (default mnist-mlp.safetensors)
//	-addr HOST:PORT  where to listen (default localhost:8080)
//	-max-batch N     most examples run through the model at once (default 64; 1: no batching)
//	-max-delay D     how long a batch waits to fill (default 0: it takes what is queued)
//	-timeout D       per-request deadline (default 10s)
package main
