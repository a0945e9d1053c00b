package metrics

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fixture holds reference values computed by scikit-learn; see
// testdata/gen_sklearn.py for how it was made.
const fixturePath = "testdata/sklearn_fixture.json"

const tol = 1e-6

type fixture struct {
	SklearnVersion string       `json:"sklearn_version"`
	LabelCases     []labelCase  `json:"label_cases"`
	BinaryCases    []binaryCase `json:"binary_cases"`
	MultiCases     []multiCase  `json:"multi_cases"`
}

type labelCase struct {
	Name      string `json:"name"`
	YTrue     []int  `json:"y_true"`
	YPred     []int  `json:"y_pred"`
	Labels    []int  `json:"labels"`
	Accuracy  float64
	Confusion struct {
		Labels []int   `json:"labels"`
		Matrix [][]int `json:"matrix"`
	} `json:"confusion"`
	ConfusionLabels [][]int `json:"confusion_labels"`
	PRF             []struct {
		Average      string   `json:"average"`
		PosLabel     int      `json:"pos_label"`
		Beta         float64  `json:"beta"`
		ZeroDivision int      `json:"zero_division"`
		Labels       []int    `json:"labels"`
		Precision    float64  `json:"precision"`
		Recall       float64  `json:"recall"`
		FScore       float64  `json:"fscore"`
		PrecScore    *float64 `json:"precision_score"`
		RecScore     *float64 `json:"recall_score"`
		F1Score      *float64 `json:"f1_score"`
		FBetaScore   *float64 `json:"fbeta_score"`
	} `json:"prf"`
	PerClass []struct {
		Beta         float64   `json:"beta"`
		ZeroDivision int       `json:"zero_division"`
		Labels       []int     `json:"labels"`
		Precision    []float64 `json:"precision"`
		Recall       []float64 `json:"recall"`
		FScore       []float64 `json:"fscore"`
		Support      []int     `json:"support"`
	} `json:"per_class"`
	Reports []struct {
		Labels      []int                      `json:"labels"`
		TargetNames []string                   `json:"target_names"`
		Digits      int                        `json:"digits"`
		Text        string                     `json:"text"`
		Dict        map[string]json.RawMessage `json:"dict"`
	} `json:"reports"`
}

type curve struct {
	A []float64 `json:"fpr"`
	B []float64 `json:"tpr"`
	T []float64 `json:"thresholds"`
}

type binaryCase struct {
	Name   string    `json:"name"`
	YTrue  []int     `json:"y_true"`
	Scores []float64 `json:"scores"`
	ROC    curve     `json:"roc"`
	ROCAll curve     `json:"roc_all"`
	AUC    float64   `json:"roc_auc"`
	Top1   float64   `json:"top1"`
	PR     *struct {
		Precision  []float64 `json:"precision"`
		Recall     []float64 `json:"recall"`
		Thresholds []float64 `json:"thresholds"`
	} `json:"pr"`
	AP      *float64 `json:"average_precision"`
	LogLoss *float64 `json:"log_loss"`
}

type multiCase struct {
	Name        string             `json:"name"`
	YTrue       []int              `json:"y_true"`
	NumClasses  int                `json:"n_classes"`
	Scores      []float64          `json:"scores"`
	AUCMacro    float64            `json:"auc_macro"`
	AUCWeighted float64            `json:"auc_weighted"`
	AUCPerClass []float64          `json:"auc_per_class"`
	LogLoss     float64            `json:"log_loss"`
	TopK        map[string]float64 `json:"top_k"`
}

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	b, err := os.ReadFile(fixturePath)
	require.NoError(t, err)
	var f fixture
	require.NoError(t, json.Unmarshal(b, &f), "decoding %s", fixturePath)
	require.NotEmpty(t, f.LabelCases)
	require.NotEmpty(t, f.BinaryCases)
	require.NotEmpty(t, f.MultiCases)
	return &f
}

func averageOf(t *testing.T, s string) Average {
	switch s {
	case "binary":
		return AverageBinary
	case "micro":
		return AverageMicro
	case "macro":
		return AverageMacro
	case "weighted":
		return AverageWeighted
	}
	t.Fatalf("unknown average %q", s)
	return 0
}

func zeroDivOf(z int) ZeroDivision {
	if z == 1 {
		return ZeroDivisionOne
	}
	return ZeroDivisionZero
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func TestSklearnLabelMetrics(t *testing.T) {
	f := loadFixture(t)
	for _, c := range f.LabelCases {
		t.Run(c.Name, func(t *testing.T) {
			acc, err := Accuracy(c.YTrue, c.YPred)
			require.NoError(t, err)
			require.InDelta(t, c.Accuracy, acc, tol)

			cm, err := ConfusionMatrix(c.YTrue, c.YPred)
			require.NoError(t, err)
			require.Equal(t, c.Confusion.Labels, cm.Labels)
			require.Equal(t, c.Confusion.Matrix, cm.Counts)
			if c.Labels != nil {
				cm, err := ConfusionMatrix(c.YTrue, c.YPred, WithLabels(c.Labels...))
				require.NoError(t, err)
				require.Equal(t, c.ConfusionLabels, cm.Counts)
			}

			for i, want := range c.PRF {
				opts := []Option{WithAverage(averageOf(t, want.Average)), WithPosLabel(want.PosLabel), WithZeroDivision(zeroDivOf(want.ZeroDivision))}
				if want.Labels != nil {
					opts = append(opts, WithLabels(want.Labels...))
				}
				got, err := PrecisionRecallFScore(c.YTrue, c.YPred, want.Beta, opts...)
				require.NoError(t, err, "prf[%d] %+v", i, want)
				msg := "prf[" + strconv.Itoa(i) + "] average=" + want.Average + " beta=" + strconv.FormatFloat(want.Beta, 'g', -1, 64) +
					" zd=" + strconv.Itoa(want.ZeroDivision) + " pos=" + strconv.Itoa(want.PosLabel)
				require.InDelta(t, want.Precision, got.Precision, tol, msg)
				require.InDelta(t, want.Recall, got.Recall, tol, msg)
				require.InDelta(t, want.FScore, got.FScore, tol, msg)
				if want.PrecScore != nil {
					// Recorded with zero_division=1.
					opts := []Option{WithAverage(averageOf(t, want.Average)), WithPosLabel(want.PosLabel), WithZeroDivision(ZeroDivisionOne)}
					if want.Labels != nil {
						opts = append(opts, WithLabels(want.Labels...))
					}
					p, err := Precision(c.YTrue, c.YPred, opts...)
					require.NoError(t, err)
					require.InDelta(t, *want.PrecScore, p, tol, msg)
					r, err := Recall(c.YTrue, c.YPred, opts...)
					require.NoError(t, err)
					require.InDelta(t, *want.RecScore, r, tol, msg)
					f1, err := F1(c.YTrue, c.YPred, opts...)
					require.NoError(t, err)
					require.InDelta(t, *want.F1Score, f1, tol, msg)
					fb, err := FBeta(c.YTrue, c.YPred, 2, opts...)
					require.NoError(t, err)
					require.InDelta(t, *want.FBetaScore, fb, tol, msg)
				}
			}

			for i, want := range c.PerClass {
				opts := []Option{WithZeroDivision(zeroDivOf(want.ZeroDivision))}
				if want.Labels != nil {
					opts = append(opts, WithLabels(want.Labels...))
				}
				got, err := PerClass(c.YTrue, c.YPred, want.Beta, opts...)
				require.NoError(t, err)
				msg := "per_class[" + strconv.Itoa(i) + "]"
				require.InDeltaSlice(t, want.Precision, got.Precision, tol, msg)
				require.InDeltaSlice(t, want.Recall, got.Recall, tol, msg)
				require.InDeltaSlice(t, want.FScore, got.FScore, tol, msg)
				require.Equal(t, want.Support, got.Support, msg)
			}

			for _, want := range c.Reports {
				opts := []Option{WithDigits(want.Digits)}
				if want.Labels != nil {
					opts = append(opts, WithLabels(want.Labels...))
				}
				if want.TargetNames != nil {
					opts = append(opts, WithTargetNames(want.TargetNames...))
				}
				r, err := Report(c.YTrue, c.YPred, opts...)
				require.NoError(t, err)
				require.Equal(t, want.Text, r.String())
				checkReportDict(t, r, want.Dict)
			}
		})
	}
}

type dictRow struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1-score"`
	Support   float64 `json:"support"`
}

func checkReportDict(t *testing.T, r *ClassificationReport, d map[string]json.RawMessage) {
	t.Helper()
	row := func(key string, got ReportRow) {
		var want dictRow
		require.NoError(t, json.Unmarshal(d[key], &want), key)
		require.InDelta(t, want.Precision, got.Precision, tol, key)
		require.InDelta(t, want.Recall, got.Recall, tol, key)
		require.InDelta(t, want.F1, got.F1, tol, key)
		require.Equal(t, int(want.Support), got.Support, key)
	}
	for _, c := range r.Classes {
		row(c.Name, c)
	}
	if r.MicroIsAccuracy {
		var acc float64
		require.NoError(t, json.Unmarshal(d["accuracy"], &acc))
		require.InDelta(t, acc, r.Accuracy, tol)
	} else {
		row("micro avg", r.Micro)
	}
	row("macro avg", r.Macro)
	row("weighted avg", r.Weighted)
}

func TestSklearnBinaryScores(t *testing.T) {
	f := loadFixture(t)
	for _, c := range f.BinaryCases {
		t.Run(c.Name, func(t *testing.T) {
			roc, err := ROCCurve(c.YTrue, c.Scores)
			require.NoError(t, err)
			require.InDeltaSlice(t, c.ROC.A, roc.FPR, tol)
			require.InDeltaSlice(t, c.ROC.B, roc.TPR, tol)
			require.Equal(t, c.ROC.T, roc.Thresholds, "thresholds must match exactly")

			all, err := ROCCurveAll(c.YTrue, c.Scores)
			require.NoError(t, err)
			require.InDeltaSlice(t, c.ROCAll.A, all.FPR, tol)
			require.InDeltaSlice(t, c.ROCAll.B, all.TPR, tol)
			require.Equal(t, c.ROCAll.T, all.Thresholds)

			auc, err := ROCAUC(c.YTrue, c.Scores)
			require.NoError(t, err)
			require.InDelta(t, c.AUC, auc, tol)
			// The scores are exact float32 values: the float32 path agrees.
			auc32, err := ROCAUC(c.YTrue, f32(c.Scores))
			require.NoError(t, err)
			require.InDelta(t, c.AUC, auc32, tol)
			roc32, err := ROCCurve(c.YTrue, f32(c.Scores))
			require.NoError(t, err)
			require.InDeltaSlice(t, c.ROC.T, roc32.Thresholds, tol)

			top1, err := TopKAccuracy(c.YTrue, c.Scores, 1, 1)
			require.NoError(t, err)
			require.InDelta(t, c.Top1, top1, tol)

			if c.PR != nil {
				pr, err := PrecisionRecallCurve(c.YTrue, c.Scores)
				require.NoError(t, err)
				require.InDeltaSlice(t, c.PR.Precision, pr.Precision, tol)
				require.InDeltaSlice(t, c.PR.Recall, pr.Recall, tol)
				require.Equal(t, c.PR.Thresholds, pr.Thresholds)
				ap, err := AveragePrecision(c.YTrue, c.Scores)
				require.NoError(t, err)
				require.InDelta(t, *c.AP, ap, tol)
			}
			if c.LogLoss != nil {
				ll, err := LogLoss(c.YTrue, c.Scores, 1)
				require.NoError(t, err)
				require.InDelta(t, *c.LogLoss, ll, tol)
			}
		})
	}
}

func TestSklearnMultiClassScores(t *testing.T) {
	f := loadFixture(t)
	for _, c := range f.MultiCases {
		t.Run(c.Name, func(t *testing.T) {
			for _, scores := range []any{c.Scores, f32(c.Scores)} {
				var macro, weighted, ll float64
				var per []float64
				var err error
				switch s := scores.(type) {
				case []float64:
					macro, err = ROCAUCOvR(c.YTrue, s, c.NumClasses, AverageMacro)
					require.NoError(t, err)
					weighted, err = ROCAUCOvR(c.YTrue, s, c.NumClasses, AverageWeighted)
					require.NoError(t, err)
					per, err = ROCAUCPerClass(c.YTrue, s, c.NumClasses)
					require.NoError(t, err)
					ll, err = LogLoss(c.YTrue, s, c.NumClasses)
					require.NoError(t, err)
					for ks, want := range c.TopK {
						k, _ := strconv.Atoi(ks)
						got, err := TopKAccuracy(c.YTrue, s, c.NumClasses, k)
						require.NoError(t, err)
						require.InDelta(t, want, got, tol, "top-%d", k)
					}
				case []float32:
					macro, err = ROCAUCOvR(c.YTrue, s, c.NumClasses, AverageMacro)
					require.NoError(t, err)
					weighted, err = ROCAUCOvR(c.YTrue, s, c.NumClasses, AverageWeighted)
					require.NoError(t, err)
					per, err = ROCAUCPerClass(c.YTrue, s, c.NumClasses)
					require.NoError(t, err)
					ll, err = LogLoss(c.YTrue, s, c.NumClasses)
					require.NoError(t, err)
				}
				require.InDelta(t, c.AUCMacro, macro, tol)
				require.InDelta(t, c.AUCWeighted, weighted, tol)
				require.InDeltaSlice(t, c.AUCPerClass, per, tol)
				require.InDelta(t, c.LogLoss, ll, tol)
			}
		})
	}
}

// splitBatches cuts [0, n) into random consecutive batches.
func splitBatches(r *rand.Rand, n int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; {
		hi := min(n, lo+1+r.IntN(40))
		out = append(out, [2]int{lo, hi})
		lo = hi
	}
	return out
}

func TestAccumulatorsMatchOneShotOnFixture(t *testing.T) {
	f := loadFixture(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range f.LabelCases {
		t.Run(c.Name, func(t *testing.T) {
			opts := []Option{WithAverage(AverageMacro), WithZeroDivision(ZeroDivisionOne)}
			if c.Labels != nil {
				opts = append(opts, WithLabels(c.Labels...))
			}
			acc := NewAccuracyMetric()
			f1 := NewF1Metric(opts...)
			prec := NewPrecisionMetric(append(opts, WithAverage(AverageWeighted))...)
			rec := NewRecallMetric(append(opts, WithAverage(AverageMicro))...)
			cmm := NewConfusionMetric()
			ms := []LabelMetric{acc, f1, prec, rec, cmm}
			for epoch := range 2 {
				for _, b := range splitBatches(r, len(c.YTrue)) {
					for _, m := range ms {
						require.NoError(t, m.UpdateLabels(c.YTrue[b[0]:b[1]], c.YPred[b[0]:b[1]]))
					}
				}
				got, err := acc.Result()
				require.NoError(t, err)
				require.InDelta(t, c.Accuracy, got, 1e-12)
				for _, pair := range []struct {
					m    Metric
					want func() (float64, error)
				}{
					{f1, func() (float64, error) { return F1(c.YTrue, c.YPred, opts...) }},
					{prec, func() (float64, error) {
						return Precision(c.YTrue, c.YPred, append(opts, WithAverage(AverageWeighted))...)
					}},
					{rec, func() (float64, error) {
						return Recall(c.YTrue, c.YPred, append(opts, WithAverage(AverageMicro))...)
					}},
				} {
					want, err := pair.want()
					require.NoError(t, err)
					got, err := pair.m.Result()
					require.NoError(t, err)
					require.InDelta(t, want, got, 1e-12, "%s epoch %d", pair.m.Name(), epoch)
				}
				cm, err := cmm.Matrix()
				require.NoError(t, err)
				require.Equal(t, c.Confusion.Matrix, cm.Counts)
				for _, m := range ms {
					m.Reset()
				}
			}
		})
	}
	for _, c := range f.MultiCases {
		t.Run(c.Name, func(t *testing.T) {
			scores := f32(c.Scores)
			auc := NewROCAUCMetric(WithAverage(AverageWeighted))
			ll := NewLogLossMetric()
			acc := NewAccuracyMetric()
			for _, b := range splitBatches(r, len(c.YTrue)) {
				for _, m := range []Metric{auc, ll, acc} {
					require.NoError(t, m.Update(c.YTrue[b[0]:b[1]], scores[b[0]*c.NumClasses:b[1]*c.NumClasses], c.NumClasses))
				}
			}
			got, err := auc.Result()
			require.NoError(t, err)
			require.InDelta(t, c.AUCWeighted, got, tol)
			got, err = ll.Result()
			require.NoError(t, err)
			require.InDelta(t, c.LogLoss, got, tol)
			pred, err := PredictLabels(nil, scores, c.NumClasses)
			require.NoError(t, err)
			want, err := Accuracy(c.YTrue, pred)
			require.NoError(t, err)
			got, err = acc.Result()
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
	for _, c := range f.BinaryCases {
		if c.Name == "three_levels" {
			continue // scores are not probabilities
		}
		t.Run(c.Name, func(t *testing.T) {
			scores := f32(c.Scores)
			auc := NewROCAUCMetric()
			for _, b := range splitBatches(r, len(c.YTrue)) {
				require.NoError(t, auc.Update(c.YTrue[b[0]:b[1]], scores[b[0]:b[1]], 1))
			}
			got, err := auc.Result()
			require.NoError(t, err)
			require.InDelta(t, c.AUC, got, tol)
			auc.Reset()
			_, err = auc.Result()
			require.ErrorIs(t, err, ErrEmpty)
		})
	}
}
