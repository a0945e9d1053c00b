package metrics_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/metrics"
)

// A model trained with a loss "with logits" outputs logits; cut them at
// logit(threshold), which is 0 for the default threshold 0.5.
func ExamplePredictLabels() {
	logits := []float32{-1.2, 0.3, 0.6, 2.5}
	asLogits, _ := metrics.PredictLabels(nil, logits, 1, metrics.WithLogits())
	strict, _ := metrics.PredictLabels(nil, logits, 1, metrics.WithLogits(), metrics.WithThreshold(0.8))
	probs := []float32{0.2, 0.55, 0.7, 0.95}
	asProbs, _ := metrics.PredictLabels(nil, probs, 1, metrics.WithThreshold(0.6))
	fmt.Println(asLogits, strict, asProbs)
	// Output:
	// [0 1 1 1] [0 0 0 1] [0 0 1 1]
}

func ExampleProbabilities() {
	sig, _ := metrics.Probabilities(nil, []float64{-2, 0, 2}, 1, true)
	soft, _ := metrics.Probabilities(nil, []float64{1, 2, 3}, 3, true)
	fmt.Printf("%.4f\n%.4f\n", sig, soft)
	// Output:
	// [0.1192 0.5000 0.8808]
	// [0.0900 0.2447 0.6652]
}

// A training loop that knows its loss takes logits tells every metric
// that implements LogitsSetter.
func ExampleLogitsSetter() {
	yTrue := []int{1, 0, 1, 0}
	logits := []float32{0.3, -0.4, 1.7, 0.2} // sigmoid: 0.57, 0.40, 0.85, 0.55
	ms := []metrics.Metric{metrics.NewAccuracyMetric(), metrics.NewROCAUCMetric(), metrics.NewLogLossMetric()}
	for _, m := range ms {
		if s, ok := m.(metrics.LogitsSetter); ok {
			s.SetLogits(true)
		}
		if err := m.Update(yTrue, logits, 1); err != nil {
			panic(err)
		}
		v, _ := m.Result()
		fmt.Printf("%s: %.4f\n", m.Name(), v)
	}
	// Output:
	// accuracy: 0.7500
	// roc_auc: 1.0000
	// log_loss: 0.5083
}
