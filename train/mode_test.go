package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// modeProbe is an identity layer with a training mode that records every
// SetTraining call and, for every forward pass, its mode and whether the
// input was in inference mode.
type modeProbe struct {
	mu       sync.Mutex
	training bool
	sets     []bool
	calls    []probeCall
}

type probeCall struct{ training, inference bool }

func (p *modeProbe) SetTraining(b bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.training = b
	p.sets = append(p.sets, b)
}

func (p *modeProbe) Training() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.training
}

func (p *modeProbe) Forward(x *autograd.Var) *autograd.Var {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, probeCall{p.training, x.Inference()})
	return x
}

func (p *modeProbe) Params() []*nn.Param { return nil }

func (p *modeProbe) take() (sets []bool, calls []probeCall) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sets, calls = p.sets, p.calls
	p.sets, p.calls = nil, nil
	return sets, calls
}

// TestFitModes: every training step runs in training mode on a recorded
// input, in every epoch; validation, CheckInput, Evaluate and Predict run
// on inference-mode inputs and never switch the mode. Fit switches it
// twice: to training at the start and to evaluation at the end.
func TestFitModes(t *testing.T) {
	probe := &modeProbe{}
	m := nn.NewSequential(nn.NewDense(2, 4, nn.WithSeed(1)), probe, nn.NewDense(4, 2, nn.WithSeed(2)))
	nn.Eval(m) // Fit must switch it to training mode itself
	probe.take()
	ds := blobs(40, 1)
	hist, err := Fit(context.Background(), m, newAdam(m, 0.01), ds, Config{Epochs: 3, BatchSize: 10, ValidationSplit: 0.25, Quiet: true})
	require.NoError(t, err)
	require.Len(t, hist.Epochs, 3)
	sets, calls := probe.take()
	require.Equal(t, []bool{true, false}, sets)
	// The input check (on all the data, before the split), then per epoch
	// 3 training steps and 1 validation batch.
	want := []probeCall{{false, true}}
	for range 3 {
		want = append(want, probeCall{true, false}, probeCall{true, false}, probeCall{true, false}, probeCall{true, true})
	}
	require.Equal(t, want, calls)
	require.False(t, nn.IsTraining(m))

	// Outside Fit nothing switches modes, in either mode.
	for _, training := range []bool{true, false} {
		nn.SetTraining(m, training)
		probe.take()
		require.NoError(t, CheckInput(m, nn.CrossEntropyLoss{}, ds))
		_, err := Evaluate(context.Background(), m, ds, EvalConfig{BatchSize: 40})
		require.NoError(t, err)
		_, err = Predict(m, ds.X(), 40)
		require.NoError(t, err)
		_, err = PredictProba(m, ds.X(), 40)
		require.NoError(t, err)
		sets, calls := probe.take()
		require.Empty(t, sets)
		for _, c := range calls {
			require.Equal(t, probeCall{training, true}, c)
		}
	}
}

// bnModel is Dense → BatchNorm1D → ReLU → Dense.
func bnModel() *nn.Sequential {
	return nn.NewSequential(
		nn.NewDense(2, 8, nn.WithSeed(1)),
		nn.NewBatchNorm1D(8),
		nn.NewReLU(),
		nn.NewDense(8, 2, nn.WithSeed(2)),
	)
}

func stateOf(m nn.Module) map[string][]float32 {
	out := map[string][]float32{}
	for _, t := range nn.StateDict(m) {
		out[t.Name] = append([]float32(nil), t.Value.Data()...)
	}
	return out
}

// TestBatchNormModel: a fresh Dense → BatchNorm1D model fits (the input
// check runs one example in inference mode), checking and evaluating leave
// the running statistics alone, and one training step counts one batch.
func TestBatchNormModel(t *testing.T) {
	m := bnModel()
	ds := blobs(40, 1)
	before := stateOf(m)
	require.NoError(t, CheckInput(m, nn.CrossEntropyLoss{}, ds))
	_, err := Evaluate(context.Background(), m, ds, EvalConfig{BatchSize: 8})
	require.NoError(t, err)
	_, err = Predict(m, ds.X(), 8)
	require.NoError(t, err)
	require.Equal(t, before, stateOf(m))
	require.True(t, nn.IsTraining(m))

	// One step (the batch is the whole training part), then validation.
	hist, err := Fit(context.Background(), m, newAdam(m, 0.01), ds, Config{BatchSize: 64, ValidationSplit: 0.25, Quiet: true})
	require.NoError(t, err)
	require.Contains(t, hist.Last(), "val_loss")
	after := stateOf(m)
	require.Equal(t, []float32{1}, after["1.num_batches_tracked"])
	require.NotEqual(t, before["1.running_mean"], after["1.running_mean"])

	hist, err = Fit(context.Background(), bnModel(), newAdam(bnModel(), 0.01), ds, Config{Epochs: 3, BatchSize: 8, Quiet: true})
	require.NoError(t, err)
	require.Len(t, hist.Epochs, 3)
}

// TestPredictConcurrentOnTrainingModel: Predict on a model in training
// mode gives the evaluation outputs (Dropout off) from many goroutines at
// once, and leaves the mode alone. Run under -race.
func TestPredictConcurrentOnTrainingModel(t *testing.T) {
	d1, d2 := nn.NewDense(3, 16, nn.WithSeed(1)), nn.NewDense(16, 2, nn.WithSeed(2))
	m := nn.NewSequential(d1, nn.NewDropout(0.5, nn.WithSeed(3)), d2)
	nn.Train(m)
	x := tensor.RandN(rand.New(rand.NewPCG(1, 2)), 0, 1, 9, 3)
	want := d2.Forward(d1.Forward(autograd.NoGrad(x))).Value()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				got, err := Predict(m, x, 1+g)
				if err != nil {
					errs <- err
					return
				}
				if !tensor.AllClose(got, want, 1e-6, 1e-6) {
					errs <- errors.New("Predict applied dropout")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
	require.True(t, nn.IsTraining(m))
}
