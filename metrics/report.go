package metrics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ReportRow is one line of a classification report.
type ReportRow struct {
	Name      string
	Precision float64
	Recall    float64
	F1        float64
	Support   int
}

// ClassificationReport holds the numbers of scikit-learn's
// classification_report: per-class precision, recall, F1 and support, and
// their micro, macro and support-weighted averages. String formats it as
// scikit-learn's text table.
type ClassificationReport struct {
	// Labels are the class labels, in row order.
	Labels []int
	// Classes holds one row per label, named by WithTargetNames or by the
	// label's decimal form.
	Classes []ReportRow
	// Micro holds the micro averages. For single-label data over all the
	// labels present, its precision, recall and F1 all equal the accuracy,
	// and MicroIsAccuracy is true.
	Micro ReportRow
	// MicroIsAccuracy says whether the micro row is the accuracy: true
	// unless WithLabels chose a set of labels other than those present.
	// The text table then prints it as a single "accuracy" line.
	MicroIsAccuracy bool
	// Accuracy is Micro.F1, meaningful when MicroIsAccuracy.
	Accuracy float64
	// Macro and Weighted hold the unweighted and support-weighted means.
	Macro    ReportRow
	Weighted ReportRow
	// IllDefined collects the zero divisions met by any class.
	IllDefined IllDefined
	// Digits is the number of decimals String prints.
	Digits int
}

// Report computes a classification report of the labels. It honours
// WithLabels (the rows, in that order), WithTargetNames (one display name
// per row; a count that differs from the number of rows is an error),
// WithZeroDivision and WithDigits (default 2).
func Report(yTrue, yPred []int, opts ...Option) (*ClassificationReport, error) {
	const fn = "Report"
	if err := checkPair(fn, yTrue, yPred); err != nil {
		return nil, err
	}
	c := newConfig(opts)
	if err := c.validate(fn); err != nil {
		return nil, err
	}
	lc := countLabels(yTrue, yPred)
	labels := lc.labels
	microIsAcc := true
	if c.labelsSet {
		labels = c.labels
		sorted := slices.Clone(labels)
		slices.Sort(sorted)
		microIsAcc = slices.Equal(sorted, lc.labels)
	}
	names := c.targetNames
	if names != nil && len(names) != len(labels) {
		return nil, fmt.Errorf("%w: metrics.%s: %d target names for %d labels %v", ErrOption, fn, len(names), len(labels), labels)
	}
	if names == nil {
		for _, l := range labels {
			names = append(names, strconv.Itoa(l))
		}
	}
	cfg := c
	cfg.labels, cfg.labelsSet = labels, true
	per := lc.perClass(1, &cfg)
	r := &ClassificationReport{Labels: slices.Clone(labels), MicroIsAccuracy: microIsAcc, Digits: c.digits}
	var total int
	for i := range labels {
		r.Classes = append(r.Classes, ReportRow{
			Name: names[i], Precision: per.Precision[i], Recall: per.Recall[i], F1: per.FScore[i], Support: per.Support[i],
		})
		r.IllDefined |= per.IllDefined[i]
		total += per.Support[i]
	}
	for _, a := range []struct {
		avg  Average
		row  *ReportRow
		name string
	}{{AverageMicro, &r.Micro, "micro avg"}, {AverageMacro, &r.Macro, "macro avg"}, {AverageWeighted, &r.Weighted, "weighted avg"}} {
		cfg.average = a.avg
		s, err := lc.scores(fn, 1, &cfg)
		if err != nil {
			return nil, err
		}
		*a.row = ReportRow{Name: a.name, Precision: s.Precision, Recall: s.Recall, F1: s.FScore, Support: total}
	}
	if microIsAcc {
		r.Micro.Name = "accuracy"
	}
	r.Accuracy = r.Micro.F1
	return r, nil
}

// String formats the report exactly as scikit-learn's
// classification_report with the same digits: a header, one line per
// class, then either an "accuracy" line or a "micro avg" line, then the
// "macro avg" and "weighted avg" lines.
func (r *ClassificationReport) String() string {
	d := r.Digits
	width := max(utf8.RuneCountInString("weighted avg"), d)
	for _, row := range r.Classes {
		width = max(width, utf8.RuneCountInString(row.Name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support")
	line := func(row ReportRow) {
		fmt.Fprintf(&b, "%*s  %9s %9s %9s %9d\n", width, row.Name,
			fixed(row.Precision, d), fixed(row.Recall, d), fixed(row.F1, d), row.Support)
	}
	for _, row := range r.Classes {
		line(row)
	}
	b.WriteByte('\n')
	if r.MicroIsAccuracy {
		fmt.Fprintf(&b, "%*s  %9s %9s %9s %9d\n", width, "accuracy", "", "", fixed(r.Micro.F1, d), r.Micro.Support)
	} else {
		line(r.Micro)
	}
	line(r.Macro)
	line(r.Weighted)
	return b.String()
}

// fixed formats v with d decimals as Python's format(v, ".{d}f") does,
// including "nan" and "inf".
func fixed(v float64, d int) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}
