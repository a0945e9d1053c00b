package train

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// arenas recycles inference buffers across Predict calls and goroutines;
// probeArenas those of the one-row shape check, apart so that neither
// pool's buffers change shape from call to call.
var (
	arenas      = sync.Pool{New: func() any { return autograd.NewArena() }}
	probeArenas = sync.Pool{New: func() any { return autograd.NewArena() }}
)

// Predict runs model on x, a batch of examples [N, features...], in
// batches of batchSize (default 32), and returns the stacked outputs
// [N, outputs...], like Keras' model.predict. The outputs are what the
// model computes: logits for a model trained with CrossEntropyLoss or
// BCEWithLogitsLoss (PredictProba turns them into probabilities).
//
// x's first axis is always the batch: Predict first runs the model on one
// row of x, shape [1, features...], and returns an error naming both
// shapes when the model rejects it, so one example of shape [13] given to
// a model that takes [N, 13] is an error, not 13 examples of shape [];
// use PredictOne for a single example. The check is made once for a
// model and example shape: the last pair that passed is remembered, and
// repeated calls with it go straight to the batches.
//
// The inputs are in inference mode: Dropout and BatchNorm behave as in
// evaluation whatever the model's mode, nothing is recorded, and Predict
// never changes the model's mode or state. So Predict is safe to call from
// many goroutines at once on one model, and once warm it allocates only its
// result: intermediate buffers come from pooled arenas. It is not safe
// concurrently with anything that writes the weights: a Predict running
// while Fit trains the same model reads weights in the middle of an update
// (a data race). Predict on a copy of the model (nn.StateDict,
// nn.LoadStateDict), or from a callback between epochs (OnEpochEnd), which
// runs on Fit's goroutine.
func Predict(model nn.Module, x *tensor.Tensor, batchSize int) (out *tensor.Tensor, err error) {
	if isNil(model) {
		return nil, errors.New("train: Predict: the model is nil")
	}
	if x == nil || x.Rank() < 1 || x.Dim(0) == 0 {
		var shape []int
		if x != nil {
			shape = x.Shape()
		}
		return nil, fmt.Errorf("train: Predict needs a batch of inputs [N, features...], got shape %v", shape)
	}
	if batchSize <= 0 {
		batchSize = 32
	}
	arena := arenas.Get().(*autograd.Arena)
	defer arenas.Put(arena)
	n := x.Dim(0)
	rowShape := x.Shape()[1:]
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("train: the model rejected input of shape %v (%d examples of shape %v)%s: %v", x.Shape(), n, rowShape, inputHint(model), r)
		}
	}()
	rowSize := 1
	for _, d := range rowShape {
		rowSize *= d
	}
	var dims [8]int
	shape := append(dims[:0], 1)
	shape = append(shape, rowShape...)
	if n > 1 && !probedBefore(model, rowShape) {
		// Run one row alone first: it checks that x's first axis is the
		// batch. Its own arena keeps the batches' buffers in shape.
		probe := probeArenas.Get().(*autograd.Arena)
		defer probeArenas.Put(probe)
		probe.Reset()
		in := tensor.New(x.Data()[:rowSize], shape...)
		if y := model.Forward(probe.Input(in)).Value(); y.Rank() < 1 || y.Dim(0) != 1 {
			return nil, fmt.Errorf("train: the model turned one example of shape %v (input %v) into output shape %v; want [1, outputs...]%s", rowShape, in.Shape(), y.Shape(), inputHint(model))
		}
		rememberProbe(model, rowShape)
	}
	var outRow int
	for lo := 0; lo < n; {
		hi := lo + min(batchSize, n-lo)
		shape[0] = hi - lo
		arena.Reset()
		in := x
		if hi-lo < n {
			in = tensor.New(x.Data()[lo*rowSize:hi*rowSize], shape...)
		}
		y := model.Forward(arena.Input(in)).Value()
		if y.Rank() < 1 || y.Dim(0) != hi-lo || (out != nil && y.Size() != (hi-lo)*outRow) {
			return nil, fmt.Errorf("train: the model turned a batch of input shape %v into output shape %v; want [%d, outputs...]%s", in.Shape(), y.Shape(), hi-lo, inputHint(model))
		}
		if out == nil {
			var odims [8]int
			outShape := append(append(odims[:0], n), y.Shape()[1:]...)
			out = tensor.Zeros(outShape...)
			outRow = out.Size() / n
		}
		copy(out.Data()[lo*outRow:hi*outRow], y.Data())
		lo = hi
	}
	return out, nil
}

// PredictOne runs model on one example x (shape: the features of one
// example, such as [13] or [1, 28, 28]) and returns its output without the
// batch axis ([outputs...]). See Predict.
func PredictOne(model nn.Module, x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil {
		return nil, errors.New("train: PredictOne: the input is nil")
	}
	batch := x.Reshape(append([]int{1}, x.Shape()...)...)
	out, err := Predict(model, batch, 1)
	if err != nil {
		return nil, err
	}
	return out.Reshape(out.Shape()[1:]...), nil
}

// PredictProba is Predict followed by what turns the model's outputs into
// class probabilities, like Keras' predict on a model ending in a
// softmax: nothing when the model ends in a softmax or sigmoid (see
// nn.OutputActivation), exp for a log-softmax, and otherwise, for logits, a
// sigmoid when there is one output per example ([N] or [N, 1], binary) and
// a softmax over the last axis when there are several. For multi-label
// logits (BCEWithLogitsLoss over several outputs) apply tensor.Sigmoid to
// Predict's result instead.
func PredictProba(model nn.Module, x *tensor.Tensor, batchSize int) (*tensor.Tensor, error) {
	out, err := Predict(model, x, batchSize)
	if err != nil {
		return nil, err
	}
	switch nn.OutputActivation(model) {
	case nn.ActSoftmax, nn.ActSigmoid:
		return out, nil
	case nn.ActLogSoftmax:
		return tensor.Exp(out), nil
	}
	if out.Rank() == 1 || out.Dim(-1) == 1 {
		return tensor.Sigmoid(out), nil
	}
	return tensor.Softmax(out, -1), nil
}

// inputHint says what input the model's first layer takes, when it is a
// layer whose input size is known, as " (the model takes [N, 13])".
func inputHint(m nn.Module) string {
	for {
		switch l := m.(type) {
		case *nn.Sequential:
			if l.Len() == 0 {
				return ""
			}
			m = l.Layer(0)
			continue
		case *nn.Dense:
			return fmt.Sprintf(" (the model takes [N, %d])", l.Weight.Value().Dim(1))
		case *nn.Conv2D:
			return fmt.Sprintf(" (the model takes [N, %d, height, width])", l.Weight.Value().Dim(1)*max(l.Opts.Groups, 1))
		}
		return ""
	}
}

// probeKey is a model and example shape whose one-row check passed.
type probeKey struct {
	model nn.Module
	rank  int
	shape [8]int
}

// lastProbe is the last probeKey that passed; it keeps that model
// reachable until another passes.
var lastProbe atomic.Pointer[probeKey]

// probedBefore reports whether model last passed the one-row check with
// examples of shape row.
func probedBefore(model nn.Module, row []int) bool {
	k := lastProbe.Load()
	if k == nil || k.rank != len(row) || !reflect.TypeOf(model).Comparable() || k.model != model {
		return false
	}
	return slices.Equal(k.shape[:k.rank], row)
}

// rememberProbe records that model passed the one-row check with examples
// of shape row.
func rememberProbe(model nn.Module, row []int) {
	if len(row) > len(probeKey{}.shape) || !reflect.TypeOf(model).Comparable() {
		return
	}
	k := &probeKey{model: model, rank: len(row)}
	copy(k.shape[:], row)
	lastProbe.Store(k)
}
