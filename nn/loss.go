package nn

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Loss is a training objective: it scores a model's prediction against the
// target the data loader supplied for the same batch. The result is a scalar
// Var to call Backward on, or, with ReduceNone, one value per sample (or
// per element).
//
// Every loss here is a small struct whose zero value means PyTorch's
// defaults (mean reduction, no label smoothing, ...), and both the value
// and a pointer satisfy Loss:
//
//	var loss nn.Loss = nn.CrossEntropyLoss{LabelSmoothing: 0.1}
//	l := loss.Forward(logits, labels) // logits [B, C], labels [B]
//	l.Backward()
//
// A target whose shape or values do not fit the loss is a programming error
// in the caller's data pipeline: Forward panics with a message naming the
// loss and both shapes.
type Loss interface {
	// Forward returns the loss of pred against target.
	Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var
	// Name returns the loss's name, such as "CrossEntropyLoss".
	Name() string
}

// Reduction says how a loss combines its per-sample or per-element values;
// the zero value, ReduceMean, is PyTorch's default.
type Reduction = autograd.Reduction

// The reductions a loss can apply.
const (
	// ReduceMean averages into a scalar: over samples for the
	// classification losses, over elements for the others.
	ReduceMean = autograd.ReduceMean
	// ReduceSum adds into a scalar.
	ReduceSum = autograd.ReduceSum
	// ReduceNone returns the unreduced values.
	ReduceNone = autograd.ReduceNone
)

// CrossEntropyLoss is the cross-entropy between softmax(pred) and the
// target, for pred holding raw logits of shape [B, C] (no softmax layer
// before it), like PyTorch's nn.CrossEntropyLoss. Logits [B, T, C] (any
// number of leading axes) with class ids [B, T] score every position, as a
// language model's next-token loss; the mean is over all B·T positions. Log-softmax and the
// negative log-likelihood run fused, stable for logits of any magnitude.
//
// The target's shape decides its meaning: [B] (or [B, 1]) holds class
// indices as whole numbers in [0, C); [B, C] holds one-hot rows or class
// probabilities.
type CrossEntropyLoss struct {
	// LabelSmoothing ε in [0, 1] mixes the target with the uniform
	// distribution: q = (1−ε)·target + ε/C. With class indices the loss is
	// (1−ε)·nll + ε·mean over classes of −log p, as in PyTorch.
	LabelSmoothing float32
	// Reduction over samples; the mean divides by B.
	Reduction Reduction
}

// Forward returns the cross-entropy of the logits pred against target.
func (l CrossEntropyLoss) Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	const op = "nn.CrossEntropyLoss"
	ps := pred.Shape()
	if len(ps) > 2 && tensor.EqualShape(target.Shape(), ps[:len(ps)-1]) {
		return l.sequence(pred, target)
	}
	if len(ps) != 2 {
		panic(fmt.Sprintf("%s: prediction must be [batch, classes] logits, got shape %v", op, ps))
	}
	if tensor.EqualShape(target.Shape(), ps) {
		return autograd.SoftmaxCrossEntropyProbs(pred, target, l.LabelSmoothing, l.Reduction)
	}
	if !isClassVector(target.Shape(), ps[0]) {
		panic(fmt.Sprintf("%s: target shape %v fits neither class indices [%d] nor class probabilities %v for prediction shape %v",
			op, target.Shape(), ps[0], ps, ps))
	}
	return autograd.SoftmaxCrossEntropy(pred, classIndices(op, target, ps[1], pred), l.LabelSmoothing, l.Reduction)
}

// sequence scores logits [..., C] against class ids [...] (a language
// model's [B, T, C] against [B, T]) as one batch of rows.
func (l CrossEntropyLoss) sequence(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	ps := pred.Shape()
	c := ps[len(ps)-1]
	n := target.Size()
	// Forward's class-index path, without a reshaped copy of the target.
	out := autograd.SoftmaxCrossEntropy(autograd.Reshape(pred, n, c), classIndices("nn.CrossEntropyLoss", target, c, pred), l.LabelSmoothing, l.Reduction)
	if l.Reduction == ReduceNone {
		return autograd.Reshape(out, ps[:len(ps)-1]...)
	}
	return out
}

// Name returns "CrossEntropyLoss".
func (CrossEntropyLoss) Name() string { return "CrossEntropyLoss" }

// NLLLoss is the negative log-likelihood of class indices under pred,
// which holds log-probabilities of shape [B, C] (the output of a
// LogSoftmax), like PyTorch's nn.NLLLoss: loss_i = −pred[i, target_i]. The
// target is [B] (or [B, 1]) class indices as whole numbers in [0, C).
// CrossEntropyLoss on the logits does the same in one fused step.
type NLLLoss struct {
	// Reduction over samples; the mean divides by B.
	Reduction Reduction
}

// Forward returns the negative log-likelihood of target under pred.
func (l NLLLoss) Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	const op = "nn.NLLLoss"
	ps := pred.Shape()
	if len(ps) != 2 || !isClassVector(target.Shape(), ps[0]) {
		panic(fmt.Sprintf("%s: prediction shape %v and target shape %v are not [batch, classes] and [batch]", op, ps, target.Shape()))
	}
	return autograd.NLL(pred, classIndices(op, target, ps[1], pred), l.Reduction)
}

// Name returns "NLLLoss".
func (NLLLoss) Name() string { return "NLLLoss" }

// BCELoss is the binary cross-entropy −(t·log p + (1−t)·log(1−p)) of
// probabilities pred in [0, 1] (the output of a Sigmoid) against targets t
// in [0, 1], like PyTorch's nn.BCELoss: each log is clamped to at least
// −100, so a prediction of exactly 0 or 1 gives a finite loss. Prefer
// BCEWithLogitsLoss on the raw logits, which is more accurate.
//
// The target has the prediction's elements: equal shapes, or shapes that
// differ only by axes of size one ([B] against [B, 1]).
type BCELoss struct {
	// Reduction over elements; the mean divides by their number.
	Reduction Reduction
}

// Forward returns the binary cross-entropy of the probabilities pred.
func (l BCELoss) Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	checkElements("nn.BCELoss", pred.Shape(), target.Shape())
	return autograd.BinaryCrossEntropy(pred, target, l.Reduction)
}

// Name returns "BCELoss".
func (BCELoss) Name() string { return "BCELoss" }

// BCEWithLogitsLoss is the binary cross-entropy of sigmoid(pred) for raw
// logits pred, like PyTorch's nn.BCEWithLogitsLoss, computed stably as
// max(x,0) − x·t + log(1+e^−|x|) so that it stays exact for logits of any
// magnitude. It serves binary classification (pred [B] or [B, 1]) and
// multi-label classification (pred [B, C], one independent yes/no per
// class). Shapes are as for BCELoss.
type BCEWithLogitsLoss struct {
	// PosWeight, when not nil, multiplies the loss of positive targets:
	// one value, or one per class (the last axis of pred). A value of
	// negatives/positives balances a skewed class.
	PosWeight *tensor.Tensor
	// Reduction over elements; the mean divides by their number.
	Reduction Reduction
}

// Forward returns the binary cross-entropy of the logits pred.
func (l BCEWithLogitsLoss) Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	checkElements("nn.BCEWithLogitsLoss", pred.Shape(), target.Shape())
	return autograd.BCEWithLogits(pred, target, l.PosWeight, l.Reduction)
}

// Name returns "BCEWithLogitsLoss".
func (BCEWithLogitsLoss) Name() string { return "BCEWithLogitsLoss" }

// MSELoss is the squared error (pred − target)², like PyTorch's
// nn.MSELoss. The target has the prediction's elements (see BCELoss).
type MSELoss struct {
	// Reduction over elements; the mean divides by their number.
	Reduction Reduction
}

// Forward returns the squared error of pred against target.
func (l MSELoss) Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	checkElements("nn.MSELoss", pred.Shape(), target.Shape())
	return autograd.MSE(pred, autograd.Constant(target), l.Reduction)
}

// Name returns "MSELoss".
func (MSELoss) Name() string { return "MSELoss" }

// L1Loss is the absolute error |pred − target|, like PyTorch's nn.L1Loss.
// The target has the prediction's elements (see BCELoss).
type L1Loss struct {
	// Reduction over elements; the mean divides by their number.
	Reduction Reduction
}

// Forward returns the absolute error of pred against target.
func (l L1Loss) Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	checkElements("nn.L1Loss", pred.Shape(), target.Shape())
	return autograd.L1(pred, autograd.Constant(target), l.Reduction)
}

// Name returns "L1Loss".
func (L1Loss) Name() string { return "L1Loss" }

// HuberLoss is the Huber loss of e = pred − target, like PyTorch's
// nn.HuberLoss: ½e² where |e| ≤ Delta and Delta·(|e| − ½Delta) elsewhere —
// squared error for small errors, absolute error for outliers. The target
// has the prediction's elements (see BCELoss).
type HuberLoss struct {
	// Delta is where the loss turns from quadratic to linear; zero selects
	// PyTorch's default of 1.
	Delta float32
	// Reduction over elements; the mean divides by their number.
	Reduction Reduction
}

// Forward returns the Huber loss of pred against target.
func (l HuberLoss) Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	checkElements("nn.HuberLoss", pred.Shape(), target.Shape())
	delta := l.Delta
	if delta == 0 {
		delta = 1
	}
	return autograd.Huber(pred, autograd.Constant(target), delta, l.Reduction)
}

// Name returns "HuberLoss".
func (HuberLoss) Name() string { return "HuberLoss" }

// SmoothL1Loss is PyTorch's nn.SmoothL1Loss of e = pred − target: ½e²/Beta
// where |e| < Beta and |e| − ½Beta elsewhere, which is HuberLoss divided by
// Beta. The target has the prediction's elements (see BCELoss).
type SmoothL1Loss struct {
	// Beta is where the loss turns from quadratic to linear; zero selects
	// PyTorch's default of 1 (use L1Loss for the limit Beta → 0).
	Beta float32
	// Reduction over elements; the mean divides by their number.
	Reduction Reduction
}

// Forward returns the smooth L1 loss of pred against target.
func (l SmoothL1Loss) Forward(pred *autograd.Var, target *tensor.Tensor) *autograd.Var {
	checkElements("nn.SmoothL1Loss", pred.Shape(), target.Shape())
	beta := l.Beta
	if beta == 0 {
		beta = 1
	}
	return autograd.SmoothL1(pred, autograd.Constant(target), beta, l.Reduction)
}

// Name returns "SmoothL1Loss".
func (SmoothL1Loss) Name() string { return "SmoothL1Loss" }

// isClassVector reports whether shape is [b] or [b, 1].
func isClassVector(shape []int, b int) bool {
	return (len(shape) == 1 && shape[0] == b) || (len(shape) == 2 && shape[0] == b && shape[1] == 1)
}

// classIndices converts a float32 target of class ids into indices,
// checking that each is a whole number in [0, classes); the slice comes
// from pred's arena when it has one.
func classIndices(op string, target *tensor.Tensor, classes int, pred *autograd.Var) []int {
	td := target.Data()
	idx := autograd.ScratchInts(pred, len(td)) // from pred's arena, if any
	for i, v := range td {
		if !(v >= 0 && v < float32(classes)) || v != float32(int(v)) {
			panic(fmt.Sprintf("%s: target %v of sample %d is not a class index in [0, %d)", op, v, i, classes))
		}
		idx[i] = int(v)
	}
	return idx
}

// checkElements panics unless the shapes hold the same elements laid out
// alike: equal, or equal once axes of size one are dropped.
func checkElements(op string, pred, target []int) {
	if !tensor.EqualShape(squeezeOnes(pred), squeezeOnes(target)) {
		panic(fmt.Sprintf("%s: prediction shape %v and target shape %v differ", op, pred, target))
	}
}

// squeezeOnes returns shape without its axes of size one, reusing shape
// when it has none.
func squeezeOnes(shape []int) []int {
	for i, d := range shape {
		if d == 1 {
			out := append([]int(nil), shape[:i]...)
			for _, d := range shape[i+1:] {
				if d != 1 {
					out = append(out, d)
				}
			}
			return out
		}
	}
	return shape
}
