package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/shoshin-ml/shoshin/examples/internal/digits"
	"github.com/shoshin-ml/shoshin/examples/internal/mnistdir"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

var (
	epochs  = flag.Int("epochs", 10, "passes over the training data")
	batch   = flag.Int("batch", 64, "batch size")
	lr      = flag.Float64("lr", 1e-3, "Adam learning rate")
	seed    = flag.Uint64("seed", 1, "seed for the weights, the shuffling and the validation split")
	dataDir = flag.String("data", "", "folder with the MNIST files (default: $MNIST_DIR or the GoMNIST module)")
	out     = flag.String("out", "mnist-mlp.safetensors", "file to save the trained model to")
	plots   = flag.String("plots", ".", "folder for the PNG training curves")
	quiet   = flag.Bool("quiet", false, "no per-epoch progress")
)

// newModel builds the network: 784 pixels → 128 hidden units → 10 logits.
// It starts from Keras's default weights (Glorot-uniform, zero biases),
// which train this small network a little better than PyTorch's.
func newModel() *nn.Sequential {
	glorot, zeroBias := nn.WithWeightInit(nn.GlorotUniform), nn.WithBiasInit(nn.Zeros)
	return nn.NewSequential(
		nn.NewFlatten(),
		nn.NewDense(28*28, 128, nn.WithActivation(nn.ActReLU), glorot, zeroBias),
		nn.NewDense(128, 10, glorot, zeroBias),
	)
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	// Ctrl-C cancels ctx: Fit stops at the end of the current batch.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, stop); err != nil {
		log.Fatal("mnist: ", err)
	}
}

// outcome is what a run achieved, for the tests.
type outcome struct {
	hist *train.History
	// testAccuracy is the trained model's, reloadedAccuracy that of the
	// model loaded back from the saved file.
	testAccuracy, reloadedAccuracy float64
	// logitDiff is the largest difference between the two models' logits.
	logitDiff float32
	// plots lists the charts written.
	plots []string
}

func run(ctx context.Context, stop context.CancelFunc) (*outcome, error) {
	start := time.Now()
	trainSet, testSet, err := mnistdir.Load(*dataDir)
	if err != nil {
		return nil, err
	}
	fmt.Printf("MNIST: %d training and %d test images, loaded in %v\n\n", trainSet.Len(), testSet.Len(), time.Since(start).Round(time.Millisecond))

	nn.SetSeed(*seed)
	model := newModel()
	fmt.Println(nn.Summary(model, 1, 28, 28))

	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: float32(*lr)})
	hist, err := train.Fit(ctx, model, opt, trainSet, train.Config{
		Epochs:          *epochs,
		BatchSize:       *batch,
		ValidationSplit: 0.2,
		Seed:            *seed,
		Quiet:           *quiet,
	})
	if ctx.Err() != nil {
		stop() // a second Ctrl-C now ends the program
		fmt.Printf("\nInterrupted after %d full epochs: evaluating the weights so far.\n", len(hist.Epochs))
	} else if err != nil {
		return nil, err
	}
	fmt.Printf("Training took %v.\n\n", time.Since(start).Round(100*time.Millisecond))

	// From here on ctx may be cancelled; finish with a fresh one.
	bg := context.Background()
	test, err := train.Evaluate(bg, model, testSet, train.EvalConfig{BatchSize: 256})
	if err != nil {
		return nil, err
	}
	fmt.Printf("Test loss %.4f, test accuracy %.2f%%\n\n", test["loss"], 100*test["accuracy"])
	logits, err := train.Predict(model, testSet.X(), 256)
	if err != nil {
		return nil, err
	}
	if err := digits.Report(os.Stdout, logits, testSet.Labels()); err != nil {
		return nil, err
	}

	// The file describes itself: architecture, input shape and class names
	// travel with the weights (still loadable by PyTorch), so the reload
	// below — and examples/serve — need no model code.
	info := nn.ModelInfo{InputShape: []int{1, 28, 28}, ClassNames: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	if err := nn.SaveModel(*out, model, info); err != nil {
		return nil, err
	}
	reloaded, _, err := nn.LoadModel(*out)
	if err != nil {
		return nil, err
	}
	again, err := train.Evaluate(bg, reloaded, testSet, train.EvalConfig{BatchSize: 256})
	if err != nil {
		return nil, err
	}
	logits2, err := train.Predict(reloaded, testSet.X(), 256)
	if err != nil {
		return nil, err
	}
	fmt.Printf("Saved the model to %s (architecture, input shape and class names included) and rebuilt it from the file alone:\n", *out)
	fmt.Printf("  reloaded test accuracy %.2f%%, largest logit difference %g\n\n",
		100*again["accuracy"], tensor.MaxAbsDiff(logits, logits2))

	paths, err := writePlots(hist)
	if err != nil {
		return nil, err
	}
	return &outcome{
		hist:             hist,
		testAccuracy:     test["accuracy"],
		reloadedAccuracy: again["accuracy"],
		logitDiff:        tensor.MaxAbsDiff(logits, logits2),
		plots:            paths,
	}, nil
}
