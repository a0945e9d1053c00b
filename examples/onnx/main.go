package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/shoshin-ml/shoshin/examples/internal/mnistdir"
	"github.com/shoshin-ml/shoshin/onnx"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

var (
	modelPath = flag.String("model", "", "ONNX model to run (default: the embedded PyTorch MNIST convnet)")
	dataDir   = flag.String("data", "", "folder with the MNIST files (default: $MNIST_DIR or the GoMNIST module)")
	timed     = flag.Int("timed", 1000, "images timed one at a time")
)

//go:embed mnist_cnn.onnx
var modelBytes []byte

//go:embed mnist_cnn.json
var torchJSON []byte

// torchResult is what the exporting script measured with PyTorch.
type torchResult struct {
	TestCorrect   int     `json:"test_correct"`
	TestTotal     int     `json:"test_total"`
	SecondsPerImg float64 `json:"torch_seconds_per_image_batch1"`
	TorchVersion  string  `json:"torch_version"`
	Predictions   string  `json:"predictions"`
}

// outcome is what run measured.
type outcome struct {
	model    *onnx.Model
	correct  int
	total    int
	agree    int // predictions equal to PyTorch's
	perImage time.Duration
	torch    torchResult
}

func main() {
	flag.Parse()
	res, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "onnx:", err)
		os.Exit(1)
	}
	fmt.Printf("model: %v\n", res.model)
	fmt.Printf("test accuracy: %.4f (%d/%d); PyTorch %s: %.4f (%d/%d)\n",
		float64(res.correct)/float64(res.total), res.correct, res.total, res.torch.TorchVersion,
		float64(res.torch.TestCorrect)/float64(res.torch.TestTotal), res.torch.TestCorrect, res.torch.TestTotal)
	if *modelPath == "" {
		fmt.Printf("predictions equal to PyTorch's: %d/%d\n", res.agree, res.total)
	}
	// PyTorch's figure was recorded when the model was exported, on another
	// run of the same kind of machine; onnx/testdata/bench_torch.py measures
	// it beside this program.
	fmt.Printf("batch size 1: %v per image (%.0f images/s); PyTorch, recorded at export: %v per image\n",
		res.perImage, float64(time.Second)/float64(res.perImage), time.Duration(res.torch.SecondsPerImg*float64(time.Second)).Round(time.Microsecond))
}

func run() (*outcome, error) {
	var res outcome
	if err := json.Unmarshal(torchJSON, &res.torch); err != nil {
		return nil, fmt.Errorf("mnist_cnn.json: %w", err)
	}
	var err error
	if *modelPath != "" {
		res.model, err = onnx.Load(*modelPath)
	} else {
		res.model, err = onnx.Decode(bytes.NewReader(modelBytes))
	}
	if err != nil {
		return nil, err
	}
	_, test, err := mnistdir.Load(*dataDir)
	if err != nil {
		return nil, err
	}
	logits, err := train.Predict(res.model, test.X(), 256)
	if err != nil {
		return nil, err
	}
	labels := test.Labels()
	res.total = len(labels)
	k := logits.Dim(1)
	for i, want := range labels {
		pred := argmax(logits.Data()[i*k : (i+1)*k])
		if pred == want {
			res.correct++
		}
		if i < len(res.torch.Predictions) && int(res.torch.Predictions[i]-'0') == pred {
			res.agree++
		}
	}
	n := min(*timed, res.total)
	x := test.X()
	row := x.Size() / x.Dim(0)
	start := time.Now()
	for i := range n {
		img := tensor.New(x.Data()[i*row:(i+1)*row], x.Shape()[1:]...)
		if _, err := train.PredictOne(res.model, img); err != nil {
			return nil, err
		}
	}
	if n > 0 {
		res.perImage = time.Since(start) / time.Duration(n)
	}
	return &res, nil
}

func argmax(xs []float32) int {
	best := 0
	for i, v := range xs {
		if v > xs[best] {
			best = i
		}
	}
	return best
}
