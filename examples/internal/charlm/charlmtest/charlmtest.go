// Package charlmtest holds the smoke test that examples/char-gpt and
// examples/char-lstm share: train a tiny model for a few dozen steps on the
// real corpus and check what the programs promise.
package charlmtest

import (
	"context"
	"image/png"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/examples/internal/charlm"
	"github.com/shoshin-ml/shoshin/nn"
)

// Smoke runs o (three validations, a 60-character sample) and checks that
// the loss falls well below uniform guessing, that the loss curve is a PNG,
// and that the saved file (weights and tokenizer) reloads into a model that
// generates the very same sample. It skips when the corpus is missing.
func Smoke(t *testing.T, o charlm.Options, build func(vocab int) nn.Module) {
	t.Helper()
	if _, err := charlm.Corpus(); err != nil {
		t.Skip(err)
	}
	o.Progress = testWriter{t}
	res, err := charlm.Run(context.Background(), o, build)
	require.NoError(t, err)
	h := res.Hist.Epochs
	require.Len(t, h, 3)
	require.Less(t, h[2]["loss"], h[0]["loss"]-0.3, "%v", h)
	require.Less(t, res.ValLoss, math.Log(80)-1, "nats/char well below uniform guessing among ~80 characters")
	require.Len(t, []rune(res.Sample), 60)
	require.Equal(t, res.Sample, res.ReloadedSample)
	f, err := os.Open(res.Plot)
	require.NoError(t, err)
	defer f.Close()
	_, err = png.Decode(f)
	require.NoError(t, err)
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
