package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
)

// within puts err, which starts with "train: ", in the context of what:
// "train: what: the rest of err". The result wraps err.
func within(what string, err error) error {
	return fmt.Errorf("train: %s: %w", what, trimmed{err})
}

// trimmed prints an error without its "train: " prefix.
type trimmed struct{ error }

func (t trimmed) Error() string { return strings.TrimPrefix(t.error.Error(), "train: ") }
func (t trimmed) Unwrap() error { return t.error }

// checkDataset returns an error naming what (such as "the training set")
// when ds is nil, a typed nil or empty.
func checkDataset(ds data.Dataset, what string) error {
	if isNil(ds) {
		return fmt.Errorf("train: %s is nil", what)
	}
	if ds.Len() == 0 {
		return fmt.Errorf("train: %s is empty", what)
	}
	return nil
}

// CheckInput checks that ds fits model and loss before any work is done:
// it runs model on the first example of ds, recording nothing and in
// inference mode (so Dropout and BatchNorm behave as in evaluation and no
// running statistic moves, whatever mode the model is in), and the loss on
// its output, turning a shape panic into an error that says what the
// model expected. Then it checks every target of ds: targets must be
// finite and, for a loss over class ids (CrossEntropyLoss with class
// targets, NLLLoss), whole numbers in [0, classes); the error names the
// example and its value. A nil loss skips the loss and target checks.
func CheckInput(model nn.Module, loss nn.Loss, ds data.Dataset) error {
	if err := checkDataset(ds, "the dataset"); err != nil {
		return err
	}
	out, err := probe(model, loss, ds)
	if err != nil {
		return err
	}
	if isNil(loss) {
		return nil
	}
	return checkTargets(loss, ds, out)
}

// probe runs model and loss on example 0 of ds and returns the shape of
// the model's output for that batch of one.
func probe(model nn.Module, loss nn.Loss, ds data.Dataset) (outShape []int, err error) {
	x, y, _ := data.Get(ds, 0)
	xb := x.Reshape(append([]int{1}, x.Shape()...)...)
	yb := y.Reshape(append([]int{1}, y.Shape()...)...)
	stage := "model"
	defer func() {
		if r := recover(); r != nil {
			hint := ""
			if stage == "model" {
				hint = inputHint(model)
			}
			err = fmt.Errorf("train: the %s rejected a batch of input shape %v (target shape %v)%s: %v", stage, xb.Shape(), yb.Shape(), hint, r)
		}
	}()
	out := model.Forward(autograd.NoGrad(xb))
	outShape = append([]int(nil), out.Shape()...)
	if len(outShape) == 0 || outShape[0] != 1 {
		return nil, fmt.Errorf("train: the model turned a batch of one example of shape %v (input %v) into output shape %v; want [1, outputs...]", x.Shape(), xb.Shape(), outShape)
	}
	stage = "loss"
	if !isNil(loss) {
		loss.Forward(out, yb)
	}
	return outShape, nil
}

// classTargets reports whether loss reads the targets of ds as class ids,
// and how many classes an output of outShape has.
func classTargets(loss nn.Loss, ds data.Dataset, outShape []int) (classes int, ok bool) {
	ts := ds.TargetShape()
	if len(outShape) > 2 && sequenceTargets(outShape, ts) {
		switch loss.(type) {
		case nn.CrossEntropyLoss, *nn.CrossEntropyLoss:
			return outShape[len(outShape)-1], true
		}
		return 0, false
	}
	if len(outShape) != 2 {
		return 0, false
	}
	isClassID := len(ts) == 0 || (len(ts) == 1 && ts[0] == 1 && outShape[1] != 1)
	switch loss.(type) {
	case nn.CrossEntropyLoss, *nn.CrossEntropyLoss, nn.NLLLoss, *nn.NLLLoss:
		return outShape[1], isClassID
	}
	return 0, false
}

// checkTargets checks every target of ds: finite, and a class id in
// [0, classes) when the loss reads class ids.
func checkTargets(loss nn.Loss, ds data.Dataset, outShape []int) error {
	classes, ids := classTargets(loss, ds, outShape)
	bad := func(i int, v float32) error {
		if ids {
			return fmt.Errorf("train: example %d has target %v; %s needs a class id, a whole number in [0, %d) for a model with %d outputs",
				i, v, loss.Name(), classes, classes)
		}
		return fmt.Errorf("train: example %d has target %v; %s needs finite targets", i, v, loss.Name())
	}
	ok := func(v float32) bool {
		if ids {
			return v >= 0 && v < float32(classes) && v == float32(math.Trunc(float64(v)))
		}
		return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
	}
	return eachTarget(ds, func(i int, row []float32) error {
		for _, v := range row {
			if !ok(v) {
				return bad(i, v)
			}
		}
		return nil
	})
}

// eachTarget calls fn with the index and target row of every example of
// ds, reading tensor-backed data directly.
func eachTarget(ds data.Dataset, fn func(i int, row []float32) error) error {
	tsize := 1
	for _, d := range ds.TargetShape() {
		tsize *= d
	}
	var rows []int // nil: all rows of td in order
	var td *data.TensorDataset
	switch d := ds.(type) {
	case *data.TensorDataset:
		td = d
	case *data.Subset:
		if t, ok := d.Dataset.(*data.TensorDataset); ok {
			td, rows = t, d.Indices
		}
	}
	if td != nil {
		y := td.Y().Data()
		n := ds.Len()
		for i := range n {
			r := i
			if rows != nil {
				r = rows[i]
			}
			if err := fn(i, y[r*tsize:(r+1)*tsize]); err != nil {
				return err
			}
		}
		return nil
	}
	fsize := 1
	for _, d := range ds.FeatureShape() {
		fsize *= d
	}
	x, y := make([]float32, fsize), make([]float32, tsize)
	for i := range ds.Len() {
		ds.Example(i, x, y)
		if err := fn(i, y); err != nil {
			return err
		}
	}
	return nil
}

// LogitsLoss may be implemented by a custom loss to say whether it scores
// raw logits (true) or probabilities (false). Fit and Evaluate tell the
// metrics, so that a binary metric thresholds a logit at 0 rather than 0.5.
type LogitsLoss interface {
	nn.Loss
	TakesLogits() bool
}

// TakesLogits reports whether loss scores raw logits, and so whether
// metrics must read the model's outputs as logits: true for
// CrossEntropyLoss and BCEWithLogitsLoss, and for NLLLoss, whose
// log-probabilities are logits as far as softmax and arg-max go; false for
// BCELoss (probabilities) and the regression losses. A custom loss answers
// through LogitsLoss, and is false otherwise.
func TakesLogits(loss nn.Loss) bool {
	switch l := loss.(type) {
	case nn.CrossEntropyLoss, *nn.CrossEntropyLoss, nn.BCEWithLogitsLoss, *nn.BCEWithLogitsLoss, nn.NLLLoss, *nn.NLLLoss:
		return true
	case LogitsLoss:
		return l.TakesLogits()
	}
	return false
}

// CheckOutput returns an error when the activation model applies last (see
// nn.OutputActivation) does not suit loss, the mistake Keras warns of with
// from_logits: a softmax or sigmoid feeding CrossEntropyLoss or
// BCEWithLogitsLoss, which apply their own and would squash twice, or a
// softmax feeding NLLLoss, which wants log-probabilities. The message says
// what to change. Fit calls it before training.
func CheckOutput(model nn.Module, loss nn.Loss) error {
	act := nn.OutputActivation(model)
	name := loss.Name()
	switch {
	case act != nn.ActSoftmax && act != nn.ActSigmoid:
		return nil
	case isCrossEntropy(loss):
		return fmt.Errorf("train: the model ends in a %v, but %s takes raw logits and applies its own softmax, so the outputs would be squashed twice and training stalls; remove the final %v (nn.WithActivation(nn.ActNone) on the last layer, or drop the layer), and use train.PredictProba for probabilities", act, name, act)
	case isBCEWithLogits(loss):
		return fmt.Errorf("train: the model ends in a %v, but %s takes raw logits and applies its own sigmoid, so the outputs would be squashed twice; remove the final %v and use train.PredictProba for probabilities, or keep it and use nn.BCELoss", act, name, act)
	case isNLL(loss) && act == nn.ActSoftmax:
		return fmt.Errorf("train: the model ends in a Softmax, but %s takes log-probabilities; end in nn.ActLogSoftmax instead, or remove the softmax and use nn.CrossEntropyLoss", name)
	case !isBuiltin(loss) && TakesLogits(loss):
		return fmt.Errorf("train: the model ends in a %v, but the loss %s says it takes raw logits (TakesLogits); remove the final %v", act, name, act)
	}
	return nil
}

func isCrossEntropy(l nn.Loss) bool {
	switch l.(type) {
	case nn.CrossEntropyLoss, *nn.CrossEntropyLoss:
		return true
	}
	return false
}

func isBCEWithLogits(l nn.Loss) bool {
	switch l.(type) {
	case nn.BCEWithLogitsLoss, *nn.BCEWithLogitsLoss:
		return true
	}
	return false
}

func isNLL(l nn.Loss) bool {
	switch l.(type) {
	case nn.NLLLoss, *nn.NLLLoss:
		return true
	}
	return false
}

// isBuiltin reports whether l is one of package nn's losses.
func isBuiltin(l nn.Loss) bool {
	switch l.(type) {
	case nn.CrossEntropyLoss, *nn.CrossEntropyLoss, nn.NLLLoss, *nn.NLLLoss,
		nn.BCELoss, *nn.BCELoss, nn.BCEWithLogitsLoss, *nn.BCEWithLogitsLoss,
		nn.MSELoss, *nn.MSELoss, nn.L1Loss, *nn.L1Loss,
		nn.HuberLoss, *nn.HuberLoss, nn.SmoothL1Loss, *nn.SmoothL1Loss:
		return true
	}
	return false
}
