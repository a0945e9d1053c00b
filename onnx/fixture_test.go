package onnx

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// fixtureTensor is one array of a fixture's JSON file (see testdata/gen.py).
type fixtureTensor struct {
	Shape []int     `json:"shape"`
	Dtype string    `json:"dtype"`
	Data  []float64 `json:"data"`
}

func (f fixtureTensor) tensor() *tensor.Tensor {
	d := make([]float32, len(f.Data))
	for i, v := range f.Data {
		d[i] = float32(v)
	}
	return tensor.New(d, f.Shape...)
}

type fixtureCase struct {
	Inputs  map[string]fixtureTensor `json:"inputs"`
	Outputs map[string]fixtureTensor `json:"outputs"`
}

type fixture struct {
	Opset int           `json:"opset"`
	Cases []fixtureCase `json:"cases"`
}

func readFixture(t *testing.T, name string) fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	require.NoError(t, err)
	var f fixture
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.Cases)
	return f
}

// maxRelErr returns max |got − want| / max(1, max |want|).
func maxRelErr(t *testing.T, got, want *tensor.Tensor) float64 {
	t.Helper()
	require.Equal(t, want.Shape(), got.Shape())
	scale := 1.0
	for _, w := range want.Data() {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	worst := 0.0
	for i, w := range want.Data() {
		worst = math.Max(worst, math.Abs(float64(got.Data()[i])-float64(w))/scale)
	}
	return worst
}

// TestPyTorchFixtures runs each exported model on the inputs recorded by
// the generator, at the export's batch size and at another (dynamic
// axes), and compares every output with PyTorch's.
func TestPyTorchFixtures(t *testing.T) {
	for _, name := range []string{"mlp", "ops", "convnet", "bncnn", "gpt", "seq"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join("testdata", name+".onnx"))
			require.NoError(t, err)
			fx := readFixture(t, name)
			require.Equal(t, fx.Opset, m.Opset())
			for ci, c := range fx.Cases {
				ins := map[string]*autograd.Var{}
				for k, v := range c.Inputs {
					ins[k] = autograd.NoGrad(v.tensor())
				}
				outs, err := m.Run(ins)
				require.NoError(t, err)
				require.Len(t, outs, len(c.Outputs))
				for k, want := range c.Outputs {
					got, ok := outs[k]
					require.True(t, ok, "output %q", k)
					e := maxRelErr(t, got.Value(), want.tensor())
					t.Logf("case %d (batch %d) output %s: max relative error %.2g", ci, want.Shape[0], k, e)
					require.Less(t, e, 1e-5, "case %d output %s", ci, k)
				}
			}
		})
	}
}
