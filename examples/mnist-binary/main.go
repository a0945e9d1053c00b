package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/examples/internal/mnistdir"
	"github.com/shoshin-ml/shoshin/examples/internal/plot"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

var (
	digit   = flag.Int("digit", 0, "the digit to detect")
	epochs  = flag.Int("epochs", 5, "passes over the training data")
	batch   = flag.Int("batch", 64, "batch size")
	lr      = flag.Float64("lr", 1e-3, "Adam learning rate")
	seed    = flag.Uint64("seed", 1, "seed for the weights, the shuffling and the validation split")
	dataDir = flag.String("data", "", "folder with the MNIST files (default: $MNIST_DIR or the GoMNIST module)")
	out     = flag.String("out", "mnist-binary.safetensors", "file to save the trained model to")
	plots   = flag.String("plots", ".", "folder for the PNG charts")
	quiet   = flag.Bool("quiet", false, "no per-epoch progress")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, stop); err != nil {
		log.Fatal("mnist-binary: ", err)
	}
}

// newModel builds the detector. Its one output is the probability that
// the image shows the digit.
func newModel() *nn.Sequential {
	return nn.NewSequential(
		nn.NewFlatten(),
		nn.NewDense(28*28, 32, nn.WithActivation(nn.ActReLU)),
		nn.NewDense(32, 1),
		nn.NewSigmoid(),
	)
}

// outcome is what a run achieved, for the tests.
type outcome struct {
	hist   *train.History
	scores scores
	// probDiff is the largest difference between the probabilities of the
	// trained model and of the model loaded back from the saved file.
	probDiff float32
	plots    []string
}

func run(ctx context.Context, stop context.CancelFunc) (*outcome, error) {
	if *digit < 0 || *digit > 9 {
		return nil, fmt.Errorf("-digit is %d, want 0..9", *digit)
	}
	trainSet, testSet, err := loadBinary(*dataDir, *digit)
	if err != nil {
		return nil, err
	}

	nn.SetSeed(*seed)
	model := newModel()
	fmt.Println(nn.Summary(model, 1, 28, 28))

	start := time.Now()
	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: float32(*lr)})
	hist, err := train.Fit(ctx, model, opt, trainSet, train.Config{
		Epochs:          *epochs,
		BatchSize:       *batch,
		ValidationSplit: 0.2,
		Seed:            *seed,
		Loss:            nn.BCELoss{},
		Metrics:         []func() metrics.Metric{train.Accuracy, rocAUC},
		Quiet:           *quiet,
	})
	if ctx.Err() != nil {
		stop()
		fmt.Printf("\nInterrupted after %d full epochs: evaluating the weights so far.\n", len(hist.Epochs))
	} else if err != nil {
		return nil, err
	}
	fmt.Printf("Training took %v.\n\n", time.Since(start).Round(100*time.Millisecond))

	// Probabilities [N, 1] → predicted labels at the 0.5 threshold.
	probs, err := train.Predict(model, testSet.X(), 256)
	if err != nil {
		return nil, err
	}
	yTrue := testSet.Labels()
	yPred, err := metrics.PredictLabels(nil, probs.Data(), 1)
	if err != nil {
		return nil, err
	}
	sc, err := printScores(yTrue, yPred, probs.Data())
	if err != nil {
		return nil, err
	}

	if err := nn.SaveFile(*out, model); err != nil {
		return nil, err
	}
	reloaded := newModel()
	if err := nn.LoadFile(*out, reloaded); err != nil {
		return nil, err
	}
	probs2, err := train.Predict(reloaded, testSet.X(), 256)
	if err != nil {
		return nil, err
	}
	diff := tensor.MaxAbsDiff(probs, probs2)
	fmt.Printf("Saved the model to %s and loaded it into a new model: largest probability difference %g\n\n", *out, diff)
	paths, err := writePlots(hist, yTrue, probs.Data())
	if err != nil {
		return nil, err
	}
	return &outcome{hist: hist, scores: sc, probDiff: diff, plots: paths}, nil
}

// rocAUC makes the ROC AUC metric for Fit.
func rocAUC() metrics.Metric { return metrics.NewROCAUCMetric() }

// loadBinary loads MNIST and relabels it: 1 for images of digit d, 0 for
// the others.
func loadBinary(dir string, d int) (trainSet, testSet *data.TensorDataset, err error) {
	start := time.Now()
	tr, te, err := mnistdir.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	if trainSet, err = relabel(tr, d); err != nil {
		return nil, nil, err
	}
	if testSet, err = relabel(te, d); err != nil {
		return nil, nil, err
	}
	pos := 0
	for _, l := range testSet.Labels() {
		pos += l
	}
	fmt.Printf("MNIST, \"is it a %d?\": %d training and %d test images (%d test positives, %.1f%%), loaded in %v\n\n",
		d, trainSet.Len(), testSet.Len(), pos, 100*float64(pos)/float64(testSet.Len()), time.Since(start).Round(time.Millisecond))
	return trainSet, testSet, nil
}

func relabel(ds *data.TensorDataset, d int) (*data.TensorDataset, error) {
	y := tensor.Zeros(ds.Len())
	yd := y.Data()
	for i, l := range ds.Labels() {
		if l == d {
			yd[i] = 1
		}
	}
	return data.NewTensorDataset(ds.X(), y)
}

// scores are the detector's test-set metrics.
type scores struct {
	accuracy, baseline, precision, recall, f1, auc float64
}

// printScores prints the detector's test-set metrics and returns them.
func printScores(yTrue, yPred []int, probs []float32) (scores, error) {
	p, err := metrics.Precision(yTrue, yPred)
	if err != nil {
		return scores{}, err
	}
	r, err := metrics.Recall(yTrue, yPred)
	if err != nil {
		return scores{}, err
	}
	f1, err := metrics.F1(yTrue, yPred)
	if err != nil {
		return scores{}, err
	}
	auc, err := metrics.ROCAUC(yTrue, probs)
	if err != nil {
		return scores{}, err
	}
	acc, err := metrics.Accuracy(yTrue, yPred)
	if err != nil {
		return scores{}, err
	}
	sc := scores{accuracy: acc, baseline: baseline(yTrue), precision: p, recall: r, f1: f1, auc: auc}
	fmt.Printf("Test set, threshold 0.5:\n")
	fmt.Printf("  accuracy  %.4f   (always answering \"no\" would score %.4f)\n  precision %.4f\n  recall    %.4f\n  F1        %.4f\n  ROC AUC   %.4f\n\n", acc, baseline(yTrue), p, r, f1, auc)

	names := []string{fmt.Sprintf("not %d", *digit), fmt.Sprintf("%d", *digit)}
	rep, err := metrics.Report(yTrue, yPred, metrics.WithLabels(0, 1), metrics.WithTargetNames(names...), metrics.WithDigits(4))
	if err != nil {
		return scores{}, err
	}
	fmt.Printf("Classification report:\n%s\n", rep)
	cm, err := metrics.ConfusionMatrix(yTrue, yPred, metrics.WithLabels(0, 1))
	if err != nil {
		return scores{}, err
	}
	fmt.Printf("Confusion matrix (rows: true, columns: predicted; 1 = \"is a %d\"):\n%s\n", *digit, cm)
	return sc, nil
}

// baseline is the accuracy of a detector that never fires.
func baseline(yTrue []int) float64 {
	neg := 0
	for _, l := range yTrue {
		neg += 1 - l
	}
	return float64(neg) / float64(len(yTrue))
}

// writePlots draws the ROC curve and the training curves.
func writePlots(hist *train.History, yTrue []int, probs []float32) ([]string, error) {
	roc, err := metrics.ROCCurve(yTrue, probs)
	if err != nil {
		return nil, err
	}
	auc, err := metrics.ROCAUC(yTrue, probs)
	if err != nil {
		return nil, err
	}
	rocPath := filepath.Join(*plots, "roc.png")
	if err := plot.ROC(rocPath, roc.FPR, roc.TPR, auc); err != nil {
		return nil, err
	}
	paths := []string{rocPath}
	if len(hist.Epochs) > 0 {
		more, err := plot.History(*plots, "mnist-binary", hist, "loss", "accuracy", "roc_auc")
		if err != nil {
			return nil, err
		}
		paths = append(paths, more...)
	}
	fmt.Println("Charts:", paths)
	return paths, nil
}
