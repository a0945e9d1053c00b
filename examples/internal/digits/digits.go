// Package digits holds the test-set report the MNIST examples share.
package digits

import (
	"fmt"
	"io"

	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Report writes scikit-learn style per-digit precision, recall and F1 and
// the confusion matrix of the logits [N, 10] against labels.
func Report(w io.Writer, logits *tensor.Tensor, labels []int) error {
	// The predicted digit is the largest logit (softmax keeps the order).
	pred, err := metrics.PredictLabels(nil, logits.Data(), 10)
	if err != nil {
		return err
	}
	rep, err := metrics.Report(labels, pred, metrics.WithDigits(4))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Classification report (test set):\n%s\n", rep)
	cm, err := metrics.ConfusionMatrix(labels, pred)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Confusion matrix (rows: true digit, columns: predicted digit):\n%s\n", cm)
	return nil
}
