package nn

import (
	"fmt"
	"slices"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// BatchNorm normalises each channel of its input, PyTorch's BatchNorm1d
// (input [N, C] or [N, C, L]) and BatchNorm2d ([N, C, H, W]); build it with
// NewBatchNorm1D or NewBatchNorm2D.
//
// In training mode it normalises with the batch mean and biased variance
// and updates its running estimates as PyTorch does:
//
//	running_mean = (1 − momentum)·running_mean + momentum·mean
//	running_var  = (1 − momentum)·running_var  + momentum·var·M/(M−1)
//
// (the running variance is unbiased, M being the number of values per
// channel), and counts the batch in num_batches_tracked: once per training
// forward. In evaluation mode, and for any input in inference mode
// (autograd.NoGrad, Arena.Input; see autograd.Var.Inference) whatever its
// mode, it normalises with the running estimates and changes nothing, so
// many goroutines may run it at once, even while it trains. The running estimates are buffers (see
// BufferOwner): saved with the model, never trained. Build it with
// NewBatchNorm1D or NewBatchNorm2D: the zero value has no buffers and its
// Forward panics saying so.
type BatchNorm struct {
	trainFlag
	Weight            *Param // [C], initialised to 1; nil when built WithoutAffine
	Bias              *Param // [C], initialised to 0; nil when built WithoutAffine
	RunningMean       *Param // buffer [C], initially 0
	RunningVar        *Param // buffer [C], initially 1
	NumBatchesTracked *Param // buffer [], the number of training batches seen; saved as Int64
	Momentum          float32
	Eps               float32
	name              string
	ranks             []int
}

// NewBatchNorm1D returns a batch normalisation over the C channels of
// [N, C] or [N, C, L] inputs. Options: WithMomentum (default 0.1), WithEps
// (default 1e-5), WithoutAffine, WithWeightInit, WithBiasInit.
func NewBatchNorm1D(c int, opts ...Option) *BatchNorm {
	return newBatchNorm("BatchNorm1D", c, []int{2, 3}, opts)
}

// NewBatchNorm2D returns a batch normalisation over the C channels of
// [N, C, H, W] inputs; see NewBatchNorm1D for the options.
func NewBatchNorm2D(c int, opts ...Option) *BatchNorm {
	return newBatchNorm("BatchNorm2D", c, []int{4}, opts)
}

func newBatchNorm(name string, c int, ranks []int, opts []Option) *BatchNorm {
	if c < 1 {
		panic(fmt.Sprintf("nn.New%s: channels must be positive, got %d", name, c))
	}
	cfg := newConfig(opts)
	b := &BatchNorm{
		RunningMean:       NewBuffer("running_mean", tensor.Zeros(c)),
		RunningVar:        NewBuffer("running_var", tensor.Ones(c)),
		NumBatchesTracked: &Param{Var: autograd.Constant(tensor.Scalar(0)), Name: "num_batches_tracked", Dtype: Int64},
		Momentum:          cfg.momentum,
		Eps:               cfg.eps,
		name:              name,
		ranks:             ranks,
	}
	if !cfg.noAffine {
		b.Weight = NewParam("weight", initTensor(cfg.weightInit, Ones, cfg, c))
		b.Bias = NewParam("bias", initTensor(cfg.biasInit, Zeros, cfg, c))
	}
	return b
}

// Forward normalises x with batch statistics in training mode, or with the
// running estimates in evaluation mode or when x is in inference mode.
func (b *BatchNorm) Forward(x *autograd.Var) *autograd.Var {
	if b.evaluating(x) {
		return autograd.BatchNormWithStats(x, varOf(b.Weight), varOf(b.Bias), b.RunningMean.Value(), b.RunningVar.Value(), b.Eps)
	}
	return b.train(x, false)
}

// forwardWithNext runs a training-mode BatchNorm and a ReLU after it as
// one op (autograd.BatchNormReLU: the same values, without the ReLU's
// tensor and passes over memory).
func (b *BatchNorm) forwardWithNext(x *autograd.Var, next Module) (*autograd.Var, bool) {
	switch next.(type) {
	case ReLU, *ReLU:
	default:
		return nil, false
	}
	if b.evaluating(x) {
		return nil, false
	}
	return b.train(x, true), true
}

// forwardChain runs a training-mode BatchNorm2D, a ReLU and a MaxPool2D
// with 2×2 windows at stride 2 after them as one op
// (autograd.BatchNormReLUMaxPool: the same values and pooling winners,
// without the normalised tensor).
func (b *BatchNorm) forwardChain(x *autograd.Var, next []Module) (*autograd.Var, int) {
	if !b.reluPoolNext(next) || b.evaluating(x) {
		return nil, 0
	}
	xs := x.Shape()
	if len(xs) != 4 || xs[2] < 2 || xs[3] < 2 {
		return nil, 0
	}
	m := b.checkTrain(x)
	y, mean, variance := autograd.BatchNormReLUMaxPool(x, varOf(b.Weight), varOf(b.Bias), b.Eps)
	b.track(mean, variance, m)
	return y, 2
}

// reluPoolNext reports whether next starts with a ReLU and a MaxPool2D
// with 2×2 windows at stride 2.
func (b *BatchNorm) reluPoolNext(next []Module) bool {
	if len(next) < 2 {
		return false
	}
	switch next[0].(type) {
	case ReLU, *ReLU:
	default:
		return false
	}
	p, ok := next[1].(*MaxPool2D)
	return ok && is2x2(p.Opts)
}

// is2x2 reports whether o are 2×2 windows at stride 2 without padding or
// dilation.
func is2x2(o autograd.Pool2DOptions) bool {
	one := func(v [2]int, def int) bool { return (v[0] == def || v[0] == 0) && (v[1] == def || v[1] == 0) }
	return o.Kernel == [2]int{2, 2} && one(o.Stride, 2) && o.Padding == [2]int{} && one(o.Dilation, 1)
}

// evaluating checks that b is built and fits x, and reports whether it
// normalises with the running estimates.
func (b *BatchNorm) evaluating(x *autograd.Var) bool {
	if b.RunningMean == nil || b.RunningVar == nil || b.NumBatchesTracked == nil {
		panic(unbuilt("BatchNorm", "NewBatchNorm1D or nn.NewBatchNorm2D"))
	}
	xs := x.Shape()
	c := b.RunningMean.Value().Size()
	if !slices.Contains(b.ranks, len(xs)) || xs[1] != c {
		panic(fmt.Sprintf("nn.%s.Forward: input %v does not have %d channels on axis 1 (want rank %v)", b.name, xs, c, b.ranks))
	}
	return b.eval || x.Inference()
}

// train normalises x with its batch statistics (rectified when relu is
// set) and updates the running estimates.
func (b *BatchNorm) train(x *autograd.Var, relu bool) *autograd.Var {
	m := b.checkTrain(x)
	norm := autograd.BatchNorm
	if relu {
		norm = autograd.BatchNormReLU
	}
	y, mean, variance := norm(x, varOf(b.Weight), varOf(b.Bias), b.Eps)
	b.track(mean, variance, m)
	return y
}

// checkTrain returns the number of values per channel of x, and panics
// when there are fewer than two.
func (b *BatchNorm) checkTrain(x *autograd.Var) int {
	c := b.RunningMean.Value().Size()
	m := x.Value().Size() / c
	if m < 2 {
		panic(fmt.Sprintf("nn.%s.Forward: input %v has one value per channel; training needs more", b.name, x.Shape()))
	}
	return m
}

// track updates the running estimates with a training batch's mean and
// biased variance over m values per channel, and counts the batch.
func (b *BatchNorm) track(mean, variance *tensor.Tensor, m int) {
	mom := b.Momentum
	unbias := float32(m) / float32(m-1)
	rm, rv := b.RunningMean.Value().Data(), b.RunningVar.Value().Data()
	for i, mu := range mean.Data() {
		rm[i] = (1-mom)*rm[i] + mom*mu
		rv[i] = (1-mom)*rv[i] + mom*variance.Data()[i]*unbias
	}
	b.NumBatchesTracked.Value().Data()[0]++
}

// Params returns the affine weight and bias (none WithoutAffine).
func (b *BatchNorm) Params() []*Param { return params(b.Weight, b.Bias) }

// Buffers returns running_mean, running_var and num_batches_tracked.
func (b *BatchNorm) Buffers() []*Param {
	return params(b.RunningMean, b.RunningVar, b.NumBatchesTracked)
}

// String describes the layer, like "BatchNorm2D(32)".
func (b *BatchNorm) String() string {
	if b.RunningMean == nil {
		return "BatchNorm(unbuilt)"
	}
	return fmt.Sprintf("%s(%d)", b.name, b.RunningMean.Value().Size())
}
