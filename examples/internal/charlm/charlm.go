// Package charlm is the training program shared by the char-gpt and
// char-lstm examples: it reads a text, trains a character-level language
// model on random windows of it, reports the validation loss in nats and
// bits per character, generates a sample, saves the model with its
// tokenizer, reloads the file and generates the same sample again.
package charlm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/examples/internal/plot"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/train"
	"github.com/shoshin-ml/shoshin/train/dashboard"
)

// Options configures Run.
type Options struct {
	Name    string  // program name: file prefixes and messages
	Text    string  // corpus file; "" for Go's Isaac.Newton-Opticks.txt
	Steps   int     // optimizer steps
	Minutes float64 // stop once this much training time has passed (0: no limit)
	Batch   int
	SeqLen  int
	LR      float64 // peak AdamW learning rate
	Warmup  int     // warm-up steps
	Clip    float64 // gradient clipping norm (0: off)
	Shards  int     // shares of each batch trained side by side (train.Config.Shards)
	Every   int     // steps between progress lines and validations
	Val     int     // validation windows (0: the whole validation split)
	Seed    uint64
	// Sample generation.
	Prompt      string
	SampleLen   int
	Temperature float64
	TopK        int
	Out         string // model file
	Plots       string // folder for the loss curve
	Progress    io.Writer
	// Dashboard, when set, shows the training live, and the sample.
	Dashboard *dashboard.Dashboard
}

// Outcome is what a run achieved, for the tests.
type Outcome struct {
	Hist           *train.History
	ValLoss        float64 // nats per character
	Sample         string
	ReloadedSample string
	Steps          int
	Plot           string
}

// Corpus returns the path of Go's copy of Newton's Opticks.
func Corpus() (string, error) {
	var roots []string
	//lint:ignore SA1019 the corpus sits in the toolchain that built us; "go env GOROOT" is the fallback
	if r := runtime.GOROOT(); r != "" {
		roots = append(roots, r)
	}
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		roots = append(roots, strings.TrimSpace(string(out)))
	}
	for _, r := range roots {
		p := filepath.Join(r, "src", "testdata", "Isaac.Newton-Opticks.txt")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("cannot find $GOROOT/src/testdata/Isaac.Newton-Opticks.txt; pass -text FILE")
}

// Run trains the model that build makes for a vocabulary of the given
// size, then evaluates, samples, saves and reloads it (into a second
// model from build).
func Run(ctx context.Context, o Options, build func(vocab int) nn.Module) (*Outcome, error) {
	w := o.Progress
	if w == nil {
		w = os.Stdout
	}
	path := o.Text
	if path == "" {
		p, err := Corpus()
		if err != nil {
			return nil, err
		}
		path = p
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	corpus := string(raw)
	tok, err := text.NewChars(corpus)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	stream, err := text.Int32s(tok.Encode(corpus))
	if err != nil {
		return nil, err
	}
	trainIDs, valIDs, err := text.SplitStream(stream, 0.1)
	if err != nil {
		return nil, err
	}
	vocab := tok.VocabSize()
	every := max(min(o.Every, o.Steps), 1)
	epochs := (o.Steps + every - 1) / every
	trainSet, err := text.NewWindows(trainIDs, text.WindowsConfig{SeqLen: o.SeqLen, VocabSize: vocab, PerEpoch: every * o.Batch, Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	seqVal, err := text.NewSequential(valIDs, o.SeqLen, vocab)
	if err != nil {
		return nil, err
	}
	var valSet data.Dataset = seqVal
	if o.Val > 0 && o.Val < seqVal.Len() {
		idx := make([]int, o.Val)
		for i := range idx {
			idx[i] = i * seqVal.Len() / o.Val
		}
		valSet = &data.Subset{Dataset: seqVal, Indices: idx}
	}
	fmt.Fprintf(w, "%s: %d characters (%d distinct) from %s; %d for training, %d for validation (%d windows of %d)\n",
		o.Name, len(stream), vocab-1, path, len(trainIDs), len(valIDs), valSet.Len(), o.SeqLen)

	model := build(vocab)
	fmt.Fprintf(w, "%v: %d parameters\n", model, countParams(model))
	opt := optim.NewAdamW(model.Params(), optim.AdamWConfig{LR: float32(o.LR), Beta2: 0.99, WeightDecay: 0.1})
	sched := optim.NewWarmupCosine(opt, optim.WarmupCosineConfig{
		Warmup: min(o.Warmup, o.Steps-1), Total: o.Steps, StartFactor: optim.Zero, EtaMin: o.LR / 10,
	})
	start := time.Now()
	deadline := &timeLimit{start: start, limit: time.Duration(o.Minutes * float64(time.Minute))}
	lmMetrics := []func() metrics.Metric{train.BitsPerToken, train.Accuracy}
	callbacks := []train.Callback{&train.StepScheduler{Schedule: sched}, deadline}
	var board *dashboard.Run
	if o.Dashboard != nil {
		board = o.Dashboard.Run(o.Name)
		callbacks = append(callbacks, board)
	}
	hist, err := train.Fit(ctx, model, opt, trainSet, train.Config{
		Epochs: epochs, BatchSize: o.Batch, Seed: o.Seed, Validation: valSet,
		ClipGradNorm: float32(o.Clip), Shards: o.Shards, Metrics: lmMetrics, Progress: w,
		Callbacks: callbacks,
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	res := &Outcome{Hist: hist, Steps: len(hist.Epochs) * every}
	elapsed := time.Since(start)
	fmt.Fprintf(w, "trained %d steps of %d×%d tokens in %v: %.0f tokens/s\n",
		res.Steps, o.Batch, o.SeqLen, elapsed.Round(time.Second), float64(res.Steps*o.Batch*o.SeqLen)/elapsed.Seconds())

	logs, err := train.Evaluate(context.Background(), model, valSet, train.EvalConfig{BatchSize: o.Batch, Metrics: lmMetrics})
	if err != nil {
		return nil, err
	}
	res.ValLoss = logs["loss"]
	fmt.Fprintf(w, "validation: %.4f nats/char, %.4f bits/char, perplexity %.2f, next-char accuracy %.3f (uniform guessing: %.2f bits/char)\n",
		logs["loss"], logs["bits"], math.Exp(logs["loss"]), logs["accuracy"], math.Log2(float64(vocab-1)))

	gen := func(m nn.Module, t text.Tokenizer) (string, time.Duration, error) {
		g0 := time.Now()
		ids, err := train.Generate(context.Background(), m, t.Encode(o.Prompt), train.GenerateConfig{
			MaxTokens: o.SampleLen, Temperature: o.Temperature, TopK: o.TopK,
			Rand: rand.New(rand.NewPCG(o.Seed, 2)),
		})
		return t.Decode(ids), time.Since(g0), err
	}
	sample, took, err := gen(model, tok)
	if err != nil {
		return nil, err
	}
	res.Sample = sample
	if board != nil {
		board.AddSample(o.Prompt, sample)
	}
	fmt.Fprintf(w, "\nsample (temperature %g, top-k %d, seed %d; %d chars in %v, %.0f chars/s):\n%s%s\n\n",
		o.Temperature, o.TopK, o.Seed, len([]rune(sample)), took.Round(time.Millisecond), float64(o.SampleLen)/took.Seconds(), o.Prompt, sample)

	tokText, err := tok.MarshalText()
	if err != nil {
		return nil, err
	}
	// A self-describing model file: architecture, weights and tokenizer,
	// so that examples/serve (or any nn.LoadModel caller) rebuilds it.
	var info nn.ModelInfo
	if err := info.SetExtra(nn.ExtraTokenizer, string(tokText)); err != nil {
		return nil, err
	}
	if err := nn.SaveModel(o.Out, model, info); err != nil {
		return nil, err
	}
	reloaded, info, err := nn.LoadModel(o.Out)
	if err != nil {
		return nil, err
	}
	var saved string
	if ok, err := info.Extra(nn.ExtraTokenizer, &saved); !ok || err != nil {
		return nil, fmt.Errorf("%s: no tokenizer in the model file (%v)", o.Out, err)
	}
	tok2, err := text.Unmarshal([]byte(saved))
	if err != nil {
		return nil, fmt.Errorf("%s: tokenizer: %w", o.Out, err)
	}
	res.ReloadedSample, _, err = gen(reloaded, tok2)
	if err != nil {
		return nil, err
	}
	same := "the same sample"
	if res.ReloadedSample != res.Sample {
		same = "a DIFFERENT sample"
	}
	fmt.Fprintf(w, "saved %s (model and tokenizer); reloaded, it generates %s with seed %d\n", o.Out, same, o.Seed)

	if o.Plots != "" {
		if err := os.MkdirAll(o.Plots, 0o755); err != nil {
			return nil, err
		}
		res.Plot = filepath.Join(o.Plots, o.Name+"-loss.png")
		series := map[string][]float64{"loss": hist.Series("loss"), "val_loss": hist.Series("val_loss")}
		title := fmt.Sprintf("%s: loss (nats/char) every %d steps", o.Name, every)
		if err := plot.Curves(res.Plot, title, series); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "loss curve: %s\n", res.Plot)
	}
	return res, nil
}

func countParams(m nn.Module) int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value().Size()
	}
	return n
}

// timeLimit stops training at the end of the first epoch that ends past
// the limit.
type timeLimit struct {
	train.BaseCallback
	start time.Time
	limit time.Duration
}

func (c *timeLimit) OnEpochEnd(s *train.State, _ train.Logs) error {
	if c.limit > 0 && time.Since(c.start) > c.limit {
		s.StopTraining = true
	}
	return nil
}
