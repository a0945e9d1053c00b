package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/examples/internal/digits"
	"github.com/shoshin-ml/shoshin/examples/internal/mnistdir"
	"github.com/shoshin-ml/shoshin/examples/internal/plot"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
	"github.com/shoshin-ml/shoshin/train/dashboard"
)

var (
	epochs  = flag.Int("epochs", 5, "passes over the training data")
	batch   = flag.Int("batch", 64, "batch size")
	lr      = flag.Float64("lr", 1e-3, "Adam learning rate (halved after every epoch)")
	seed    = flag.Uint64("seed", 1, "seed for the weights, dropout, the shuffling and the validation split")
	dataDir = flag.String("data", "", "folder with the MNIST files (default: $MNIST_DIR or the GoMNIST module)")
	out     = flag.String("out", "mnist-cnn.safetensors", "file to save the trained model to")
	plots   = flag.String("plots", ".", "folder for the PNG training curves")
	quiet   = flag.Bool("quiet", false, "no per-epoch progress")
	limit   = flag.Int("limit", 0, "use only the first N training and N test images (0: all), for a quick run")
	dash    = flag.String("dashboard", "", "serve a live training dashboard at this address (\":8080\" is 127.0.0.1:8080)")
)

// board is the dashboard that -dashboard asks for, or nil.
var board *dashboard.Dashboard

// newModel builds a LeNet-style network: two convolution blocks
// (convolution, batch normalisation, ReLU, 2×2 max pooling) that turn a
// 28×28 image into 32 maps of 5×5, then a small classifier with dropout.
func newModel() *nn.Sequential {
	return nn.NewSequential(
		// 1×28×28 → 16×28×28 → 16×14×14
		nn.NewConv2D(1, 16, 5, nn.WithPadding(2), nn.WithoutBias()),
		nn.NewBatchNorm2D(16),
		nn.NewReLU(),
		nn.NewMaxPool2D(2),
		// 16×14×14 → 32×10×10 → 32×5×5
		nn.NewConv2D(16, 32, 5, nn.WithoutBias()),
		nn.NewBatchNorm2D(32),
		nn.NewReLU(),
		nn.NewMaxPool2D(2),
		// 800 → 128 → 10 logits
		nn.NewFlatten(),
		nn.NewDense(32*5*5, 128, nn.WithActivation(nn.ActReLU)),
		nn.NewDropout(0.3),
		nn.NewDense(128, 10),
	)
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	// Ctrl-C cancels ctx: Fit stops at the end of the current batch.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *dash != "" {
		var err error
		if board, err = dashboard.New(*dash); err != nil {
			log.Fatal("mnist-cnn: ", err)
		}
		defer board.Close()
		fmt.Printf("Training dashboard: %s\n\n", board.URL())
	}
	if _, err := run(ctx, stop); err != nil {
		log.Fatal("mnist-cnn: ", err)
	}
	if board != nil && ctx.Err() == nil {
		fmt.Printf("The dashboard stays at %s until Ctrl-C.\n", board.URL())
		<-ctx.Done()
	}
}

// outcome is what a run achieved, for the tests.
type outcome struct {
	hist *train.History
	// testAccuracy is the trained model's accuracy on the test images.
	testAccuracy float64
	// logitDiff is the largest difference between the logits of the
	// trained model and of the model loaded back from the saved file.
	logitDiff float32
	plots     []string
}

func run(ctx context.Context, stop context.CancelFunc) (*outcome, error) {
	start := time.Now()
	trainSet, testSet, err := mnistdir.Load(*dataDir)
	if err != nil {
		return nil, err
	}
	if *limit > 0 {
		if trainSet, err = head(trainSet, *limit); err != nil {
			return nil, err
		}
		if testSet, err = head(testSet, *limit); err != nil {
			return nil, err
		}
	}
	fmt.Printf("MNIST: %d training and %d test images, loaded in %v\n\n", trainSet.Len(), testSet.Len(), time.Since(start).Round(time.Millisecond))

	nn.SetSeed(*seed)
	model := newModel()
	fmt.Println(nn.Summary(model, 1, 28, 28))

	start = time.Now()
	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: float32(*lr)})
	callbacks := []train.Callback{&train.LRScheduler{Schedule: optim.NewStepLR(opt, 1, 0.5)}}
	if board != nil {
		callbacks = append(callbacks, board.Run("mnist-cnn", dashboard.WithConfusion(testSet)))
	}
	hist, err := train.Fit(ctx, model, opt, trainSet, train.Config{
		Epochs:          *epochs,
		BatchSize:       *batch,
		ValidationSplit: 0.1,
		Seed:            *seed,
		Quiet:           *quiet,
		Callbacks:       callbacks,
	})
	if ctx.Err() != nil {
		stop() // a second Ctrl-C now ends the program
		fmt.Printf("\nInterrupted after %d full epochs: evaluating the weights so far.\n", len(hist.Epochs))
	} else if err != nil {
		return nil, err
	}
	fmt.Printf("Training took %v.\n\n", time.Since(start).Round(100*time.Millisecond))

	bg := context.Background() // ctx may be cancelled by now
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

	if err := nn.SaveFile(*out, model); err != nil {
		return nil, err
	}
	reloaded := newModel()
	if err := nn.LoadFile(*out, reloaded); err != nil {
		return nil, err
	}
	logits2, err := train.Predict(reloaded, testSet.X(), 256)
	if err != nil {
		return nil, err
	}
	fmt.Printf("Saved the model to %s and loaded it into a new model: largest logit difference %g\n\n",
		*out, tensor.MaxAbsDiff(logits, logits2))

	res := &outcome{hist: hist, testAccuracy: test["accuracy"], logitDiff: tensor.MaxAbsDiff(logits, logits2)}
	if len(hist.Epochs) == 0 {
		return res, nil
	}
	if res.plots, err = plot.History(*plots, "mnist-cnn", hist, "loss", "accuracy"); err != nil {
		return nil, err
	}
	fmt.Println("Training curves:", res.plots)
	return res, nil
}

// head returns the first n examples of ds (all of them if it has fewer).
func head(ds *data.TensorDataset, n int) (*data.TensorDataset, error) {
	n = min(n, ds.Len())
	x, y := ds.X(), ds.Y()
	xs := append([]int{n}, x.Shape()[1:]...)
	ys := append([]int{n}, y.Shape()[1:]...)
	return data.NewTensorDataset(tensor.New(x.Data()[:x.Size()/ds.Len()*n], xs...), tensor.New(y.Data()[:y.Size()/ds.Len()*n], ys...))
}
