package nn

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Embedding maps integer ids to learned vectors (PyTorch's nn.Embedding):
// a table Weight [num, dim] whose row i is the vector of id i, drawn from
// N(0, 1) as in PyTorch. With a padding id (NewEmbeddingPadded) that row
// starts at zero and never receives a gradient, so it stays as it is.
//
// Module.Forward takes the ids as the values of a Var (any shape, each an
// exact integer) and returns [shape..., dim]; Lookup takes them as []int
// and reports bad ids as an error instead of panicking.
type Embedding struct {
	Weight     *Param // [num, dim]
	PaddingIdx int    // −1 when there is none
}

// NewEmbedding returns an embedding table of num ids and dim features.
// Options: WithWeightInit, WithSeed, WithRand.
func NewEmbedding(num, dim int, opts ...Option) *Embedding {
	return newEmbedding("NewEmbedding", num, dim, -1, opts)
}

// NewEmbeddingPadded returns an embedding table whose row paddingIdx is
// zero and receives no gradient (PyTorch's padding_idx; negative values
// count from the end as in PyTorch).
func NewEmbeddingPadded(num, dim, paddingIdx int, opts ...Option) *Embedding {
	if paddingIdx < 0 {
		paddingIdx += num
	}
	if paddingIdx < 0 || paddingIdx >= num {
		panic(fmt.Sprintf("nn.NewEmbeddingPadded: padding id %d outside [0, %d)", paddingIdx, num))
	}
	return newEmbedding("NewEmbeddingPadded", num, dim, paddingIdx, opts)
}

func newEmbedding(op string, num, dim, pad int, opts []Option) *Embedding {
	if num < 1 || dim < 1 {
		panic(fmt.Sprintf("nn.%s: sizes must be positive, got num=%d dim=%d", op, num, dim))
	}
	c := newConfig(opts)
	w := initTensor(c.weightInit, Normal(0, 1), c, num, dim)
	if pad >= 0 {
		clear(w.Data()[pad*dim : (pad+1)*dim])
	}
	return &Embedding{Weight: NewParam("weight", w), PaddingIdx: pad}
}

// Forward looks up the ids held in x (any shape; every value an integer in
// [0, num)) and returns [x.Shape()..., dim]; when x is in inference mode
// (autograd.NoGrad) so is the result, and nothing is recorded. It panics on
// a bad id; use Lookup for ids that come from outside the program.
func (e *Embedding) Forward(x *autograd.Var) *autograd.Var {
	if e.Weight == nil {
		panic(unbuilt("Embedding", "NewEmbedding or nn.NewEmbeddingPadded"))
	}
	xd := x.Value().Data()
	num := e.Weight.Value().Dim(0)
	for i, v := range xd {
		id := int(v)
		if float32(id) != v || id < 0 || id >= num {
			panic(fmt.Sprintf("nn.Embedding.Forward: value %v at position %d is not an id in [0, %d)", v, i, num))
		}
	}
	// The ids' Var carries the arena and the inference mode through.
	return autograd.EmbeddingIDs(e.Weight.Var, x, e.PaddingIdx)
}

// Lookup returns the vectors of ids as a [shape..., dim] Var, where the
// product of shape is len(ids) (no shape means [len(ids), dim]). An id
// outside [0, num) or a shape that does not fit is reported as an error
// naming the position.
func (e *Embedding) Lookup(ids []int, shape ...int) (*autograd.Var, error) {
	if e.Weight == nil {
		panic(unbuilt("Embedding", "NewEmbedding or nn.NewEmbeddingPadded"))
	}
	num := e.Weight.Value().Dim(0)
	for i, id := range ids {
		if id < 0 || id >= num {
			return nil, fmt.Errorf("nn.Embedding.Lookup: id %d at position %d is outside [0, %d)", id, i, num)
		}
	}
	if len(shape) == 0 {
		shape = []int{len(ids)}
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("nn.Embedding.Lookup: negative dimension in shape %v", shape)
		}
		n *= d
	}
	if n != len(ids) {
		return nil, fmt.Errorf("nn.Embedding.Lookup: shape %v holds %d ids, got %d", shape, n, len(ids))
	}
	return e.lookup(ids, shape, false), nil
}

// lookup gathers the rows; inference (the ids came in an inference-mode
// Var) makes the result inference-mode too, recording nothing.
func (e *Embedding) lookup(ids []int, shape []int, inference bool) *autograd.Var {
	w := e.Weight.Var
	if inference {
		w = autograd.NoGrad(w.Value())
	}
	y := autograd.Embedding(w, ids, e.PaddingIdx)
	out := append(append(make([]int, 0, len(shape)+1), shape...), e.Weight.Value().Dim(1))
	return autograd.Reshape(y, out...)
}

// Params returns the table.
func (e *Embedding) Params() []*Param { return params(e.Weight) }

// String describes the layer, like "Embedding(100, 16, padding 0)".
func (e *Embedding) String() string {
	if e.Weight == nil {
		return "Embedding(unbuilt)"
	}
	s := fmt.Sprintf("Embedding(%d, %d", e.Weight.Value().Dim(0), e.Weight.Value().Dim(1))
	if e.PaddingIdx >= 0 {
		s += fmt.Sprintf(", padding %d", e.PaddingIdx)
	}
	return s + ")"
}

// IDs converts integer ids to the float32 tensor that Embedding.Forward
// reads, with the given shape (none means 1-D).
func IDs(ids []int, shape ...int) *tensor.Tensor {
	d := make([]float32, len(ids))
	for i, id := range ids {
		if id < 0 || id > 1<<24 {
			panic(fmt.Sprintf("nn.IDs: id %d at position %d is not exactly representable", id, i))
		}
		d[i] = float32(id)
	}
	if len(shape) == 0 {
		shape = []int{len(ids)}
	}
	return tensor.New(d, shape...)
}
