// Command serve serves the MNIST model trained by examples/mnist over HTTP
// with package serve: JSON and binary prediction requests, micro-batching,
// health and readiness probes and Prometheus metrics.
//
//	go run ./examples/mnist   # trains the model, writes mnist-mlp.safetensors
//	go run ./examples/serve   # serves it on localhost:8080
//
// It loads the file into the flagship architecture, Flatten →
// Dense(784 → 128, ReLU) → Dense(128 → 10), prints example curl commands
// and serves until Ctrl-C (SIGINT) or SIGTERM, then stops taking
// connections, answers the requests already in, and exits.
//
// Flags:
//
//	-model FILE      the saved model (default mnist-mlp.safetensors)
//	-addr HOST:PORT  where to listen (default localhost:8080)
//	-max-batch N     most examples run through the model at once (default 64; 1: no batching)
//	-max-delay D     how long a batch waits to fill (default 0: it takes what is queued)
//	-timeout D       per-request deadline (default 10s)
package main
