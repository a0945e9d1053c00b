package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// mnistMLP is the flagship architecture with seeded weights.
func mnistMLP(seed uint64) *nn.Sequential {
	nn.SetSeed(seed)
	return nn.NewSequential(
		nn.NewFlatten(),
		nn.NewDense(784, 128, nn.WithActivation(nn.ActReLU)),
		nn.NewDense(128, 10),
	)
}

// images returns n random "images" [n, 1, 28, 28] in [0, 1).
func images(n int, seed uint64) *tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	x := tensor.Zeros(n, 1, 28, 28)
	for i, d := 0, x.Data(); i < len(d); i++ {
		d[i] = r.Float32()
	}
	return x
}

// prediction is one answer of /predict.
type prediction struct {
	Label         int       `json:"label"`
	Class         string    `json:"class"`
	Probabilities []float32 `json:"probabilities"`
}

type batchAnswer struct {
	Predictions []prediction `json:"predictions"`
}

// float32JSON renders xs as a JSON array, each value exactly.
func float32JSON(xs []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonFloat(x))
	}
	b.WriteByte(']')
	return b.String()
}

func jsonFloat(x float32) string {
	b, _ := json.Marshal(x)
	return string(b)
}

// rowsJSON renders the rows of x [n, features...] as {"inputs": [[...], ...]}.
func rowsJSON(x *tensor.Tensor) string {
	n := x.Dim(0)
	f := x.Size() / n
	var b strings.Builder
	b.WriteString(`{"inputs":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(float32JSON(x.Data()[i*f : (i+1)*f]))
	}
	b.WriteString("]}")
	return b.String()
}

// rawFloats encodes xs as little-endian float32.
func rawFloats(xs []float32) []byte {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// postPredict sends body to h's /predict and returns the recorded answer.
func postPredict(h http.Handler, contentType string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/predict", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// requireBits checks that got equals want bit for bit.
func requireBits(t testing.TB, want, got []float32, msgAndArgs ...any) {
	t.Helper()
	require.Len(t, got, len(want), msgAndArgs...)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.Failf(t, "values differ", "index %d: want %v (%08x), got %v (%08x) %v", i, want[i], math.Float32bits(want[i]), got[i], math.Float32bits(got[i]), msgAndArgs)
		}
	}
}
