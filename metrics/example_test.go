package metrics_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/metrics"
)

func ExampleROCAUC() {
	yTrue := []int{0, 0, 1, 1}
	scores := []float32{0.1, 0.4, 0.35, 0.8}
	auc, err := metrics.ROCAUC(yTrue, scores)
	if err != nil {
		panic(err)
	}
	fmt.Println(auc)

	// Tied scores of a positive and a negative count one half.
	auc, _ = metrics.ROCAUC([]int{0, 1}, []float32{0.5, 0.5})
	fmt.Println(auc)

	// A single class is an error, as in scikit-learn.
	_, err = metrics.ROCAUC([]int{1, 1}, []float32{0.2, 0.9})
	fmt.Println(err)
	// Output:
	// 0.75
	// 0.5
	// metrics: only one class present in y_true: metrics.ROCAUC: every sample has label 1; the metric needs both positives and negatives
}

func ExampleROCCurve() {
	roc, err := metrics.ROCCurve([]int{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8})
	if err != nil {
		panic(err)
	}
	fmt.Println("fpr:", roc.FPR)
	fmt.Println("tpr:", roc.TPR)
	fmt.Println("thresholds:", roc.Thresholds)
	// Output:
	// fpr: [0 0 0.5 0.5 1]
	// tpr: [0 0.5 0.5 1 1]
	// thresholds: [1.8 0.8 0.4 0.35 0.1]
}

func ExampleROCAUCOvR() {
	// Three classes, scores as a flat [4, 3] matrix.
	yTrue := []int{0, 1, 2, 2}
	scores := []float32{
		0.7, 0.2, 0.1,
		0.2, 0.5, 0.3,
		0.1, 0.6, 0.3,
		0.1, 0.2, 0.7,
	}
	macro, _ := metrics.ROCAUCOvR(yTrue, scores, 3, metrics.AverageMacro)
	weighted, _ := metrics.ROCAUCOvR(yTrue, scores, 3, metrics.AverageWeighted)
	fmt.Printf("macro %.4f weighted %.4f\n", macro, weighted)
	// Output:
	// macro 0.8472 weighted 0.8542
}

func ExamplePrecisionRecallCurve() {
	pr, _ := metrics.PrecisionRecallCurve([]int{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8})
	fmt.Printf("precision %.3f\nrecall %v\nthresholds %v\n", pr.Precision, pr.Recall, pr.Thresholds)
	ap, _ := metrics.AveragePrecision([]int{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8})
	fmt.Printf("average precision %.4f\n", ap)
	// Output:
	// precision [0.500 0.667 0.500 1.000 1.000]
	// recall [1 1 0.5 0.5 0]
	// thresholds [0.1 0.35 0.4 0.8]
	// average precision 0.8333
}

func ExampleF1() {
	yTrue := []int{0, 1, 2, 0, 1, 2}
	yPred := []int{0, 2, 1, 0, 0, 1}
	for _, avg := range []metrics.Average{metrics.AverageMicro, metrics.AverageMacro, metrics.AverageWeighted} {
		f1, _ := metrics.F1(yTrue, yPred, metrics.WithAverage(avg))
		fmt.Printf("%-8s %.4f\n", avg, f1)
	}
	// Output:
	// micro    0.3333
	// macro    0.2667
	// weighted 0.2667
}

func ExamplePrecisionRecallFScore() {
	// Class 2 is never predicted: its precision is ill-defined.
	s, _ := metrics.PrecisionRecallFScore([]int{0, 1, 2}, []int{0, 1, 1}, 1,
		metrics.WithAverage(metrics.AverageMacro))
	fmt.Printf("precision %.4f, ill-defined: %v\n", s.Precision, s.IllDefined)
	s, _ = metrics.PrecisionRecallFScore([]int{0, 1, 2}, []int{0, 1, 1}, 1,
		metrics.WithAverage(metrics.AverageMacro), metrics.WithZeroDivision(metrics.ZeroDivisionNaN))
	fmt.Printf("precision %.4f (class 2 left out)\n", s.Precision)
	// Output:
	// precision 0.5000, ill-defined: precision
	// precision 0.7500 (class 2 left out)
}

func ExampleConfusionMatrix() {
	cm, _ := metrics.ConfusionMatrix([]int{2, 0, 2, 2, 0, 1}, []int{0, 0, 2, 2, 0, 2})
	fmt.Print(cm)
	// Output:
	// true\pred         0         1         2
	//         0         2         0         0
	//         1         0         0         1
	//         2         1         0         2
}

func ExampleReport() {
	yTrue := []int{0, 1, 2, 2, 2}
	yPred := []int{0, 0, 2, 2, 1}
	r, err := metrics.Report(yTrue, yPred, metrics.WithTargetNames("class 0", "class 1", "class 2"))
	if err != nil {
		panic(err)
	}
	fmt.Print(r)
	fmt.Printf("weighted F1 = %.4f\n", r.Weighted.F1)
	// Output:
	//               precision    recall  f1-score   support
	//
	//      class 0       0.50      1.00      0.67         1
	//      class 1       0.00      0.00      0.00         1
	//      class 2       1.00      0.67      0.80         3
	//
	//     accuracy                           0.60         5
	//    macro avg       0.50      0.56      0.49         5
	// weighted avg       0.70      0.60      0.61         5
	// weighted F1 = 0.6133
}

func ExampleLogLoss() {
	loss, _ := metrics.LogLoss([]int{1, 0, 0, 1}, []float64{0.9, 0.1, 0.2, 0.65}, 1)
	fmt.Printf("%.5f\n", loss)
	// Output:
	// 0.21616
}

func ExampleTopKAccuracy() {
	yTrue := []int{0, 1, 2, 2}
	scores := []float32{
		0.5, 0.2, 0.2,
		0.3, 0.4, 0.2,
		0.2, 0.4, 0.3,
		0.7, 0.2, 0.1,
	}
	top2, _ := metrics.TopKAccuracy(yTrue, scores, 3, 2)
	fmt.Println(top2)
	// Output:
	// 0.75
}

// A training loop drives any set of accumulators through the Metric
// interface, one batch at a time.
func ExampleMetric() {
	type batch struct {
		labels []int
		scores []float32 // [batch, 3] softmax outputs
	}
	batches := []batch{
		{[]int{0, 1}, []float32{0.8, 0.1, 0.1, 0.3, 0.6, 0.1}},
		{[]int{2, 2}, []float32{0.1, 0.2, 0.7, 0.5, 0.2, 0.3}},
		{[]int{1, 0}, []float32{0.2, 0.7, 0.1, 0.4, 0.4, 0.2}},
	}
	ms := []metrics.Metric{
		metrics.NewAccuracyMetric(),
		metrics.NewF1Metric(metrics.WithAverage(metrics.AverageMacro)),
		metrics.NewROCAUCMetric(),
		metrics.NewLogLossMetric(),
	}
	for _, b := range batches {
		for _, m := range ms {
			if err := m.Update(b.labels, b.scores, 3); err != nil {
				panic(err)
			}
		}
	}
	for _, m := range ms {
		v, err := m.Result()
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %.4f\n", m.Name(), v)
		m.Reset()
	}
	// Output:
	// accuracy: 0.8333
	// f1_macro: 0.8222
	// roc_auc: 0.9583
	// log_loss: 0.5946
}
