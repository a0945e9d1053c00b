package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/serve"
)

var (
	modelPath = flag.String("model", "mnist-mlp.safetensors", "the saved model file (nn.SaveModel), as written by go run ./examples/mnist")
	addr      = flag.String("addr", "localhost:8080", "address to listen on")
	maxBatch  = flag.Int("max-batch", 64, "most examples run through the model at once (1: no batching)")
	maxDelay  = flag.Duration("max-delay", 0, "how long a batch waits to fill (0: it takes what is queued)")
	timeout   = flag.Duration("timeout", 10*time.Second, "per-request deadline")
)

// newHandler loads the model file at path and returns a Handler serving
// it. The file describes itself (nn.SaveModel, as examples/mnist writes
// it): architecture, input shape and class names come from the file, so any
// saved model serves with no code here — an MLP, a CNN, or an int8 model
// from nn/quant.
func newHandler(path string) (*serve.Handler, error) {
	model, info, err := nn.LoadModel(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist: train and save the model first with\n  go run ./examples/mnist\n(it writes mnist-mlp.safetensors), or pass -model FILE", path)
		}
		return nil, err
	}
	if len(info.InputShape) == 0 {
		return nil, fmt.Errorf("%s does not record its input shape: save it with nn.SaveModel and nn.ModelInfo{InputShape: ...}", path)
	}
	return serve.New(model, serve.Config{
		InputShape: info.InputShape,
		Classes:    info.ClassNames,
		MaxBatch:   *maxBatch,
		MaxDelay:   *maxDelay,
		Timeout:    *timeout,
	})
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal("serve: ", err)
	}
	if err := run(ctx, ln, os.Stdout); err != nil {
		log.Fatal("serve: ", err)
	}
}

// run serves the model on ln until ctx ends, then shuts down gracefully.
func run(ctx context.Context, ln net.Listener, out io.Writer) error {
	h, err := newHandler(*modelPath)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "serving %s on %s (Ctrl-C stops)\n\n", *modelPath, url)
	fmt.Fprintf(out, "one image as JSON (784 values, flat or nested [1][28][28]):\n")
	fmt.Fprintf(out, "  python3 -c 'import json; print(json.dumps({\"input\": [0.0]*784}))' | curl -s %s/predict -H 'Content-Type: application/json' -d @-\n", url)
	fmt.Fprintf(out, "a batch as JSON:\n")
	fmt.Fprintf(out, "  python3 -c 'import json; print(json.dumps({\"inputs\": [[0.0]*784, [0.5]*784]}))' | curl -s %s/predict -d @-\n", url)
	fmt.Fprintf(out, "raw little-endian float32, 784 per image (here 2 black images):\n")
	fmt.Fprintf(out, "  head -c 6272 /dev/zero | curl -s %s/predict -H 'Content-Type: application/octet-stream' --data-binary @-\n", url)
	fmt.Fprintf(out, "probes and metrics:\n  curl -s %s/readyz; curl -s %s/metrics\n\n", url, url)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		h.Close()
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "shutting down: finishing the requests in progress")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	if herr := h.Shutdown(shutCtx); err == nil {
		err = herr
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
