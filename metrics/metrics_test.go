package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAccuracy(t *testing.T) {
	got, err := Accuracy([]int{0, 1, 2, 3}, []int{0, 2, 1, 3})
	require.NoError(t, err)
	require.Equal(t, 0.5, got)
}

func TestTopKAccuracy(t *testing.T) {
	// scikit-learn's documented example.
	y := []int{0, 1, 2, 2}
	s := []float64{0.5, 0.2, 0.2, 0.3, 0.4, 0.2, 0.2, 0.4, 0.3, 0.7, 0.2, 0.1}
	for k, want := range map[int]float64{1: 0.5, 2: 0.75, 3: 1, 7: 1} {
		got, err := TopKAccuracy(y, s, 3, k)
		require.NoError(t, err)
		require.Equal(t, want, got, "k=%d", k)
	}
	// Ties: the larger class index ranks first.
	tied := []float32{1, 1, 1}
	got, err := TopKAccuracy([]int{2}, tied, 3, 1)
	require.NoError(t, err)
	require.Equal(t, 1.0, got)
	got, err = TopKAccuracy([]int{0}, tied, 3, 2)
	require.NoError(t, err)
	require.Equal(t, 0.0, got)
	// Binary: threshold 0.5 (strict).
	got, err = TopKAccuracy([]int{1, 0, 1, 0}, []float32{0.9, 0.5, 0.5, 0.1}, 1, 1)
	require.NoError(t, err)
	require.Equal(t, 0.75, got)
}

func TestConfusionMatrix(t *testing.T) {
	cm, err := ConfusionMatrix([]int{2, 0, 2, 2, 0, 1}, []int{0, 0, 2, 2, 0, 2})
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2}, cm.Labels)
	require.Equal(t, [][]int{{2, 0, 0}, {0, 0, 1}, {1, 0, 2}}, cm.Counts)
	require.Equal(t, 6, cm.Total())
	require.InDelta(t, 4.0/6, cm.Accuracy(), 1e-15)
	require.Equal(t, "true\\pred         0         1         2\n        0         2         0         0\n        1         0         0         1\n        2         1         0         2\n", cm.String())

	// A fixed label list: order kept, other labels left out, absent ones zero.
	cm, err = ConfusionMatrix([]int{2, 0, 2, 2, 0, 1}, []int{0, 0, 2, 2, 0, 2}, WithLabels(2, 0, 9))
	require.NoError(t, err)
	require.Equal(t, [][]int{{2, 1, 0}, {0, 2, 0}, {0, 0, 0}}, cm.Counts)

	_, err = ConfusionMatrix([]int{0, 1}, []int{0, 1}, WithLabels(5))
	require.ErrorIs(t, err, ErrOption)
	_, err = ConfusionMatrix([]int{0, 1}, []int{0, 1}, WithLabels(1, 1))
	require.ErrorIs(t, err, ErrOption)
	big := make([]int, MaxConfusionLabels+1)
	for i := range big {
		big[i] = i
	}
	_, err = ConfusionMatrix(big, big)
	require.ErrorIs(t, err, ErrOption)
}

func TestPrecisionRecallF(t *testing.T) {
	// tp=2, fp=2, fn=1.
	y := []int{0, 1, 1, 0, 1}
	p := []int{1, 1, 0, 1, 1}
	prec, err := Precision(y, p)
	require.NoError(t, err)
	require.InDelta(t, 0.5, prec, 1e-15)
	rec, err := Recall(y, p)
	require.NoError(t, err)
	require.InDelta(t, 2.0/3, rec, 1e-15)
	f1, err := F1(y, p)
	require.NoError(t, err)
	require.InDelta(t, 4.0/7, f1, 1e-15)
	f2, err := FBeta(y, p, 2)
	require.NoError(t, err)
	require.InDelta(t, 10.0/16, f2, 1e-15)
	fInf, err := FBeta(y, p, math.Inf(1))
	require.NoError(t, err)
	require.InDelta(t, rec, fInf, 1e-15)
	f0, err := FBeta(y, p, 0)
	require.NoError(t, err)
	require.InDelta(t, prec, f0, 1e-15)
	// Positive label 0: tp=0, fp=1, fn=2.
	p0, err := Precision(y, p, WithPosLabel(0))
	require.NoError(t, err)
	require.Equal(t, 0.0, p0)
	// Micro averaging over single-label data is the accuracy.
	for _, fn := range []func([]int, []int, ...Option) (float64, error){Precision, Recall, F1} {
		got, err := fn(y, p, WithAverage(AverageMicro))
		require.NoError(t, err)
		require.InDelta(t, 0.4, got, 1e-15)
	}
}

func TestNeverPredictedClass(t *testing.T) {
	// Class 2 is never predicted: its precision is ill-defined.
	y := []int{0, 1, 2}
	p := []int{0, 1, 1}
	cases := []struct {
		z         ZeroDivision
		precision float64
	}{
		{ZeroDivisionZero, (1 + 0.5 + 0) / 3},
		{ZeroDivisionOne, (1 + 0.5 + 1) / 3},
		{ZeroDivisionNaN, (1 + 0.5) / 2},
	}
	for _, c := range cases {
		s, err := PrecisionRecallFScore(y, p, 1, WithAverage(AverageMacro), WithZeroDivision(c.z))
		require.NoError(t, err)
		require.InDelta(t, c.precision, s.Precision, 1e-15, "zero division %d", c.z)
		require.InDelta(t, 2.0/3, s.Recall, 1e-15)
		require.InDelta(t, (1+2.0/3+0)/3, s.FScore, 1e-15)
		require.Equal(t, PrecisionIllDefined, s.IllDefined)
		require.Equal(t, "precision", s.IllDefined.String())
	}
	per, err := PerClass(y, p, 1)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2}, per.Labels)
	require.Equal(t, []float64{1, 0.5, 0}, per.Precision)
	require.Equal(t, []int{1, 1, 1}, per.Support)
	require.Equal(t, []IllDefined{0, 0, PrecisionIllDefined}, per.IllDefined)

	// A listed label with no samples at all: every score ill-defined.
	per, err = PerClass(y, p, 1, WithLabels(7), WithZeroDivision(ZeroDivisionNaN))
	require.NoError(t, err)
	require.True(t, math.IsNaN(per.Precision[0]) && math.IsNaN(per.Recall[0]) && math.IsNaN(per.FScore[0]))
	require.Equal(t, PrecisionIllDefined|RecallIllDefined|FScoreIllDefined, per.IllDefined[0])
	require.Equal(t, "precision|recall|fscore", per.IllDefined[0].String())
	require.Equal(t, "none", IllDefined(0).String())
}

func TestAllOneClass(t *testing.T) {
	// Binary averaging with only label 0 present: the positive class 1 has
	// neither true nor predicted samples.
	s, err := PrecisionRecallFScore([]int{0, 0}, []int{0, 0}, 1)
	require.NoError(t, err)
	require.Equal(t, Scores{IllDefined: PrecisionIllDefined | RecallIllDefined | FScoreIllDefined}, s)
	s, err = PrecisionRecallFScore([]int{0, 0}, []int{0, 0}, 1, WithZeroDivision(ZeroDivisionOne))
	require.NoError(t, err)
	require.Equal(t, 1.0, s.Precision)
	require.Equal(t, 1.0, s.FScore)
	// Weighted average over listed labels that have no support.
	s, err = PrecisionRecallFScore([]int{0, 0}, []int{0, 1}, 1, WithAverage(AverageWeighted), WithLabels(1, 2), WithZeroDivision(ZeroDivisionOne))
	require.NoError(t, err)
	require.Equal(t, 0.0, s.Precision)
	require.Equal(t, 1.0, s.Recall)
	require.Equal(t, 0.0, s.FScore)
}

func TestPRFOptionErrors(t *testing.T) {
	y := []int{0, 1, 2}
	_, err := F1(y, y) // multi-class with binary averaging
	require.ErrorIs(t, err, ErrOption)
	_, err = F1([]int{0, 2}, []int{2, 0}) // positive label 1 absent
	require.ErrorIs(t, err, ErrOption)
	_, err = FBeta(y, y, -1, WithAverage(AverageMacro))
	require.ErrorIs(t, err, ErrOption)
	_, err = FBeta(y, y, math.NaN(), WithAverage(AverageMacro))
	require.ErrorIs(t, err, ErrOption)
	_, err = F1(y, y, WithAverage(Average(42)))
	require.ErrorIs(t, err, ErrOption)
	_, err = F1(y, y, WithAverage(AverageMacro), WithZeroDivision(ZeroDivision(9)))
	require.ErrorIs(t, err, ErrOption)
	_, err = F1(y, y, WithAverage(AverageMacro), WithLabels())
	require.ErrorIs(t, err, ErrOption)
	require.Equal(t, "weighted", AverageWeighted.String())
	require.Equal(t, "Average(42)", Average(42).String())
}

func TestROCHand(t *testing.T) {
	// scikit-learn's documented example.
	y := []int{0, 0, 1, 1}
	s := []float64{0.1, 0.4, 0.35, 0.8}
	roc, err := ROCCurve(y, s)
	require.NoError(t, err)
	require.Equal(t, []float64{0, 0, 0.5, 0.5, 1}, roc.FPR)
	require.Equal(t, []float64{0, 0.5, 0.5, 1, 1}, roc.TPR)
	require.Equal(t, []float64{1.8, 0.8, 0.4, 0.35, 0.1}, roc.Thresholds)
	auc, err := ROCAUC(y, s)
	require.NoError(t, err)
	require.Equal(t, 0.75, auc)

	pr, err := PrecisionRecallCurve(y, s)
	require.NoError(t, err)
	require.InDeltaSlice(t, []float64{0.5, 2.0 / 3, 0.5, 1, 1}, pr.Precision, 1e-15)
	require.Equal(t, []float64{1, 1, 0.5, 0.5, 0}, pr.Recall)
	require.Equal(t, []float64{0.1, 0.35, 0.4, 0.8}, pr.Thresholds)
	ap, err := AveragePrecision(y, s)
	require.NoError(t, err)
	require.InDelta(t, 0.5*1+0.5*2.0/3, ap, 1e-15)
}

// pairAUC is the O(n²) definition: P(score of a positive > score of a
// negative), ties counting one half.
func pairAUC(y []int, s []float64) float64 {
	var num, den float64
	for i := range y {
		for j := range y {
			if y[i] == 1 && y[j] == 0 {
				den++
				switch {
				case s[i] > s[j]:
					num++
				case s[i] == s[j]:
					num += 0.5
				}
			}
		}
	}
	return num / den
}

func TestROCAUCTiesAndDegenerate(t *testing.T) {
	cases := []struct {
		name string
		y    []int
		s    []float64
		want float64
	}{
		{"one tie", []int{0, 1}, []float64{0.5, 0.5}, 0.5},
		{"partial ties", []int{0, 1, 1, 0}, []float64{0.3, 0.3, 0.9, 0.1}, 3.5 / 4},
		{"all tied", []int{0, 1, 1, 0, 1}, []float64{2, 2, 2, 2, 2}, 0.5},
		{"perfect", []int{0, 0, 1, 1}, []float64{-3, -1, 4, 5}, 1},
		{"inverted", []int{1, 1, 0, 0}, []float64{-3, -1, 4, 5}, 0},
		{"signed zeros tie", []int{1, 0}, []float64{math.Copysign(0, -1), 0}, 0.5},
	}
	for _, c := range cases {
		got, err := ROCAUC(c.y, c.s)
		require.NoError(t, err, c.name)
		require.Equal(t, c.want, got, c.name)
		require.Equal(t, c.want, pairAUC(c.y, c.s), c.name)
	}
	// All tied: the curve is the diagonal, one threshold.
	roc, err := ROCCurve([]int{0, 1, 1, 0}, []float32{0.25, 0.25, 0.25, 0.25})
	require.NoError(t, err)
	require.Equal(t, []float64{0, 1}, roc.FPR)
	require.Equal(t, []float64{0, 1}, roc.TPR)
	require.Equal(t, []float64{1.25, 0.25}, roc.Thresholds)
}

func TestROCAUCMatchesPairwiseDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{3, 50, 500, 2047, 4100, 6000} {
		y := make([]int, n)
		s := make([]float64, n)
		s32 := make([]float32, n)
		for i := range y {
			y[i] = r.IntN(2)
			switch r.IntN(3) {
			case 0:
				s[i] = float64(r.IntN(9)-4) / 4 // ties, negatives, zero
			case 1:
				s[i] = r.NormFloat64() * 1e6
			default:
				s[i] = float64(float32(r.Float64()))
			}
			s32[i] = float32(s[i])
		}
		y[0], y[1] = 0, 1
		want := pairAUC(y, s)
		got, err := ROCAUC(y, s)
		require.NoError(t, err)
		require.InDelta(t, want, got, 1e-12, "n=%d", n)
		// float32 scores rank the same here except where rounding merges
		// values, so compare with the float32 pairwise value.
		s64 := make([]float64, n)
		for i, v := range s32 {
			s64[i] = float64(v)
		}
		got32, err := ROCAUC(y, s32)
		require.NoError(t, err)
		require.InDelta(t, pairAUC(y, s64), got32, 1e-12, "n=%d float32", n)
		// The trapezoid over the curve gives the same area.
		roc, err := ROCCurveAll(y, s)
		require.NoError(t, err)
		var area float64
		for i := 1; i < len(roc.FPR); i++ {
			area += (roc.FPR[i] - roc.FPR[i-1]) * (roc.TPR[i] + roc.TPR[i-1]) / 2
		}
		require.InDelta(t, want, area, 1e-12)
	}
}

func TestROCAUCOvRHand(t *testing.T) {
	// Class 0 and 2 are ranked perfectly by their columns; class 1 scores
	// 0.5 everywhere, giving AUC 0.5.
	y := []int{0, 1, 2, 2}
	s := []float32{
		0.9, 0.5, 0.1,
		0.1, 0.5, 0.2,
		0.2, 0.5, 0.8,
		0.3, 0.5, 0.7,
	}
	per, err := ROCAUCPerClass(y, s, 3)
	require.NoError(t, err)
	require.Equal(t, []float64{1, 0.5, 1}, per)
	macro, err := ROCAUCOvR(y, s, 3, AverageMacro)
	require.NoError(t, err)
	require.InDelta(t, 2.5/3, macro, 1e-15)
	weighted, err := ROCAUCOvR(y, s, 3, AverageWeighted)
	require.NoError(t, err)
	require.InDelta(t, (1+0.5+2)/4, weighted, 1e-15)

	_, err = ROCAUCOvR(y, s, 3, AverageMicro)
	require.ErrorIs(t, err, ErrOption)
	_, err = ROCAUCOvR([]int{0, 1, 1, 1}, s, 3, AverageMacro) // class 2 absent
	require.ErrorIs(t, err, ErrOneClass)
	_, err = ROCAUCOvR([]int{0, 1, 3, 1}, s, 3, AverageMacro)
	require.ErrorIs(t, err, ErrLabel)
	_, err = ROCAUCOvR([]int{0}, []float32{1}, 1, AverageMacro)
	require.ErrorIs(t, err, ErrOption)
}

func TestLogLoss(t *testing.T) {
	// scikit-learn's documented example: 0.21616...
	y := []int{1, 0, 0, 1}
	want := -(math.Log(0.9) + math.Log(0.9) + math.Log(0.8) + math.Log(0.65)) / 4
	got, err := LogLoss(y, []float64{0.9, 0.1, 0.2, 0.65}, 1)
	require.NoError(t, err)
	require.InDelta(t, want, got, 1e-15)
	got, err = LogLoss(y, []float64{0.1, 0.9, 0.9, 0.1, 0.8, 0.2, 0.35, 0.65}, 2)
	require.NoError(t, err)
	require.InDelta(t, want, got, 1e-15)
	require.InDelta(t, 0.21616, got, 1e-5)

	// A zero probability on the true class is clipped to the epsilon of the
	// input type.
	got, err = LogLoss([]int{1}, []float64{0}, 1)
	require.NoError(t, err)
	require.InDelta(t, -math.Log(0x1p-52), got, 1e-9)
	got, err = LogLoss([]int{1}, []float32{0}, 1)
	require.NoError(t, err)
	require.InDelta(t, -math.Log(0x1p-23), got, 1e-9)

	// Rows that do not sum to one are renormalized.
	got, err = LogLoss([]int{0}, []float64{0.2, 0.2}, 2)
	require.NoError(t, err)
	require.InDelta(t, math.Log(2), got, 1e-15)

	_, err = LogLoss([]int{0}, []float64{1.5}, 1)
	require.ErrorIs(t, err, ErrOption)
	_, err = LogLoss([]int{2}, []float64{0.5}, 1)
	require.ErrorIs(t, err, ErrLabel)
	_, err = LogLoss([]int{2}, []float64{0.5, 0.5}, 2)
	require.ErrorIs(t, err, ErrLabel)
}

func TestInputErrors(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	type scoreFn func(y []int, s []float64) error
	wrap := func(f func([]int, []float64) (float64, error)) scoreFn {
		return func(y []int, s []float64) error { _, err := f(y, s); return err }
	}
	fns := map[string]scoreFn{
		"ROCAUC":           wrap(ROCAUC[float64]),
		"AveragePrecision": wrap(AveragePrecision[float64]),
		"ROCCurve":         func(y []int, s []float64) error { _, err := ROCCurve(y, s); return err },
		"ROCCurveAll":      func(y []int, s []float64) error { _, err := ROCCurveAll(y, s); return err },
		"PRCurve":          func(y []int, s []float64) error { _, err := PrecisionRecallCurve(y, s); return err },
		"LogLoss":          func(y []int, s []float64) error { _, err := LogLoss(y, s, 1); return err },
		"TopK":             func(y []int, s []float64) error { _, err := TopKAccuracy(y, s, 1, 1); return err },
		"OvR": func(y []int, s []float64) error {
			s2 := make([]float64, 0, 2*len(s))
			for _, v := range s {
				s2 = append(s2, v, 1-v)
			}
			_, err := ROCAUCOvR(y, s2, 2, AverageMacro)
			return err
		},
	}
	cases := []struct {
		name string
		y    []int
		s    []float64
		want error
	}{
		{"empty", nil, nil, ErrEmpty},
		{"mismatch", []int{0, 1}, []float64{0.5}, ErrLengthMismatch},
		{"NaN", []int{0, 1}, []float64{0.5, nan}, ErrNotFinite},
		{"Inf", []int{0, 1}, []float64{-inf, 0.5}, ErrNotFinite},
		{"bad label", []int{0, 3}, []float64{0.5, 0.5}, ErrLabel},
	}
	for name, fn := range fns {
		for _, c := range cases {
			require.ErrorIs(t, fn(c.y, c.s), c.want, "%s %s", name, c.name)
		}
	}
	// Only one class.
	for _, name := range []string{"ROCAUC", "ROCCurve", "ROCCurveAll", "OvR"} {
		require.ErrorIs(t, fns[name]([]int{1, 1}, []float64{0.2, 0.7}), ErrOneClass, name)
		require.ErrorIs(t, fns[name]([]int{0, 0}, []float64{0.2, 0.7}), ErrOneClass, name)
	}
	for _, name := range []string{"AveragePrecision", "PRCurve"} {
		require.ErrorIs(t, fns[name]([]int{0, 0}, []float64{0.2, 0.7}), ErrOneClass, name)
		require.NoError(t, fns[name]([]int{1, 1}, []float64{0.2, 0.7}), name)
	}
	_, err := TopKAccuracy([]int{0}, []float64{1, 2}, 2, 0)
	require.ErrorIs(t, err, ErrOption)
	_, err = TopKAccuracy([]int{0}, []float64{1, 2}, 0, 1)
	require.ErrorIs(t, err, ErrOption)

	// Label metrics.
	labelFns := map[string]func(y, p []int) error{
		"Accuracy":  func(y, p []int) error { _, err := Accuracy(y, p); return err },
		"F1":        func(y, p []int) error { _, err := F1(y, p); return err },
		"PerClass":  func(y, p []int) error { _, err := PerClass(y, p, 1); return err },
		"Confusion": func(y, p []int) error { _, err := ConfusionMatrix(y, p); return err },
		"Report":    func(y, p []int) error { _, err := Report(y, p); return err },
	}
	for name, fn := range labelFns {
		require.ErrorIs(t, fn(nil, nil), ErrEmpty, name)
		require.ErrorIs(t, fn([]int{1}, []int{1, 0}), ErrLengthMismatch, name)
	}
}

func TestPredictLabels(t *testing.T) {
	got, err := PredictLabels(nil, []float32{0.2, 0.5, 0.51}, 1)
	require.NoError(t, err)
	require.Equal(t, []int{0, 0, 1}, got)
	nan := float32(math.NaN())
	got, err = PredictLabels(got[:0], []float32{1, 3, 3, nan, 0, -1, 2, 2, 1}, 3)
	require.NoError(t, err)
	require.Equal(t, []int{1, 1, 0}, got)
	_, err = PredictLabels(nil, []float32{1, 2, 3}, 2)
	require.ErrorIs(t, err, ErrLengthMismatch)
	_, err = PredictLabels(nil, []float32{1}, 0)
	require.ErrorIs(t, err, ErrOption)
}

func TestBinarize(t *testing.T) {
	require.Equal(t, []int{0, 1, 0, 1}, Binarize([]int{-1, 3, 0, 3}, 3))
}
