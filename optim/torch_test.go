package optim

import (
	"math"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/stretchr/testify/require"
)

// torchCase is one optimizer configuration and the parameters PyTorch
// reaches with it after each of the three steps of rules_test.go.
type torchCase struct {
	name  string
	build func([]*nn.Param) Optimizer
	want  [][][]float32 // [step][param][element]
}

// TestAgainstTorch replays the problem of rules_test.go and compares with
// values recorded from PyTorch (see testdata/torch_ref.py).
func TestAgainstTorch(t *testing.T) {
	for _, c := range torchRef {
		t.Run(c.name, func(t *testing.T) {
			params := []*nn.Param{newParam("a", f32s(p0[0])...), newParam("b", f32s(p0[1])...)}
			opt := c.build(params)
			for step, want := range c.want {
				for k, p := range params {
					setGrad(p, f32s(grads[step][k])...)
				}
				opt.Step()
				for k, p := range params {
					for i, w := range want[k] {
						got := p.Value().Data()[i]
						require.LessOrEqualf(t, math.Abs(float64(got-w)), 1e-6*math.Abs(float64(w))+1e-7,
							"step %d param %d element %d: got %v, PyTorch %v", step+1, k, i, got, w)
					}
				}
			}
		})
	}
}
