package digits

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

func TestReport(t *testing.T) {
	logits := tensor.Zeros(3, 10)
	logits.Set(1, 0, 3)
	logits.Set(1, 1, 7)
	logits.Set(1, 2, 7)
	var buf bytes.Buffer
	require.NoError(t, Report(&buf, logits, []int{3, 7, 1}))
	require.Contains(t, buf.String(), "Classification report")
	require.Contains(t, buf.String(), "Confusion matrix")
	require.Error(t, Report(&buf, logits, []int{3, 7}))
}
