package autograd

import "github.com/shoshin-ml/shoshin/tensor"

// NoGrad returns t as an inference-mode constant. Every op that takes an
// inference-mode Var records nothing, even when its other inputs (a model's
// parameters) require gradients, and its output is in inference mode too.
// This is how a model runs for prediction: the mode travels with the data,
// so many goroutines may run inference on one model at once while another
// trains a different one.
func NoGrad(t *tensor.Tensor) *Var { return &Var{value: t, inference: true} }

// Arena supplies the output buffers of inference-mode ops so that a forward
// pass repeated with the same shapes allocates nothing once warm. Ops take
// buffers in call order; Reset makes them available again, which
// invalidates every Var and tensor the arena handed out. An Arena must not
// be used by two goroutines at once; pool them (sync.Pool) for concurrent
// inference.
type Arena struct {
	bufs []*tensor.Tensor
	vars []*Var
	nb   int
	nv   int
}

// NewArena returns an empty arena.
func NewArena() *Arena { return &Arena{} }

// Input returns t as an inference-mode constant whose downstream ops draw
// their outputs from a.
func (a *Arena) Input(t *tensor.Tensor) *Var {
	v := a.variable()
	v.value = t
	v.inference = true
	v.arena = a
	return v
}

// Reset returns every buffer to the arena. Values obtained since the last
// Reset must not be used afterwards.
func (a *Arena) Reset() {
	a.nb, a.nv = 0, 0
}

// tensor returns the next buffer, reusing the one in the same slot when its
// shape matches.
func (a *Arena) tensor(shape []int) *tensor.Tensor {
	if a.nb < len(a.bufs) {
		t := a.bufs[a.nb]
		if !tensor.EqualShape(t.Shape(), shape) {
			t = tensor.Zeros(shape...)
			a.bufs[a.nb] = t
		}
		a.nb++
		return t
	}
	t := tensor.Zeros(shape...)
	a.bufs = append(a.bufs, t)
	a.nb++
	return t
}

// variable returns the next Var slot, cleared.
func (a *Arena) variable() *Var {
	if a.nv < len(a.vars) {
		v := a.vars[a.nv]
		*v = Var{}
		a.nv++
		return v
	}
	v := &Var{}
	a.vars = append(a.vars, v)
	a.nv++
	return v
}
