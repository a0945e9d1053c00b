package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPredictLabelsThresholdAndLogits(t *testing.T) {
	scores := []float32{-0.9, -0.8, -0.2, 0, 0.3, 0.6, 0.69, 0.71, 0.9}
	for _, tc := range []struct {
		name string
		opts []Option
		want []int
	}{
		// Probabilities cut at 0.5 (strictly above).
		{"prob 0.5", nil, []int{0, 0, 0, 0, 0, 1, 1, 1, 1}},
		{"prob 0.7", []Option{WithThreshold(0.7)}, []int{0, 0, 0, 0, 0, 0, 0, 1, 1}},
		// Logits cut at logit(0.5) = 0: logit 0.3 is probability 0.574.
		{"logits 0.5", []Option{WithLogits()}, []int{0, 0, 0, 0, 1, 1, 1, 1, 1}},
		// logit(0.7) = 0.847, logit(0.3) = -0.847.
		{"logits 0.7", []Option{WithLogits(), WithThreshold(0.7)}, []int{0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"logits 0.3", []Option{WithThreshold(0.3), WithLogits()}, []int{0, 1, 1, 1, 1, 1, 1, 1, 1}},
	} {
		got, err := PredictLabels(nil, scores, 1, tc.opts...)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
		// The same labels as cutting the sigmoid of the logits.
		if len(tc.opts) > 0 && newConfig(tc.opts).logits {
			probs, err := Probabilities(nil, scores, 1, true)
			require.NoError(t, err)
			viaProbs, err := PredictLabels(nil, probs, 1, WithThreshold(newConfig(tc.opts).threshold))
			require.NoError(t, err)
			require.Equal(t, tc.want, viaProbs, tc.name)
		}
	}
	// Argmax ignores threshold and logits.
	got, err := PredictLabels(nil, []float64{-3, -1, -2, 5, 0.1, 0.2}, 3, WithLogits(), WithThreshold(0.9))
	require.NoError(t, err)
	require.Equal(t, []int{1, 0}, got)
}

func TestWithThresholdRejectsBadValues(t *testing.T) {
	for _, p := range []float64{0, 1, -0.1, 1.5, math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := PredictLabels(nil, []float32{0.2}, 1, WithThreshold(p))
		require.ErrorIs(t, err, ErrOption, "threshold %v", p)
		require.ErrorContains(t, err, "threshold")

		m := NewAccuracyMetric(WithThreshold(p))
		require.ErrorIs(t, m.Update([]int{1}, []float32{0.7}, 1), ErrOption, "threshold %v", p)
		_, err = m.Result()
		require.ErrorIs(t, err, ErrEmpty, "a failed Update must leave the metric empty")

		f := NewF1Metric(WithThreshold(p))
		require.ErrorIs(t, f.Update([]int{1}, []float32{0.7}, 1), ErrOption)
		require.ErrorIs(t, f.UpdateLabels([]int{1}, []int{1}), nil)
		_, err = f.Result()
		require.ErrorIs(t, err, ErrOption)

		_, err = Precision([]int{1}, []int{1}, WithThreshold(p))
		require.ErrorIs(t, err, ErrOption)
	}
}

func TestLabelMetricsFromLogits(t *testing.T) {
	// Logits 0.3 and 0.1 are probabilities 0.574 and 0.525: positives.
	// Cut at 0.5 as if they were probabilities, they would be negatives.
	y := []int{1, 1, 0, 1, 0}
	logits := []float32{0.3, 0.7, -0.2, 0.1, 0.4}
	// Predictions from logits: 1, 1, 0, 1, 1 -> tp 3, fp 1, fn 0.
	acc := NewAccuracyMetric(WithLogits())
	require.NoError(t, acc.Update(y, logits, 1))
	a, err := acc.Result()
	require.NoError(t, err)
	require.Equal(t, 0.8, a)

	for _, tc := range []struct {
		m    *PRFMetric
		want float64
	}{
		{NewPrecisionMetric(WithLogits()), 0.75},
		{NewRecallMetric(WithLogits()), 1},
		{NewF1Metric(WithLogits()), 2 * 0.75 / 1.75},
	} {
		require.NoError(t, tc.m.Update(y, logits, 1))
		got, err := tc.m.Result()
		require.NoError(t, err)
		require.InDelta(t, tc.want, got, 1e-15, tc.m.Name())
	}

	cm := NewConfusionMetric(WithLogits())
	require.NoError(t, cm.Update(y, logits, 1))
	mat, err := cm.Matrix()
	require.NoError(t, err)
	require.Equal(t, [][]int{{1, 1}, {0, 3}}, mat.Counts)

	// SetLogits(true) on a metric built without options does the same;
	// SetLogits(false) goes back to reading probabilities.
	var m Metric = NewAccuracyMetric()
	m.(LogitsSetter).SetLogits(true)
	require.NoError(t, m.Update(y, logits, 1))
	a, err = m.Result()
	require.NoError(t, err)
	require.Equal(t, 0.8, a)
	acc.Reset()
	acc.SetLogits(false)
	require.NoError(t, acc.Update(y, logits, 1)) // predictions 0, 1, 0, 0, 0
	a, err = acc.Result()
	require.NoError(t, err)
	require.Equal(t, 0.6, a)
}

func TestEveryAccumulatorTakesSetLogits(t *testing.T) {
	for _, m := range []Metric{
		NewAccuracyMetric(), NewPrecisionMetric(), NewRecallMetric(), NewF1Metric(), NewFBetaMetric(2),
		NewConfusionMetric(), NewROCAUCMetric(), NewLogLossMetric(),
	} {
		_, ok := m.(LogitsSetter)
		require.True(t, ok, m.Name())
	}
}

func TestLogitStreamsMatchSigmoidAndOneShot(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 300
	y := make([]int, n)
	logits := make([]float32, n)
	for i := range y {
		y[i] = r.IntN(2)
		// Many logits between 0 and 0.5, where the two cuts disagree.
		logits[i] = float32(r.Float64()*1.6-0.6) + 0.1*float32(y[i])
	}
	probs, err := Probabilities(nil, logits, 1, true)
	require.NoError(t, err)
	predLogits, err := PredictLabels(nil, logits, 1, WithLogits())
	require.NoError(t, err)
	predOld, err := PredictLabels(nil, logits, 1)
	require.NoError(t, err)
	require.NotEqual(t, predLogits, predOld, "the data must tell the cuts apart")

	makers := []func(...Option) Metric{
		func(o ...Option) Metric { return NewAccuracyMetric(o...) },
		func(o ...Option) Metric { return NewF1Metric(o...) },
		func(o ...Option) Metric { return NewPrecisionMetric(o...) },
		func(o ...Option) Metric { return NewRecallMetric(o...) },
		func(o ...Option) Metric { return NewConfusionMetric(o...) },
		func(o ...Option) Metric { return NewROCAUCMetric(o...) },
		func(o ...Option) Metric { return NewLogLossMetric(o...) },
	}
	for _, mk := range makers {
		fromLogits, fromProbs := mk(WithLogits()), mk()
		for lo := 0; lo < n; lo += 64 {
			hi := min(lo+64, n)
			require.NoError(t, fromLogits.Update(y[lo:hi], logits[lo:hi], 1))
			require.NoError(t, fromProbs.Update(y[lo:hi], probs[lo:hi], 1))
		}
		a, err := fromLogits.Result()
		require.NoError(t, err)
		b, err := fromProbs.Result()
		require.NoError(t, err)
		require.InDelta(t, b, a, 1e-12, fromLogits.Name())
	}

	// Streams equal one-shot functions on the logits.
	acc := NewAccuracyMetric(WithLogits())
	f1 := NewF1Metric(WithLogits())
	for lo := 0; lo < n; lo += 50 {
		require.NoError(t, acc.Update(y[lo:lo+50], logits[lo:lo+50], 1))
		require.NoError(t, f1.Update(y[lo:lo+50], logits[lo:lo+50], 1))
	}
	want, err := Accuracy(y, predLogits)
	require.NoError(t, err)
	got, err := acc.Result()
	require.NoError(t, err)
	require.Equal(t, want, got)
	want, err = F1(y, predLogits)
	require.NoError(t, err)
	got, err = f1.Result()
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestLogLossFromLogits(t *testing.T) {
	// Hand values: logit 0 is p = 1/2; logit ln 3 is p = 3/4.
	got, err := LogLoss([]int{1, 1, 0}, []float64{0, math.Log(3), math.Log(3)}, 1, WithLogits())
	require.NoError(t, err)
	require.InDelta(t, (math.Log(2)+math.Log(4.0/3)+math.Log(4))/3, got, 1e-12)

	_, err = LogLoss([]int{1, 0, 2}, []float64{0, math.Log(3), 0, math.Log(3), 0, 0, 0}, 2, WithLogits())
	require.ErrorIs(t, err, ErrLengthMismatch)
	got, err = LogLoss([]int{1, 0, 2}, []float64{0, math.Log(3), 0, 0, math.Log(3), 0, 0, 0, 0}, 3, WithLogits())
	require.NoError(t, err)
	// Softmax of [0, ln 3, 0] is [1/5, 3/5, 1/5].
	require.InDelta(t, (-math.Log(3.0/5)-math.Log(1.0/5)-math.Log(1.0/3))/3, got, 1e-12)

	// Equal to the loss of the probabilities, one-shot and streamed.
	r := rand.New(rand.NewPCG(3, 4))
	y := make([]int, 120)
	z := make([]float32, 120*4)
	for i := range y {
		y[i] = r.IntN(4)
		for j := range 4 {
			z[i*4+j] = float32(r.NormFloat64() * 3)
		}
	}
	p, err := Probabilities(nil, z, 4, true)
	require.NoError(t, err)
	want, err := LogLoss(y, p, 4)
	require.NoError(t, err)
	got, err = LogLoss(y, z, 4, WithLogits())
	require.NoError(t, err)
	require.Equal(t, want, got)
	m := NewLogLossMetric()
	m.SetLogits(true)
	for lo := 0; lo < 120; lo += 40 {
		require.NoError(t, m.Update(y[lo:lo+40], z[lo*4:(lo+40)*4], 4))
	}
	got, err = m.Result()
	require.NoError(t, err)
	require.InDelta(t, want, got, 1e-12)

	// Logits outside [0, 1] are not an error with WithLogits, are without.
	_, err = LogLoss([]int{1}, []float32{3}, 1)
	require.ErrorIs(t, err, ErrOption)
	_, err = LogLoss([]int{1}, []float32{float32(math.NaN())}, 1, WithLogits())
	require.ErrorIs(t, err, ErrNotFinite)
}

func TestROCAUCMetricRanksSoftmaxOfLogits(t *testing.T) {
	// Column 0 of the logits ranks both class-0 samples above both others
	// (AUC 1), but their softmax ranks sample 1 (0.9955) above them
	// (AUC 0.5). Class 1: AUC 0 either way; class 2: AUC 1 either way.
	y := []int{0, 1, 2, 0}
	z := []float32{1, 0, 0, 0.9, -5, -5, 0, 0, 1, 2, 1, 0}
	raw, err := ROCAUCOvR(y, z, 3, AverageMacro)
	require.NoError(t, err)
	require.InDelta(t, 2.0/3, raw, 1e-15)

	m := NewROCAUCMetric(WithLogits())
	require.NoError(t, m.Update(y[:2], z[:6], 3))
	require.NoError(t, m.Update(y[2:], z[6:], 3))
	got, err := m.Result()
	require.NoError(t, err)
	require.InDelta(t, 0.5, got, 1e-15)
	p, err := Probabilities(nil, z, 3, true)
	require.NoError(t, err)
	want, err := ROCAUCOvR(y, p, 3, AverageMacro)
	require.NoError(t, err)
	require.InDelta(t, want, got, 1e-15)

	// Two columns: p1 = sigmoid(z1 - z0), which ranks both positives
	// (z1 - z0 = 0 and 1) above both negatives (-2 and -3): AUC 1. Column 1
	// alone (1, 0, -2, -3) ranks them 0.25.
	y2 := []int{0, 1, 0, 1}
	z2 := []float32{3, 1, 0, 0, 1, -2, -4, -3}
	m2 := NewROCAUCMetric()
	m2.SetLogits(true)
	require.NoError(t, m2.Update(y2, z2, 2))
	got, err = m2.Result()
	require.NoError(t, err)
	p2, err := Probabilities(nil, z2, 2, true)
	require.NoError(t, err)
	col1 := []float32{p2[1], p2[3], p2[5], p2[7]}
	want, err = ROCAUC(y2, col1)
	require.NoError(t, err)
	require.Equal(t, 1.0, want)
	require.Equal(t, want, got)
	plain := NewROCAUCMetric()
	require.NoError(t, plain.Update(y2, z2, 2))
	got, err = plain.Result()
	require.NoError(t, err)
	require.Equal(t, 0.25, got, "column 1 of the logits ranks differently")

	// Huge logits: the difference must stay finite.
	m3 := NewROCAUCMetric(WithLogits())
	require.NoError(t, m3.Update([]int{0, 1}, []float32{math.MaxFloat32, -math.MaxFloat32, -math.MaxFloat32, math.MaxFloat32}, 2))
	got, err = m3.Result()
	require.NoError(t, err)
	require.Equal(t, 1.0, got)
}

func TestProbabilities(t *testing.T) {
	got, err := Probabilities([]float64{9}, []float64{0, math.Log(3), -1000, 1000}, 1, true)
	require.NoError(t, err)
	require.InDeltaSlice(t, []float64{9, 0.5, 0.75, 0, 1}, got, 1e-15)

	got, err = Probabilities(nil, []float64{0, math.Log(3), 1000, 1000}, 2, true)
	require.NoError(t, err)
	require.InDeltaSlice(t, []float64{0.25, 0.75, 0.5, 0.5}, got, 1e-15)

	in := []float32{0.2, 0.8}
	got32, err := Probabilities(nil, in, 2, false)
	require.NoError(t, err)
	require.Equal(t, in, got32)
	got32[0] = 7
	require.Equal(t, float32(0.2), in[0], "a copy, not the input")

	dst := []float32{1}
	out, err := Probabilities(dst, []float32{0, float32(math.Inf(1))}, 1, true)
	require.ErrorIs(t, err, ErrNotFinite)
	require.ErrorContains(t, err, "scores[1]")
	require.Equal(t, []float32{1}, out)
	_, err = Probabilities(nil, []float32{1, 2, 3}, 2, true)
	require.ErrorIs(t, err, ErrLengthMismatch)
	_, err = Probabilities(nil, []float32{1}, 0, true)
	require.ErrorIs(t, err, ErrOption)
}

// A label no prediction can equal (a class id outside the score columns)
// used to count as a silent miss; it is an error, as Metric documents.
func TestLabelAccumulatorsRejectLabelsOutsideTheScores(t *testing.T) {
	for _, m := range []LabelMetric{NewAccuracyMetric(), NewF1Metric(WithAverage(AverageMacro)), NewConfusionMetric()} {
		err := m.Update([]int{0, 3}, []float32{0.9, 0.05, 0.05, 0.1, 0.1, 0.8}, 3)
		require.ErrorIs(t, err, ErrLabel, m.Name())
		require.ErrorContains(t, err, "yTrue[1] is 3")
		err = m.Update([]int{1, 2}, []float32{0.9, 0.2}, 1)
		require.ErrorIs(t, err, ErrLabel, m.Name())
		_, err = m.Result()
		require.ErrorIs(t, err, ErrEmpty, "failed Updates leave %s empty", m.Name())
		// Labels given directly are still free.
		require.NoError(t, m.UpdateLabels([]int{7}, []int{7}))
	}
}
