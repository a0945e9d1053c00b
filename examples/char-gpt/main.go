package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/shoshin-ml/shoshin/examples/internal/charlm"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/train/dashboard"
)

var (
	textFile = flag.String("text", "", "corpus file (default: Go's $GOROOT/src/testdata/Isaac.Newton-Opticks.txt)")
	steps    = flag.Int("steps", 300, "optimizer steps")
	minutes  = flag.Float64("minutes", 5, "stop after this many minutes of training (0: no limit)")
	batch    = flag.Int("batch", 32, "windows per batch")
	context_ = flag.Int("context", 128, "context length T: characters per window and positions of the model")
	layers   = flag.Int("layers", 4, "transformer blocks")
	heads    = flag.Int("heads", 4, "attention heads")
	dmodel   = flag.Int("d", 128, "model width")
	lr       = flag.Float64("lr", 2e-3, "peak AdamW learning rate")
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
	out      = flag.String("out", "char-gpt.safetensors", "file to save the model and tokenizer to")
	plots    = flag.String("plots", ".", "folder for the loss curve PNG")
	dash     = flag.String("dashboard", "", "serve a live training dashboard at this address (\":8080\" is 127.0.0.1:8080)")
)

func newModel(vocab int) nn.Module {
	return nn.NewGPT(nn.GPTModelConfig{
		VocabSize: vocab, BlockSize: *context_, Layers: *layers,
		Block: nn.GPTConfig{DModel: *dmodel, Heads: *heads},
	}, nn.WithSeed(*seed))
}

func options() charlm.Options {
	return charlm.Options{
		Name: "char-gpt", Text: *textFile, Steps: *steps, Minutes: *minutes, Batch: *batch, SeqLen: *context_,
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
	o := options()
	if *dash != "" {
		board, err := dashboard.New(*dash)
		if err != nil {
			log.Fatal("char-gpt: ", err)
		}
		defer board.Close()
		fmt.Printf("training dashboard: %s\n", board.URL())
		o.Dashboard = board
	}
	if _, err := charlm.Run(ctx, o, newModel); err != nil {
		log.Fatal("char-gpt: ", err)
	}
	if o.Dashboard != nil && ctx.Err() == nil {
		fmt.Printf("the dashboard stays at %s until Ctrl-C\n", o.Dashboard.URL())
		<-ctx.Done()
	}
}
