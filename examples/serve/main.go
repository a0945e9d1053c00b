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

	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/nn/quant"
	"github.com/shoshin-ml/shoshin/serve"
)

var (
	modelPath = flag.String("model", "mnist-mlp.safetensors", "the saved model file (nn.SaveModel), as written by go run ./examples/mnist")
	addr      = flag.String("addr", "localhost:8080", "address to listen on")
	maxBatch  = flag.Int("max-batch", 64, "most examples run through the model at once (1: no batching)")
	maxDelay  = flag.Duration("max-delay", 0, "how long a batch waits to fill (0: it takes what is queued)")
	timeout   = flag.Duration("timeout", 10*time.Second, "per-request deadline")
	maxTokens = flag.Int("max-tokens", 500, "language models: most tokens one request may ask for")
	int8      = flag.Bool("int8", false, "quantise the model to int8 (nn/quant) before serving")
)

// service is what run serves: a serve.Handler for classifiers or a
// serve.Generator for language models.
type service interface {
	http.Handler
	Shutdown(context.Context) error
}

// newHandler loads the model file at path and returns what serves it, and
// whether it is a language model. The file describes itself (nn.SaveModel):
// architecture, input shape and class names come from the file, so any
// saved model serves with no code here — an MLP, a CNN, an int8 model from
// nn/quant, or a language model (a GPT or an RNNLM saved with its tokenizer
// as the nn.ExtraTokenizer extra, as examples/char-gpt and char-lstm write
// them), which gets POST /generate instead of /predict.
func newHandler(path string) (service, bool, error) {
	model, info, err := nn.LoadModel(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("%s does not exist: train and save the model first with\n  go run ./examples/mnist\n(it writes mnist-mlp.safetensors), or pass -model FILE", path)
		}
		return nil, false, err
	}
	if *int8 {
		if model, err = quant.Quantize(model); err != nil {
			return nil, false, err
		}
	}
	var tokText string
	if ok, err := info.Extra(nn.ExtraTokenizer, &tokText); err != nil {
		return nil, false, fmt.Errorf("%s: tokenizer: %w", path, err)
	} else if ok {
		tok, err := text.Unmarshal([]byte(tokText))
		if err != nil {
			return nil, false, fmt.Errorf("%s: tokenizer: %w", path, err)
		}
		g, err := serve.NewGenerator(model, tok, serve.GeneratorConfig{MaxTokens: *maxTokens, Timeout: *timeout})
		return g, true, err
	}
	if len(info.InputShape) == 0 {
		return nil, false, fmt.Errorf("%s does not record its input shape: save it with nn.SaveModel and nn.ModelInfo{InputShape: ...}", path)
	}
	h, err := serve.New(model, serve.Config{
		InputShape: info.InputShape,
		Classes:    info.ClassNames,
		MaxBatch:   *maxBatch,
		MaxDelay:   *maxDelay,
		Timeout:    *timeout,
	})
	return h, false, err
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
	h, lm, err := newHandler(*modelPath)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "serving %s on %s (Ctrl-C stops)\n\n", *modelPath, url)
	if lm {
		fmt.Fprintf(out, "continue a prompt (greedy), then sample with a seed:\n")
		fmt.Fprintf(out, "  curl -s %s/generate -H 'Content-Type: application/json' -d '{\"prompt\": \"The light\", \"max_tokens\": 200}'\n", url)
		fmt.Fprintf(out, "  curl -s %s/generate -H 'Content-Type: application/json' -d '{\"prompt\": \"The light\", \"max_tokens\": 200, \"temperature\": 0.8, \"top_k\": 40, \"seed\": 7}'\n", url)
	} else {
		printPredictHelp(out, url)
	}
	fmt.Fprintf(out, "probes and metrics:\n  curl -s %s/readyz; curl -s %s/metrics\n\n", url, url)
	return serveUntil(ctx, srv, ln, h, out)
}

// printPredictHelp prints curl commands for /predict.
func printPredictHelp(out io.Writer, url string) {
	fmt.Fprintf(out, "one image as JSON (784 values, flat or nested [1][28][28]):\n")
	fmt.Fprintf(out, "  python3 -c 'import json; print(json.dumps({\"input\": [0.0]*784}))' | curl -s %s/predict -H 'Content-Type: application/json' -d @-\n", url)
	fmt.Fprintf(out, "a batch as JSON:\n")
	fmt.Fprintf(out, "  python3 -c 'import json; print(json.dumps({\"inputs\": [[0.0]*784, [0.5]*784]}))' | curl -s %s/predict -H 'Content-Type: application/json' -d @-\n", url)
	fmt.Fprintf(out, "raw little-endian float32, 784 per image (here 2 black images):\n")
	fmt.Fprintf(out, "  head -c 6272 /dev/zero | curl -s %s/predict -H 'Content-Type: application/octet-stream' --data-binary @-\n", url)
}

// serveUntil serves h on ln until ctx ends, then shuts down gracefully.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, h service, out io.Writer) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		h.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "shutting down: finishing the requests in progress")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	if herr := h.Shutdown(shutCtx); err == nil {
		err = herr
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
