package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// randomBatchData returns labels and [n, c] scores (c == 1: sigmoid
// probabilities) loosely correlated with the labels, with ties.
func randomBatchData(r *rand.Rand, n, c int) ([]int, []float32) {
	y := make([]int, n)
	s := make([]float32, n*max(c, 1))
	for i := range y {
		if c == 1 {
			y[i] = r.IntN(2)
			s[i] = float32(r.IntN(5)+2*y[i]) / 6
			continue
		}
		y[i] = r.IntN(c)
		for j := range c {
			s[i*c+j] = float32(r.IntN(4))
		}
		s[i*c+y[i]] += float32(r.IntN(3))
	}
	return y, s
}

func TestAccumulatorsMatchOneShot(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []int{1, 2, 4} {
		y, s := randomBatchData(r, 700, c)
		if c == 2 {
			for i := range y {
				y[i] = r.IntN(2)
			}
		}
		metrics := []Metric{
			NewAccuracyMetric(),
			NewF1Metric(WithAverage(AverageMacro)),
			NewFBetaMetric(2, WithAverage(AverageWeighted)),
			NewConfusionMetric(),
			NewROCAUCMetric(),
		}
		for _, b := range splitBatches(r, len(y)) {
			for _, m := range metrics {
				require.NoError(t, m.Update(y[b[0]:b[1]], s[b[0]*c:b[1]*c], c), m.Name())
			}
		}
		pred, err := PredictLabels(nil, s, c)
		require.NoError(t, err)
		wantAcc, err := Accuracy(y, pred)
		require.NoError(t, err)
		wantF1, err := F1(y, pred, WithAverage(AverageMacro))
		require.NoError(t, err)
		wantF2, err := FBeta(y, pred, 2, WithAverage(AverageWeighted))
		require.NoError(t, err)
		var wantAUC float64
		switch c {
		case 1:
			wantAUC, err = ROCAUC(y, s)
		case 2:
			col := make([]float32, len(y))
			for i := range col {
				col[i] = s[2*i+1]
			}
			wantAUC, err = ROCAUC(y, col)
		default:
			wantAUC, err = ROCAUCOvR(y, s, c, AverageMacro)
		}
		require.NoError(t, err)
		for i, want := range []float64{wantAcc, wantF1, wantF2, wantAcc, wantAUC} {
			got, err := metrics[i].Result()
			require.NoError(t, err, metrics[i].Name())
			require.InDelta(t, want, got, 1e-12, "%s with %d classes", metrics[i].Name(), c)
		}
		cm, err := metrics[3].(*ConfusionMetric).Matrix()
		require.NoError(t, err)
		want, err := ConfusionMatrix(y, pred)
		require.NoError(t, err)
		require.Equal(t, want, cm)
		for _, m := range metrics {
			m.Reset()
			_, err := m.Result()
			require.ErrorIs(t, err, ErrEmpty, m.Name())
		}
	}
}

func TestAccumulatorErrorsLeaveStateUnchanged(t *testing.T) {
	acc := NewAccuracyMetric()
	f1 := NewF1Metric()
	cm := NewConfusionMetric()
	auc := NewROCAUCMetric()
	ll := NewLogLossMetric()
	all := []Metric{acc, f1, cm, auc, ll}
	y := []int{0, 1, 1, 0}
	s := []float32{0.2, 0.8, 0.4, 0.6}
	for _, m := range all {
		require.NoError(t, m.Update(y, s, 1), m.Name())
	}
	before := make([]float64, len(all))
	for i, m := range all {
		var err error
		before[i], err = m.Result()
		require.NoError(t, err)
	}
	nan := float32(math.NaN())
	bad := []struct {
		y []int
		s []float32
		c int
	}{
		{nil, nil, 1},
		{[]int{0, 1}, []float32{0.5}, 1},
		{[]int{0, 1}, []float32{0.5, nan}, 1},
		{[]int{0, 1}, []float32{0.5, float32(math.Inf(-1))}, 1},
		{[]int{0, 1}, []float32{0.5, 0.5}, 0},
	}
	for _, b := range bad {
		for _, m := range all {
			require.Error(t, m.Update(b.y, b.s, b.c), "%s %v", m.Name(), b)
		}
	}
	// Labels out of range for score metrics.
	require.ErrorIs(t, auc.Update([]int{0, 2}, s[:2], 1), ErrLabel)
	require.ErrorIs(t, ll.Update([]int{0, 2}, s[:2], 1), ErrLabel)
	// numClasses may not change between batches.
	require.ErrorIs(t, auc.Update([]int{0, 2}, []float32{1, 0, 0, 0, 0, 1}, 3), ErrOption)
	for i, m := range all {
		got, err := m.Result()
		require.NoError(t, err)
		require.Equal(t, before[i], got, m.Name())
	}
	// Label updates.
	for _, m := range []LabelMetric{acc, f1, cm} {
		require.ErrorIs(t, m.UpdateLabels([]int{1}, nil), ErrLengthMismatch)
	}
}

func TestAccumulatorNamesAndOptions(t *testing.T) {
	require.Equal(t, "accuracy", NewAccuracyMetric().Name())
	require.Equal(t, "precision", NewPrecisionMetric().Name())
	require.Equal(t, "recall_macro", NewRecallMetric(WithAverage(AverageMacro)).Name())
	require.Equal(t, "f1_weighted", NewF1Metric(WithAverage(AverageWeighted)).Name())
	require.Equal(t, "f0.5_micro", NewFBetaMetric(0.5, WithAverage(AverageMicro)).Name())
	require.Equal(t, "confusion_matrix", NewConfusionMetric().Name())
	require.Equal(t, "roc_auc", NewROCAUCMetric().Name())
	require.Equal(t, "roc_auc_weighted", NewROCAUCMetric(WithAverage(AverageWeighted)).Name())
	require.Equal(t, "log_loss", NewLogLossMetric().Name())

	// Option errors surface at Result.
	m := NewFBetaMetric(-1)
	require.NoError(t, m.UpdateLabels([]int{0, 1}, []int{0, 1}))
	_, err := m.Result()
	require.ErrorIs(t, err, ErrOption)
	// Binary averaging of multi-class labels.
	m = NewF1Metric()
	require.NoError(t, m.UpdateLabels([]int{0, 1, 2}, []int{0, 1, 2}))
	_, err = m.Result()
	require.ErrorIs(t, err, ErrOption)
	per, err := m.PerClass()
	require.NoError(t, err)
	require.Equal(t, []float64{1, 1, 1}, per.FScore)

	// Only one class seen by the ROC AUC accumulator.
	a := NewROCAUCMetric()
	require.NoError(t, a.Update([]int{1, 1}, []float32{0.3, 0.9}, 1))
	_, err = a.Result()
	require.ErrorIs(t, err, ErrOneClass)

	// Confusion accumulator with a fixed label list.
	cm := NewConfusionMetric(WithLabels(1, 0))
	require.NoError(t, cm.UpdateLabels([]int{0, 1, 2, 1}, []int{0, 0, 2, 1}))
	mat, err := cm.Matrix()
	require.NoError(t, err)
	require.Equal(t, [][]int{{1, 1}, {0, 1}}, mat.Counts)
	cm = NewConfusionMetric(WithLabels(7))
	require.NoError(t, cm.UpdateLabels([]int{0}, []int{7}))
	_, err = cm.Matrix()
	require.ErrorIs(t, err, ErrOption)
}
