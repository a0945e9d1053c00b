package metrics

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReportStruct(t *testing.T) {
	r, err := Report([]int{0, 1, 2, 2, 2}, []int{0, 0, 2, 2, 1})
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2}, r.Labels)
	require.True(t, r.MicroIsAccuracy)
	require.InDelta(t, 0.6, r.Accuracy, 1e-15)
	require.Equal(t, ReportRow{Name: "2", Precision: 1, Recall: 2.0 / 3, F1: 0.8, Support: 3}, r.Classes[2])
	require.Equal(t, "macro avg", r.Macro.Name)
	require.Equal(t, 5, r.Weighted.Support)
	require.Equal(t, IllDefined(0), r.IllDefined)
}

func TestReportZeroDivisionAndLabels(t *testing.T) {
	// Label 5 has neither true nor predicted samples; with NaN zero
	// division its scores print as "nan", and the micro row is not the
	// accuracy because the label list differs from the labels present.
	r, err := Report([]int{0, 1, 1}, []int{0, 1, 0}, WithLabels(0, 1, 5), WithZeroDivision(ZeroDivisionNaN), WithDigits(3))
	require.NoError(t, err)
	require.False(t, r.MicroIsAccuracy)
	require.Equal(t, PrecisionIllDefined|RecallIllDefined|FScoreIllDefined, r.IllDefined)
	want := "" +
		"              precision    recall  f1-score   support\n" +
		"\n" +
		"           0      0.500     1.000     0.667         1\n" +
		"           1      1.000     0.500     0.667         2\n" +
		"           5        nan       nan       nan         0\n" +
		"\n" +
		"   micro avg      0.667     0.667     0.667         3\n" +
		"   macro avg      0.750     0.750     0.667         3\n" +
		"weighted avg      0.833     0.667     0.667         3\n"
	require.Equal(t, want, r.String())

	// Long target names widen the first column.
	r, err = Report([]int{0, 1}, []int{0, 1}, WithTargetNames("a rather long name", "b"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(r.String(), strings.Repeat(" ", 18)+"  precision"))

	_, err = Report([]int{0, 1}, []int{0, 1}, WithTargetNames("only one"))
	require.ErrorIs(t, err, ErrOption)
	_, err = Report([]int{0, 1}, []int{0, 1}, WithDigits(-1))
	require.ErrorIs(t, err, ErrOption)
}
