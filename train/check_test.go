package train

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
)

// classes makes n examples of 2 features with class ids i%k.
func classes(n, k int) *data.TensorDataset {
	x := tensor.Zeros(n, 2)
	y := tensor.Zeros(n)
	for i := range n {
		x.Set(float32(i%k), i, 0)
		x.Set(1, i, 1)
		y.Data()[i] = float32(i % k)
	}
	ds, err := data.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	return ds
}

// TestFitValidatesEveryTarget puts one bad class id deep in the data: Fit,
// Evaluate and the validation pass must report its example and value, not
// panic in the middle of an epoch.
func TestFitValidatesEveryTarget(t *testing.T) {
	for _, bad := range []float32{10, -1, 2.5, float32(math.NaN())} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			ds := classes(60, 10)
			ds.Y().Data()[37] = bad
			want := fmt.Sprintf("example 37 has target %v", bad)
			for _, loss := range []nn.Loss{nn.CrossEntropyLoss{}, nn.NLLLoss{}} {
				m := newMLP(2, 4, 10, 1)
				_, err := Fit(context.Background(), m, newAdam(m, 0.01), ds, Config{Quiet: true, Loss: loss, BatchSize: 8})
				require.ErrorContains(t, err, want)
				require.ErrorContains(t, err, "[0, 10)")
				_, err = Evaluate(context.Background(), m, ds, EvalConfig{Loss: loss, BatchSize: 8})
				require.ErrorContains(t, err, want)
				_, err = Fit(context.Background(), m, newAdam(m, 0.01), classes(30, 10), Config{Quiet: true, Loss: loss, Validation: ds})
				require.ErrorContains(t, err, "train: validation data: "+want)
			}
		})
	}
	// A NaN target is caught for any loss.
	ds := blobs(40, 1)
	ds.Y().Data()[33] = float32(math.NaN())
	m := newMLP(2, 4, 1, 1)
	_, err := Fit(context.Background(), m, newAdam(m, 0.01), ds, Config{Quiet: true, Loss: nn.BCEWithLogitsLoss{}, Metrics: noMetrics})
	require.ErrorContains(t, err, "example 33 has target NaN")
}

var noMetrics = []func() metrics.Metric{}

// panicky panics on its n-th forward pass.
type panicky struct {
	*mlp
	calls, at int
}

func (p *panicky) Forward(x *autograd.Var) *autograd.Var {
	p.calls++
	if p.calls == p.at {
		panic("boom")
	}
	return p.mlp.Forward(x)
}

func TestFitAndEvaluateTurnPanicsIntoErrors(t *testing.T) {
	// Call 1 is CheckInput's probe; call 1+3 is the third training step.
	m := &panicky{mlp: newMLP(2, 4, 2, 1), at: 4}
	_, err := Fit(context.Background(), m, newAdam(m, 0.01), blobs(64, 1), Config{Quiet: true, BatchSize: 16})
	require.ErrorContains(t, err, "at epoch 1, step 3 the model failed")
	require.ErrorContains(t, err, "boom")

	m = &panicky{mlp: newMLP(2, 4, 2, 1), at: 3}
	_, err = Evaluate(context.Background(), m, blobs(64, 1), EvalConfig{BatchSize: 16})
	require.ErrorContains(t, err, "train: the model failed on evaluation batch 2")
	require.ErrorContains(t, err, "boom")
}

// zeroNaN replaces NaN by 0 on the way forward and passes the gradient
// through unchanged, as a masking or clamping layer might: a NaN input
// then leaves the loss finite but the weight gradient NaN.
type zeroNaN struct{}

func (zeroNaN) Name() string { return "zeroNaN" }
func (zeroNaN) Forward(in ...*tensor.Tensor) *tensor.Tensor {
	out := in[0].Clone()
	for i, v := range out.Data() {
		if v != v {
			out.Data()[i] = 0
		}
	}
	return out
}
func (zeroNaN) Backward(g *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{g} }

// maskedMLP is mlp with zeroNaN after its first layer.
type maskedMLP struct{ *mlp }

func (m maskedMLP) Forward(x *autograd.Var) *autograd.Var {
	h := autograd.ReLU(autograd.Apply(zeroNaN{}, autograd.Linear(x, m.w1.Var, m.b1.Var)))
	return autograd.Linear(h, m.w2.Var, m.b2.Var)
}

// TestFitStopsOnNonFiniteParams feeds one NaN feature that leaves the loss
// finite but makes the weight gradient NaN: Fit must stop at that very
// step rather than train on with NaN weights.
func TestFitStopsOnNonFiniteParams(t *testing.T) {
	ds := blobs(64, 1)
	ds.X().Data()[2*40] = float32(math.NaN()) // example 40: epoch 1, step 3
	m := maskedMLP{newMLP(2, 4, 2, 1)}
	_, err := Fit(context.Background(), m, newAdam(m, 0.01), ds, Config{Epochs: 2, BatchSize: 16, NoShuffle: true, Quiet: true})
	require.ErrorContains(t, err, "after the optimizer step at epoch 1, step 3, parameter 0.weight holds NaN")

	// A NaN that reaches the loss stops training at the loss.
	m2 := newMLP(2, 4, 2, 1)
	_, err = Fit(context.Background(), m2, newAdam(m2, 0.01), ds, Config{Epochs: 2, BatchSize: 16, NoShuffle: true, Quiet: true})
	require.ErrorContains(t, err, "loss is NaN at epoch 1, step 3")
}

func TestCheckParams(t *testing.T) {
	p := &nn.Param{Var: autograd.NewVar(tensor.Full(3e38, 4)), Name: "big"}
	require.NoError(t, checkParams([]*nn.Param{p}), "a sum that overflows is not a bad parameter")
	p.Value().Data()[2] = float32(math.Inf(-1))
	require.EqualError(t, checkParams([]*nn.Param{p}), "parameter big holds -Inf at flat index 2")
}

func TestFitRejectsBadConfig(t *testing.T) {
	m := newMLP(2, 4, 2, 1)
	opt := newAdam(m, 0.01)
	ds := blobs(40, 1)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		fit  func() error
		want string
	}{
		{"typed nil set", func() error {
			_, err := Fit(ctx, m, opt, (*data.TensorDataset)(nil), Config{Quiet: true})
			return err
		}, "the training set is nil"},
		{"typed nil validation", func() error {
			_, err := Fit(ctx, m, opt, ds, Config{Quiet: true, Validation: (*data.Subset)(nil)})
			return err
		}, "the validation set is nil"},
		{"nil optimizer", func() error { _, err := Fit(ctx, m, nil, ds, Config{Quiet: true}); return err }, "the optimizer is nil"},
		{"nil model", func() error { _, err := Fit(ctx, nil, opt, ds, Config{Quiet: true}); return err }, "the model is nil"},
		{"split NaN", func() error {
			_, err := Fit(ctx, m, opt, ds, Config{Quiet: true, ValidationSplit: math.NaN()})
			return err
		}, "ValidationSplit is NaN"},
		{"split 1", func() error { _, err := Fit(ctx, m, opt, ds, Config{Quiet: true, ValidationSplit: 1}); return err }, "ValidationSplit is 1"},
		{"split negative", func() error {
			_, err := Fit(ctx, m, opt, ds, Config{Quiet: true, ValidationSplit: -0.1})
			return err
		}, "ValidationSplit is -0.1"},
		{"split of one to validation", func() error {
			one, err := data.NewSubset(ds, []int{3})
			require.NoError(t, err)
			_, err = Fit(ctx, m, opt, one, Config{Quiet: true, ValidationSplit: 0.5})
			return err
		}, "ValidationSplit 0.5 of 1 example(s) leaves the training part empty"},
		{"split of one to training", func() error {
			one, err := data.NewSubset(ds, []int{3})
			require.NoError(t, err)
			_, err = Fit(ctx, m, opt, one, Config{Quiet: true, ValidationSplit: 0.2})
			return err
		}, "ValidationSplit 0.2 of 1 example(s) leaves the validation part empty"},
		{"empty validation", func() error {
			none, err := data.NewSubset(ds, []int{})
			require.NoError(t, err)
			_, err = Fit(ctx, m, opt, ds, Config{Quiet: true, Validation: none})
			return err
		}, "the validation set is empty"},
		{"initial epoch", func() error {
			_, err := Fit(ctx, m, opt, ds, Config{Quiet: true, Epochs: 2, InitialEpoch: 3})
			return err
		}, "InitialEpoch is 3"},
		{"epochs", func() error { _, err := Fit(ctx, m, opt, ds, Config{Quiet: true, Epochs: -1}); return err }, "Epochs is -1"},
		{"nil metric", func() error {
			_, err := Fit(ctx, m, opt, ds, Config{Quiet: true, Metrics: []func() metrics.Metric{nil}})
			return err
		}, "Metrics[0] is nil"},
		{"nil callback", func() error {
			_, err := Fit(ctx, m, opt, ds, Config{Quiet: true, Callbacks: []Callback{(*CSVLogger)(nil)}})
			return err
		}, "Callbacks[0] is nil"},
		{"evaluate typed nil", func() error {
			_, err := Evaluate(ctx, m, (*data.TensorDataset)(nil), EvalConfig{})
			return err
		}, "the evaluation set is nil"},
	} {
		t.Run(c.name, func(t *testing.T) { require.ErrorContains(t, c.fit(), c.want) })
	}
}

// TestHugeBatchSizeIsClamped: a batch size far above the data set's
// length must size the buffers by the data, not by the batch size.
func TestHugeBatchSizeIsClamped(t *testing.T) {
	m := newMLP(2, 4, 2, 1)
	ds := blobs(40, 1)
	for _, bs := range []int{1 << 24, math.MaxInt} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		h, err := Fit(context.Background(), m, newAdam(m, 0.01), ds, Config{Quiet: true, BatchSize: bs, ValidationSplit: 0.25})
		require.NoError(t, err)
		require.Contains(t, h.Last(), "val_loss")
		_, err = Evaluate(context.Background(), m, ds, EvalConfig{BatchSize: bs})
		require.NoError(t, err)
		_, err = Predict(m, ds.X(), bs)
		require.NoError(t, err)
		runtime.ReadMemStats(&after)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "batch size %d", bs)
	}
}

func TestTakesLogits(t *testing.T) {
	for _, c := range []struct {
		loss nn.Loss
		want bool
	}{
		{nn.CrossEntropyLoss{}, true}, {&nn.CrossEntropyLoss{}, true},
		{nn.BCEWithLogitsLoss{}, true}, {nn.NLLLoss{}, true},
		{nn.BCELoss{}, false}, {&nn.BCELoss{}, false}, {nn.MSELoss{}, false},
		{customLoss{logits: true}, true}, {customLoss{}, false},
	} {
		require.Equal(t, c.want, TakesLogits(c.loss), c.loss.Name())
	}
}

type customLoss struct {
	nn.MSELoss
	logits bool
}

func (l customLoss) TakesLogits() bool { return l.logits }

func TestCheckOutput(t *testing.T) {
	soft := nn.NewSequential(nn.NewDense(2, 3), nn.NewDense(3, 3, nn.WithActivation(nn.ActSoftmax)))
	sig := nn.NewSequential(nn.NewDense(2, 1), nn.NewSigmoid())
	logits := nn.NewSequential(nn.NewDense(2, 3))
	logSoft := nn.NewSequential(nn.NewDense(2, 3), nn.NewLogSoftmax())
	for _, c := range []struct {
		model nn.Module
		loss  nn.Loss
		want  string // "" for no error
	}{
		{soft, nn.CrossEntropyLoss{}, "the model ends in a Softmax, but CrossEntropyLoss takes raw logits"},
		{sig, nn.BCEWithLogitsLoss{}, "the model ends in a Sigmoid, but BCEWithLogitsLoss takes raw logits"},
		{soft, nn.NLLLoss{}, "end in nn.ActLogSoftmax"},
		{sig, customLoss{logits: true}, "says it takes raw logits"},
		{sig, nn.BCELoss{}, ""},
		{logits, nn.CrossEntropyLoss{}, ""},
		{logSoft, nn.NLLLoss{}, ""},
		{soft, nn.MSELoss{}, ""},
	} {
		err := CheckOutput(c.model, c.loss)
		if c.want == "" {
			require.NoError(t, err)
		} else {
			require.ErrorContains(t, err, c.want)
		}
	}
	// Fit refuses the double softmax before training.
	x, y := tensor.Ones(8, 2), tensor.Zeros(8)
	ds, err := data.NewTensorDataset(x, y)
	require.NoError(t, err)
	before := soft.Layer(1).(*nn.Dense).Weight.Value().Clone()
	_, err = Fit(context.Background(), soft, optim.NewSGD(soft.Params(), optim.SGDConfig{LR: 0.1}), ds, Config{Quiet: true})
	require.ErrorContains(t, err, "remove the final Softmax")
	require.Equal(t, before.Data(), soft.Layer(1).(*nn.Dense).Weight.Value().Data())
}
