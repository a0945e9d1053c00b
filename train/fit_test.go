package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// mlp is a two-layer perceptron built from autograd ops, so these tests do
// not depend on the layer catalogue.
type mlp struct {
	w1, b1, w2, b2 *nn.Param
}

func newMLP(in, hidden, out int, seed uint64) *mlp {
	r := rand.New(rand.NewPCG(seed, 1))
	p := func(name string, t *tensor.Tensor) *nn.Param { return &nn.Param{Var: autograd.NewVar(t), Name: name} }
	return &mlp{
		w1: p("0.weight", tensor.RandN(r, 0, 0.5, hidden, in)),
		b1: p("0.bias", tensor.Zeros(hidden)),
		w2: p("2.weight", tensor.RandN(r, 0, 0.5, out, hidden)),
		b2: p("2.bias", tensor.Zeros(out)),
	}
}

func (m *mlp) Forward(x *autograd.Var) *autograd.Var {
	h := autograd.ReLU(autograd.Linear(x, m.w1.Var, m.b1.Var))
	return autograd.Linear(h, m.w2.Var, m.b2.Var)
}

func (m *mlp) Params() []*nn.Param { return []*nn.Param{m.w1, m.b1, m.w2, m.b2} }

// blobs makes two Gaussian clusters in 2-D, labelled 0 and 1.
func blobs(n int, seed uint64) *data.TensorDataset {
	r := rand.New(rand.NewPCG(seed, 2))
	x := tensor.Zeros(n, 2)
	y := tensor.Zeros(n)
	for i := range n {
		c := i % 2
		y.Data()[i] = float32(c)
		off := float32(2*c - 1)
		x.Set(off*1.5+float32(r.NormFloat64())*0.5, i, 0)
		x.Set(off*1.5+float32(r.NormFloat64())*0.5, i, 1)
	}
	ds, err := data.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	return ds
}

func newAdam(m nn.Module, lr float32) optim.Optimizer {
	return optim.NewAdam(m.Params(), optim.AdamConfig{LR: lr})
}

func TestFitLearnsAndReportsHistory(t *testing.T) {
	m := newMLP(2, 16, 2, 1)
	var out bytes.Buffer
	hist, err := Fit(context.Background(), m, newAdam(m, 0.01), blobs(400, 1), Config{
		Epochs: 5, BatchSize: 16, ValidationSplit: 0.25, Seed: 3, Progress: &out,
	})
	require.NoError(t, err)
	require.Len(t, hist.Epochs, 5)
	last := hist.Last()
	for _, k := range []string{"loss", "accuracy", "val_loss", "val_accuracy"} {
		require.Contains(t, last, k)
	}
	require.Greater(t, last["val_accuracy"], 0.95)
	require.Less(t, hist.Series("loss")[4], hist.Series("loss")[0])
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 5, out.String())
	require.True(t, strings.HasPrefix(lines[0], "Epoch 1/5 - 19 steps - "), lines[0])
	require.Contains(t, lines[4], "val_accuracy: ")

	logs, err := Evaluate(context.Background(), m, blobs(100, 9), EvalConfig{})
	require.NoError(t, err)
	require.Greater(t, logs["accuracy"], 0.95)
}

func TestFitIsReproducible(t *testing.T) {
	run := func() []float64 {
		m := newMLP(2, 8, 2, 4)
		h, err := Fit(context.Background(), m, newAdam(m, 0.01), blobs(200, 2), Config{Epochs: 3, Seed: 5, ValidationSplit: 0.2, Quiet: true})
		require.NoError(t, err)
		return h.Series("val_loss")
	}
	require.Equal(t, run(), run())
}

func TestFitRejectsWrongInputShape(t *testing.T) {
	m := newMLP(3, 4, 2, 1)
	_, err := Fit(context.Background(), m, newAdam(m, 0.01), blobs(10, 1), Config{Quiet: true})
	require.Error(t, err)
	require.Contains(t, err.Error(), "input shape [1 2]")
	require.Contains(t, err.Error(), "autograd.Linear")

	_, err = Fit(context.Background(), m, newAdam(m, 0.01), blobs(10, 1), Config{Quiet: true, Epochs: -1})
	require.ErrorContains(t, err, "Epochs")
	_, err = Fit(context.Background(), m, newAdam(m, 0.01), blobs(10, 1), Config{Quiet: true, ValidationSplit: 1})
	require.ErrorContains(t, err, "ValidationSplit")
}

func TestFitStopsOnCancelWithUsableWeights(t *testing.T) {
	m := newMLP(2, 8, 2, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps := 0
	cb := LambdaCallback{BatchEnd: func(s *State, _ Logs) error {
		steps++
		if s.Epoch == 1 && s.Step == 2 {
			cancel()
		}
		return nil
	}}
	hist, err := Fit(ctx, m, newAdam(m, 0.01), blobs(160, 1), Config{Epochs: 5, BatchSize: 16, Quiet: true, Callbacks: []Callback{cb}})
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, hist.Epochs, 1)
	require.Equal(t, 10+3, steps)
	pred, err := Predict(m, tensor.Ones(4, 2), 2)
	require.NoError(t, err)
	for _, v := range pred.Data() {
		require.False(t, math.IsNaN(float64(v)))
	}
}

func TestFitStopsOnNaNLoss(t *testing.T) {
	ds := blobs(64, 1)
	ds.X().Data()[2*40] = float32(math.Inf(1)) // example 40 overflows the logits
	m := newMLP(2, 4, 2, 1)
	_, err := Fit(context.Background(), m, newAdam(m, 0.01), ds, Config{Epochs: 2, BatchSize: 16, NoShuffle: true, Quiet: true})
	require.Error(t, err)
	require.Contains(t, err.Error(), "epoch 1, step 3")
}

func TestLRCallbacks(t *testing.T) {
	m := newMLP(2, 4, 2, 1)
	opt := newAdam(m, 0.1)
	sched := &LRScheduler{Schedule: optim.NewStepLR(opt, 1, 0.5)}
	hist, err := Fit(context.Background(), m, opt, blobs(64, 1), Config{Epochs: 3, Quiet: true, Callbacks: []Callback{sched}})
	require.NoError(t, err)
	require.InDeltaSlice(t, []float64{0.1, 0.05, 0.025}, hist.Series("lr"), 1e-7)

	opt2 := newAdam(m, 0.1)
	plateau := &ReduceLROnPlateau{Monitor: "loss", Plateau: optim.NewReduceLROnPlateau(opt2, optim.PlateauConfig{Patience: 1, Factor: 0.5, Threshold: 10})}
	hist, err = Fit(context.Background(), m, opt2, blobs(64, 1), Config{Epochs: 3, Quiet: true, Callbacks: []Callback{plateau}})
	require.NoError(t, err)
	require.Less(t, float64(opt2.LR()), 0.1)
	_ = hist
}

func TestPredictConcurrent(t *testing.T) {
	m := newMLP(2, 8, 3, 1)
	r := rand.New(rand.NewPCG(1, 2))
	x := tensor.RandN(r, 0, 1, 37, 2)
	want, err := Predict(m, x, 5)
	require.NoError(t, err)
	require.Equal(t, []int{37, 3}, want.Shape())
	direct := m.Forward(autograd.NoGrad(x)).Value()
	require.True(t, tensor.AllClose(want, direct, 1e-6, 1e-6))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				got, err := Predict(m, x, 3+g)
				if err != nil || !tensor.AllClose(got, want, 1e-6, 1e-6) {
					errs <- errors.New("concurrent Predict disagreed")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)

	_, err = Predict(m, tensor.Ones(4, 5), 2)
	require.ErrorContains(t, err, "input of shape [4 5]")
}

func TestPredictAllocatesOnlyItsResult(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	m := newMLP(784, 128, 10, 1)
	x := tensor.Ones(1, 784)
	_, _ = Predict(m, x, 1)
	allocs := testalloc.PerRun(50, func() { _, _ = Predict(m, x, 1) })
	t.Logf("Predict allocs/op: %v", allocs)
	require.LessOrEqual(t, allocs, 3.0) // the result: its header, shape and data
}

func BenchmarkPredictOneImage(b *testing.B) {
	m := newMLP(784, 128, 10, 1)
	x := tensor.Ones(1, 784)
	b.ReportAllocs()
	for range b.N {
		_, _ = Predict(m, x, 1)
	}
}
