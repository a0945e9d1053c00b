package optim

import (
	"fmt"
	"math"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// newParam returns a named 1-D parameter holding vals.
func newParam(name string, vals ...float32) *nn.Param {
	return &nn.Param{Var: autograd.NewVar(tensor.New(append([]float32(nil), vals...), len(vals))), Name: name}
}

// setGrad makes p's gradient exactly g: it clears the gradient and
// backpropagates g into the leaf, which accumulates 0 + g.
func setGrad(p *nn.Param, g ...float32) {
	p.ZeroGrad()
	p.BackwardWith(tensor.New(append([]float32(nil), g...), p.Shape()...))
}

// requireClose checks got against want with relative tolerance rel.
// The optional format and args describe the check.
func requireClose(t *testing.T, want []float64, got []float32, rel float64, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	require.Len(t, got, len(want), what)
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		require.LessOrEqualf(t, d, rel*math.Abs(want[i])+1e-12, "%s: element %d: got %v, want %v", what, i, got[i], want[i])
	}
}
