package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"

	"github.com/shoshin-ml/shoshin/examples/internal/charlm"
	"github.com/shoshin-ml/shoshin/nn"
)

var (
	textFile = flag.String("text", "", "corpus file (default: Go's $GOROOT/src/testdata/Isaac.Newton-Opticks.txt)")
	steps    = flag.Int("steps", 300, "optimizer steps")
	minutes  = flag.Float64("minutes", 5, "stop after this many minutes of training (0: no limit)")
	batch    = flag.Int("batch", 32, "windows per batch")
	seqLen   = flag.Int("seqlen", 128, "characters per training window T")
	layers   = flag.Int("layers", 2, "LSTM layers")
	embed    = flag.Int("embed", 64, "embedding size")
	hidden   = flag.Int("hidden", 256, "LSTM units per layer")
	lr       = flag.Float64("lr", 3e-3, "peak AdamW learning rate")
	warmup   = flag.Int("warmup", 30, "warm-up steps")
	clip     = flag.Float64("clip", 1, "gradient clipping norm (0: off)")
	shards   = flag.Int("shards", 2, "shares of each batch trained side by side, one per core (the result depends on it, not on the cores)")
	every    = flag.Int("every", 25, "steps between progress lines and validations")
	val      = flag.Int("val", 128, "validation windows (0: all of the last 10% of the text)")
	seed     = flag.Uint64("seed", 1, "seed for the weights, the windows and the sample")
	prompt   = flag.String("prompt", "Light ", "start of the sample")
	length   = flag.Int("len", 400, "characters to generate")
	temp     = flag.Float64("temperature", 0.8, "sampling temperature (0: greedy)")
	topK     = flag.Int("topk", 0, "sample among the k most likely characters (0: all)")
	out      = flag.String("out", "char-lstm.safetensors", "file to save the model and tokenizer to")
	plots    = flag.String("plots", ".", "folder for the loss curve PNG")
)

func newModel(vocab int) nn.Module {
	return nn.NewRNNLM(nn.RNNLMConfig{Vocab: vocab, Embed: *embed, Hidden: *hidden, Layers: *layers}, nn.WithSeed(*seed))
}

func options() charlm.Options {
	return charlm.Options{
		Name: "char-lstm", Text: *textFile, Steps: *steps, Minutes: *minutes, Batch: *batch, SeqLen: *seqLen,
		LR: *lr, Warmup: *warmup, Clip: *clip, Shards: *shards, Every: *every, Val: *val, Seed: *seed,
		Prompt: *prompt, SampleLen: *length, Temperature: *temp, TopK: *topK, Out: *out, Plots: *plots,
	}
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	// Ctrl-C stops training at the end of the current batch; the model
	// trained so far is still evaluated, sampled and saved.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := charlm.Run(ctx, options(), newModel); err != nil {
		log.Fatal("char-lstm: ", err)
	}
}
