package train

import (
	"fmt"
	"reflect"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// sharder runs the forward and backward passes of a batch as shares of
// its rows side by side (Config.Shards): each share on one worker, under
// its own arena with separate parameter gradients, the kernels inside it
// serial; the gradients are then merged in share order. The result does
// not depend on the number of workers.
type sharder struct {
	model  nn.Module
	loss   nn.Loss
	mean   bool // the loss averages over the batch: weight each share by its rows
	shares []share
	used   int // shares of the current batch
	rows   int // rows of the current batch
	run    func(lo, hi int)
	params []*nn.Param
	had    []bool // whether each parameter held a gradient before the shares ran
}

// share is one share of a batch and what its passes left.
type share struct {
	arena  *autograd.Arena
	index  int            // the share's position, from 0
	x, y   *tensor.Tensor // views of the batch's rows [lo, hi)
	lo, hi int
	seed   *tensor.Tensor // the loss gradient: the share's weight
	out    *tensor.Tensor
	loss   float64 // the share's own loss
	weight float64 // its weight in the batch's loss
	stage  string  // where it stopped: "" when done
	panic  any
	labels []int
}

// newSharder prepares shares for model and loss; it fails when the loss's
// way of combining a batch is unknown (see lossAverages) or the model
// cannot train concurrently (nn.CheckConcurrentTraining).
func newSharder(n int, model nn.Module, loss nn.Loss) (*sharder, error) {
	mean, err := lossAverages(loss)
	if err != nil {
		return nil, err
	}
	if err := nn.CheckConcurrentTraining(model); err != nil {
		return nil, fmt.Errorf("train: Shards is %d: %w", n, err)
	}
	s := &sharder{model: model, loss: loss, mean: mean, shares: make([]share, n), params: model.Params()}
	s.had = make([]bool, len(s.params))
	for i := range s.shares {
		s.shares[i].index = i
		s.shares[i].arena = autograd.NewArena()
		s.shares[i].arena.SeparateGrads(true)
	}
	s.run = s.runShares
	return s, nil
}

// lossAverages reports whether loss averages over the examples of a batch
// (a share's loss then counts by its share of the rows) or sums them (each
// counts whole), from its Reduction field, which every loss of package nn
// has; a loss without one is an error, as is a loss that does not reduce
// to a scalar.
func lossAverages(loss nn.Loss) (bool, error) {
	v := reflect.ValueOf(loss)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		if f := v.FieldByName("Reduction"); f.IsValid() && f.Type() == reflect.TypeFor[nn.Reduction]() {
			switch nn.Reduction(f.Int()) {
			case nn.ReduceMean:
				return true, nil
			case nn.ReduceSum:
				return false, nil
			}
			return false, fmt.Errorf("train: Shards needs a loss that reduces to a scalar; %s has Reduction %v", loss.Name(), f.Interface())
		}
	}
	return false, fmt.Errorf("train: Shards needs to know how the loss combines a batch: %s (%T) has no Reduction field of type nn.Reduction, as the losses of package nn have", loss.Name(), loss)
}

// step runs the forward and backward passes of b's shares and merges their
// parameter gradients into the parameters' Grad (after which the caller
// clips and steps). It returns the batch's loss (the shares' weighted
// sum); a share that panicked or whose loss is not finite is reported
// with its stage and the first such share's loss, and nothing is merged.
// A parameter that received a gradient from a share's backward directly,
// rather than through the share's arena (an op of the model that keeps
// a parameter out of the arena's sight), is an error: the shares wrote it
// at once.
func (s *sharder) step(b *data.Batch) (loss float64, failed *share, err error) {
	rows := b.X.Dim(0)
	s.rows, s.used = rows, min(len(s.shares), rows)
	for i := range s.used {
		sh := &s.shares[i]
		sh.lo, sh.hi = i*rows/s.used, (i+1)*rows/s.used
		sh.x = rowView(sh.x, b.X, sh.lo, sh.hi)
		sh.y = rowView(sh.y, b.Y, sh.lo, sh.hi)
		sh.weight = 1
		if s.mean {
			sh.weight = float64(sh.hi-sh.lo) / float64(rows)
		}
	}
	for i, p := range s.params {
		s.had[i] = p.HasGrad()
	}
	parallel.For(s.used, 1, s.run)
	for i := range s.used {
		sh := &s.shares[i]
		if sh.stage != "" {
			return sh.loss, sh, nil
		}
		loss += sh.weight * sh.loss
	}
	for i, p := range s.params {
		if !s.had[i] && p.HasGrad() {
			return loss, nil, fmt.Errorf("parameter %q received its gradient outside its share's arena: an op of the model does not take the arena's stand-in for it (see autograd.Arena.SeparateGrads), so Shards cannot train this model", p.Name)
		}
	}
	for i := range s.used {
		s.shares[i].arena.MergeGrads()
	}
	return loss, nil, nil
}

// runShares runs shares [lo, hi): forward, loss, backward seeded with the
// share's weight.
func (s *sharder) runShares(lo, hi int) {
	for i := lo; i < hi; i++ {
		s.shares[i].pass(s.model, s.loss)
	}
}

// pass runs one share, recording a panic and the stage it happened in
// rather than letting it cross goroutines.
func (sh *share) pass(model nn.Module, lossFn nn.Loss) {
	sh.stage, sh.panic, sh.out, sh.loss = "model", nil, nil, 0
	defer func() {
		if p := recover(); p != nil {
			sh.panic = p
		}
	}()
	sh.arena.Reset()
	out := model.Forward(sh.arena.Constant(sh.x))
	sh.out = out.Value()
	sh.stage = "loss"
	l := lossFn.Forward(out, sh.y)
	sh.loss = float64(l.Value().Item())
	if !finite(sh.loss) {
		return
	}
	sh.stage = "backward pass"
	if sh.seed == nil || !tensor.EqualShape(sh.seed.Shape(), l.Value().Shape()) {
		sh.seed = tensor.Zeros(l.Value().Shape()...)
	}
	sh.seed.Data()[0] = float32(sh.weight)
	l.BackwardWith(sh.seed)
	sh.stage = ""
}

// rowView returns rows [lo, hi) of t (split on its first axis) as a view,
// reusing v when it already shows them.
func rowView(v, t *tensor.Tensor, lo, hi int) *tensor.Tensor {
	if t == nil {
		return nil
	}
	shape := t.Shape()
	stride := 1
	for _, d := range shape[1:] {
		stride *= d
	}
	d := t.Data()[lo*stride : hi*stride]
	if v != nil && len(v.Data()) == len(d) && (len(d) == 0 || &v.Data()[0] == &d[0]) && v.Dim(0) == hi-lo && tensor.EqualShape(v.Shape()[1:], shape[1:]) {
		return v
	}
	vs := append([]int{hi - lo}, shape[1:]...)
	return tensor.New(d, vs...)
}

// updateMetrics adds each share's output to the metrics, in share order,
// and returns the number of targets scored.
func (s *sharder) updateMetrics(ms metricSet, b *data.Batch) (int, error) {
	n := 0
	for i := range s.used {
		sh := &s.shares[i]
		sub := data.Batch{X: sh.x, Y: sh.y}
		if len(b.Labels) == s.rows {
			sub.Labels = b.Labels[sh.lo:sh.hi]
		}
		labels := labelsFor(&sh.labels, &sub, sh.out)
		n += len(labels)
		if err := ms.update(labels, sh.out); err != nil {
			return n, err
		}
	}
	return n, nil
}
