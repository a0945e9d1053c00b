package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// sizedLayer is a layer of the sized kind "TestSized": one buffer "table"
// of n values, and a derived copy (the sum of the table) rebuilt by
// StateLoaded.
type sizedLayer struct {
	table  *Param
	sum    float32
	loaded int
}

func (s *sizedLayer) Forward(x *autograd.Var) *autograd.Var { return x }
func (s *sizedLayer) Params() []*Param                      { return nil }
func (s *sizedLayer) Buffers() []*Param                     { return []*Param{s.table} }
func (s *sizedLayer) LayerConfig() (string, any) {
	return "TestSized", map[string]int{"n": s.table.Value().Size()}
}

func (s *sizedLayer) StateLoaded() {
	s.loaded++
	s.sum = 0
	for _, v := range s.table.Value().Data() {
		s.sum += v
	}
}

var registerSized = sync.OnceFunc(func() {
	size := func(raw json.RawMessage) (int64, error) {
		var c struct{ N int64 }
		if err := json.Unmarshal(raw, &c); err != nil {
			return 0, err
		}
		if c.N < 1 {
			return 0, errors.New("n must be positive")
		}
		return c.N, nil
	}
	RegisterSizedLayer("TestSized", size, func(raw json.RawMessage) (Module, error) {
		n, err := size(raw)
		if err != nil {
			return nil, err
		}
		return &sizedLayer{table: NewBuffer("table", tensor.Zeros(int(n)))}, nil
	})
})

// TestRegisterSizedLayer checks that a sized kind round-trips, that
// LoadModel calls StateLoaded once the weights are in, and that the
// kind's value count is held against the file before the constructor
// runs (the constructor here would allocate the count it is given).
func TestRegisterSizedLayer(t *testing.T) {
	registerSized()
	m := NewSequential(NewReLU(), &sizedLayer{table: NewBuffer("table", tensor.New([]float32{1, 2, 3.5}, 3))})
	var buf bytes.Buffer
	require.NoError(t, WriteModel(&buf, m, ModelInfo{}))
	got, _, err := ReadModel(&buf)
	require.NoError(t, err)
	s := got.(*Sequential).Layer(1).(*sizedLayer)
	require.Equal(t, []float32{1, 2, 3.5}, s.table.Value().Data())
	require.Equal(t, 1, s.loaded, "LoadModel calls StateLoaded once")
	require.Equal(t, float32(6.5), s.sum)

	seq := func(layer string) string {
		return `{"version":1,"model":{"kind":"Sequential","layers":[` + layer + `]}}`
	}
	table := []NamedTensor{{Name: "1.table", Value: tensor.Zeros(3)}}
	for _, c := range []struct{ name, desc, want string }{
		{"too many values", seq(`{"kind":"ReLU"},{"kind":"TestSized","config":{"n":1000000000000}}`), "the architecture needs 1000000000000 parameter values but the file holds only 3"},
		{"summed with built-ins", seq(`{"kind":"Dense","config":{"in":1,"out":1}},{"kind":"TestSized","config":{"n":3}}`), "the architecture needs 5 parameter values but the file holds only 3"},
		{"size error", seq(`{"kind":"ReLU"},{"kind":"TestSized","config":{"n":0}}`), "model.layers[1] (TestSized): n must be positive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadModel(bytes.NewReader(writeDesc(t, c.desc, table)))
			require.ErrorContains(t, err, c.want)
		})
	}
	require.PanicsWithValue(t, `nn.RegisterSizedLayer: nil function for "X"`, func() { RegisterSizedLayer("X", nil, nil) })
}

// TestLoadModelQuantHint checks that a file of int8 layers, loaded by a
// program that does not import nn/quant (as this package's tests do not),
// says which import registers them.
func TestLoadModelQuantHint(t *testing.T) {
	desc := `{"version":1,"model":{"kind":"Sequential","layers":[{"kind":"quant.Dense","config":{"in":3,"out":4}}]}}`
	_, _, err := ReadModel(bytes.NewReader(writeDesc(t, desc, nil)))
	require.ErrorContains(t, err, `unknown layer kinds "quant.Dense": register them with nn.RegisterLayer`)
	require.ErrorContains(t, err, "the quant.* kinds are registered by importing github.com/shoshin-ml/shoshin/nn/quant")
}
