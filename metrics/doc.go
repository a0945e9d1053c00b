// Package metrics computes classification metrics: accuracy, top-k
// accuracy, confusion matrices, precision, recall, F1 and F-beta with
// binary, micro, macro and weighted averaging, ROC and precision-recall
// curves, ROC AUC (binary and one-vs-rest multi-class), average precision,
// log loss and a text classification report. It gives the same numbers as
// scikit-learn (checked against reference values made with scikit-learn
// 1.2.1; see testdata/gen_sklearn.py) and imports nothing but the standard
// library.
//
// Labels are []int. Scores are []float32 or []float64 (any type in Float);
// a score matrix for C classes is a row-major [N, C] matrix flattened into
// one slice, the layout of a model's output batch. One score per sample
// (numClasses == 1) is the probability of class 1 for binary labels 0/1.
//
// Scores may also be logits, the raw outputs of a model trained with a
// loss "with logits". Say so with WithLogits (or SetLogits on an
// accumulator, see LogitsSetter): single binary scores are then cut at
// logit(threshold), 0 for the default threshold 0.5, instead of at the
// threshold itself, and the log loss and the multi-column ROC AUC take
// the sigmoid or softmax first. WithThreshold moves the cut of single
// binary scores (default 0.5). Probabilities turns logits into
// probabilities:
//
//	yPred, err := metrics.PredictLabels(nil, logits, 1, metrics.WithLogits())
//	acc := metrics.NewAccuracyMetric(metrics.WithThreshold(0.7), metrics.WithLogits())
//	probs, err := metrics.Probabilities(nil, logits, 10, true) // softmax of each row
//
// Bad input gives an error, never a panic: empty or mismatched slices
// (ErrEmpty, ErrLengthMismatch), NaN or infinite scores (ErrNotFinite),
// labels out of range (ErrLabel), a ROC AUC of data with a single class
// (ErrOneClass), options that do not fit the data (ErrOption). A score
// with a zero denominator, such as the precision of a class that was never
// predicted, takes the value chosen by WithZeroDivision (0 by default, as
// scikit-learn's zero_division="warn") and is flagged in IllDefined.
//
// One-shot functions take whole slices:
//
//	f1, err := metrics.F1(yTrue, yPred, metrics.WithAverage(metrics.AverageMacro))
//	auc, err := metrics.ROCAUC(yTrue, probs)                      // binary
//	auc, err = metrics.ROCAUCOvR(yTrue, scores, 10, metrics.AverageMacro)
//	rep, err := metrics.Report(yTrue, yPred)
//	fmt.Print(rep)                                                // like classification_report
//
// Accumulators implement Metric and take one batch at a time, as a
// training loop has it, giving the same results as the one-shot functions
// over all batches together:
//
//	ms := []metrics.Metric{metrics.NewAccuracyMetric(), metrics.NewROCAUCMetric()}
//	for _, b := range batches {
//		for _, m := range ms {
//			if err := m.Update(b.Labels, b.Scores, numClasses); err != nil { ... }
//		}
//	}
//	for _, m := range ms {
//		v, err := m.Result()
//		fmt.Println(m.Name(), v, err)
//		m.Reset()
//	}
package metrics
