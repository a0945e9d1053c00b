package train_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"strings"

	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/train"
)

// A character-level language model trained on random windows of a text,
// then asked to continue a prompt.
func ExampleGenerate() {
	corpus := strings.Repeat("the cat sat on the mat. ", 50)
	tok, err := text.NewChars(corpus)
	if err != nil {
		log.Fatal(err)
	}
	stream, err := text.Int32s(tok.Encode(corpus))
	if err != nil {
		log.Fatal(err)
	}
	windows, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 16, VocabSize: tok.VocabSize(), PerEpoch: 256, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	model := nn.NewRNNLM(nn.RNNLMConfig{Vocab: tok.VocabSize(), Embed: 8, Hidden: 32}, nn.WithSeed(1))
	opt := optim.NewAdamW(model.Params(), optim.AdamWConfig{LR: 1e-2})
	// Fit tells the windows the epoch, scores every position of the
	// [B, T] targets and clips the gradients.
	hist, err := train.Fit(context.Background(), model, opt, windows, train.Config{
		Epochs: 8, BatchSize: 16, ClipGradNorm: 1, Quiet: true,
		Metrics: []func() metrics.Metric{train.BitsPerToken},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("below 0.5 bits per character:", hist.Last()["bits"] < 0.5)

	ids, err := train.Generate(context.Background(), model, tok.Encode("the c"), train.GenerateConfig{
		MaxTokens: 19, Temperature: 0.5, TopK: 3, Rand: rand.New(rand.NewPCG(1, 1)),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("the c%s\n", tok.Decode(ids))
	// Output:
	// below 0.5 bits per character: true
	// the cat sat on the mat.
}
