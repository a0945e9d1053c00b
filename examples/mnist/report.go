package main

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/examples/internal/plot"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

// report prints scikit-learn style per-digit precision, recall and F1 and
// the confusion matrix of the test set's logits [N, 10].
func report(logits *tensor.Tensor, labels []int) error {
	// The predicted digit is the largest logit (softmax keeps the order).
	pred, err := metrics.PredictLabels(nil, logits.Data(), 10)
	if err != nil {
		return err
	}
	rep, err := metrics.Report(labels, pred, metrics.WithDigits(4))
	if err != nil {
		return err
	}
	fmt.Printf("Classification report (test set):\n%s\n", rep)
	cm, err := metrics.ConfusionMatrix(labels, pred)
	if err != nil {
		return err
	}
	fmt.Printf("Confusion matrix (rows: true digit, columns: predicted digit):\n%s\n", cm)
	return nil
}

// maxAbsDiff returns the largest |a−b| over two tensors of equal size.
func maxAbsDiff(a, b *tensor.Tensor) float64 {
	var m float64
	bd := b.Data()
	for i, v := range a.Data() {
		m = max(m, math.Abs(float64(v-bd[i])))
	}
	return m
}

// writePlots saves the loss and accuracy curves, train and validation.
func writePlots(hist *train.History) error {
	if len(hist.Epochs) == 0 {
		fmt.Println("No complete epoch: no training curves to draw.")
		return nil
	}
	paths, err := plot.History(*plots, "mnist", hist, "loss", "accuracy")
	if err != nil {
		return err
	}
	fmt.Println("Training curves:", paths)
	return nil
}
