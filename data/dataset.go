package data

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Dataset is an indexed collection of examples. Each example is a feature
// array of FeatureShape and a target array of TargetShape (an empty target
// shape means a single class id). Example copies example i into the
// caller's buffers, so reading a dataset allocates nothing per example.
//
// Implementations must be safe for concurrent calls to Example (a Loader
// with prefetch calls it from a background goroutine) and must not change
// while a Loader iterates over them.
type Dataset interface {
	// Len returns the number of examples.
	Len() int
	// FeatureShape returns the shape of one example's features, e.g.
	// [1, 28, 28] for an MNIST image. The caller must not modify it.
	FeatureShape() []int
	// TargetShape returns the shape of one example's targets: [] for a
	// class id, [k] for k targets per example (one-hot rows, regression
	// outputs). The caller must not modify it.
	TargetShape() []int
	// Example copies the features of example i into x (length: product of
	// FeatureShape) and its targets into y (length: product of
	// TargetShape, 1 for a class id), and returns its class label (see
	// LabelOf). It panics if i is out of range or a buffer has the wrong
	// length.
	Example(i int, x, y []float32) (label int)
}

// LabelOf returns the class label that a target row stands for: the value
// itself (truncated to an int) for a single target, and the index of the
// largest entry for a longer row, so a one-hot row gives its class. A
// single target in [0, 1] is thus read as class 0 or 1 only when it holds
// exactly 0 or 1; use class-id targets for binary labels.
func LabelOf(y []float32) int {
	switch len(y) {
	case 0:
		return -1
	case 1:
		return int(y[0])
	}
	best := 0
	for i, v := range y {
		if v > y[best] {
			best = i
		}
	}
	return best
}

// size returns the product of shape (1 for an empty shape).
func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// TensorDataset is an in-memory Dataset backed by a features tensor of
// shape [N, ...] and a targets tensor of shape [N] (class ids) or [N, k].
// Its rows are contiguous, so a Loader copies them directly.
type TensorDataset struct {
	x, y   *tensor.Tensor
	fshape []int
	tshape []int
	fsize  int
	tsize  int
	labels []int
	n      int
}

// NewTensorDataset returns a dataset over x ([N, ...]) and y ([N] or
// [N, k]). The tensors are shared, not copied; do not modify them while a
// Loader iterates. It returns an error when the shapes do not fit.
func NewTensorDataset(x, y *tensor.Tensor) (*TensorDataset, error) {
	if x == nil || y == nil {
		return nil, fmt.Errorf("data.NewTensorDataset: nil tensor")
	}
	if x.Rank() < 1 {
		return nil, fmt.Errorf("data.NewTensorDataset: features need shape [N, ...], got %v", x.Shape())
	}
	if y.Rank() != 1 && y.Rank() != 2 {
		return nil, fmt.Errorf("data.NewTensorDataset: targets need shape [N] or [N, k], got %v", y.Shape())
	}
	n := x.Shape()[0]
	if y.Shape()[0] != n {
		return nil, fmt.Errorf("data.NewTensorDataset: %d feature rows (shape %v) but %d target rows (shape %v)", n, x.Shape(), y.Shape()[0], y.Shape())
	}
	d := &TensorDataset{
		x:      x,
		y:      y,
		fshape: append([]int(nil), x.Shape()[1:]...),
		tshape: append([]int(nil), y.Shape()[1:]...),
		n:      n,
	}
	d.fsize = size(d.fshape)
	d.tsize = size(d.tshape)
	d.labels = make([]int, n)
	yd := y.Data()
	for i := range d.labels {
		d.labels[i] = LabelOf(yd[i*d.tsize : (i+1)*d.tsize])
	}
	return d, nil
}

// Len returns the number of examples.
func (d *TensorDataset) Len() int { return d.n }

// FeatureShape returns the shape of one example's features.
func (d *TensorDataset) FeatureShape() []int { return d.fshape }

// TargetShape returns the shape of one example's targets ([] for class ids).
func (d *TensorDataset) TargetShape() []int { return d.tshape }

// X returns the features tensor [N, ...].
func (d *TensorDataset) X() *tensor.Tensor { return d.x }

// Y returns the targets tensor [N] or [N, k].
func (d *TensorDataset) Y() *tensor.Tensor { return d.y }

// Labels returns the class label of every example (see LabelOf). The
// caller must not modify it.
func (d *TensorDataset) Labels() []int { return d.labels }

// Example copies example i into x and y and returns its label.
func (d *TensorDataset) Example(i int, x, y []float32) int {
	if i < 0 || i >= d.n {
		panic(fmt.Sprintf("data.TensorDataset.Example: index %d out of range [0, %d)", i, d.n))
	}
	if len(x) != d.fsize || len(y) != d.tsize {
		panic(fmt.Sprintf("data.TensorDataset.Example: buffers of %d and %d values, want %d and %d", len(x), len(y), d.fsize, d.tsize))
	}
	copy(x, d.x.Data()[i*d.fsize:(i+1)*d.fsize])
	copy(y, d.y.Data()[i*d.tsize:(i+1)*d.tsize])
	return d.labels[i]
}

// Subset is a view of some examples of another dataset, in the order of
// Indices. It is what Split and KFold return.
type Subset struct {
	// Dataset is the underlying dataset.
	Dataset Dataset
	// Indices lists the underlying examples that make up the subset.
	Indices []int
}

// NewSubset returns the subset of ds made of the given indices (not
// copied). It returns an error if an index is out of range.
func NewSubset(ds Dataset, indices []int) (*Subset, error) {
	n := ds.Len()
	for k, i := range indices {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("data.NewSubset: index %d (position %d) out of range [0, %d)", i, k, n)
		}
	}
	return &Subset{Dataset: ds, Indices: indices}, nil
}

// Len returns the number of examples in the subset.
func (s *Subset) Len() int { return len(s.Indices) }

// FeatureShape returns the underlying dataset's feature shape.
func (s *Subset) FeatureShape() []int { return s.Dataset.FeatureShape() }

// TargetShape returns the underlying dataset's target shape.
func (s *Subset) TargetShape() []int { return s.Dataset.TargetShape() }

// Example copies example i of the subset (example Indices[i] of the
// underlying dataset).
func (s *Subset) Example(i int, x, y []float32) int {
	return s.Dataset.Example(s.Indices[i], x, y)
}

// Get returns example i of ds as freshly allocated tensors of its feature
// and target shapes, with its label. It is convenient for inspection; use
// a Loader for training.
func Get(ds Dataset, i int) (x, y *tensor.Tensor, label int) {
	x = tensor.Zeros(ds.FeatureShape()...)
	y = tensor.Zeros(ds.TargetShape()...)
	label = ds.Example(i, x.Data(), y.Data())
	return x, y, label
}

// Labels returns the class label of every example of ds (see LabelOf).
func Labels(ds Dataset) []int {
	switch d := ds.(type) {
	case *TensorDataset:
		return append([]int(nil), d.labels...)
	case *Subset:
		if td, ok := d.Dataset.(*TensorDataset); ok {
			out := make([]int, len(d.Indices))
			for k, i := range d.Indices {
				out[k] = td.labels[i]
			}
			return out
		}
	}
	x := make([]float32, size(ds.FeatureShape()))
	y := make([]float32, size(ds.TargetShape()))
	out := make([]int, ds.Len())
	for i := range out {
		out[i] = ds.Example(i, x, y)
	}
	return out
}

// flatten resolves ds to a TensorDataset and the list of its rows that ds
// consists of (nil meaning all rows in order), following nested subsets.
// It reports false when ds is not backed by a TensorDataset.
func flatten(ds Dataset) (*TensorDataset, []int, bool) {
	switch d := ds.(type) {
	case *TensorDataset:
		return d, nil, true
	case *Subset:
		td, inner, ok := flatten(d.Dataset)
		if !ok {
			return nil, nil, false
		}
		if inner == nil {
			return td, d.Indices, true
		}
		idx := make([]int, len(d.Indices))
		for k, i := range d.Indices {
			idx[k] = inner[i]
		}
		return td, idx, true
	}
	return nil, nil, false
}
