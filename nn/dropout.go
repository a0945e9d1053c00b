package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/autograd"
)

// Dropout zeroes each input element with probability P while training and
// scales the rest by 1/(1−P) (inverted dropout, as in PyTorch). In
// evaluation mode, and for any input in inference mode (autograd.NoGrad,
// Arena.Input; see autograd.Var.Inference) whatever its mode, it returns
// its input unchanged and draws nothing from its generator.
//
// Its masks come from its own generator (WithSeed or WithRand; by default
// one seeded from the package's default source), so training runs are
// reproducible. Training mode is for one goroutine at a time; evaluation
// mode touches no state.
type Dropout struct {
	trainFlag
	P   float32
	rng *rand.Rand
}

// NewDropout returns a Dropout layer with drop probability p in [0, 1).
// Options: WithSeed, WithRand.
func NewDropout(p float32, opts ...Option) *Dropout {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("nn.NewDropout: probability %v outside [0, 1)", p))
	}
	c := newConfig(opts)
	return &Dropout{P: p, rng: c.rng}
}

// Forward applies dropout in training mode and is the identity in
// evaluation mode or when x is in inference mode.
func (d *Dropout) Forward(x *autograd.Var) *autograd.Var {
	if d.eval || d.P == 0 || x.Inference() {
		return x
	}
	return autograd.Dropout(x, d.P, d.rng)
}

// Params returns nil: Dropout has no parameters.
func (d *Dropout) Params() []*Param { return nil }

// String describes the layer, like "Dropout(p=0.5)".
func (d *Dropout) String() string { return fmt.Sprintf("Dropout(p=%g)", d.P) }
