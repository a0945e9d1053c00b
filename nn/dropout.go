package nn

import (
	"encoding"
	"errors"
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
// Its masks come from its own generator (WithSeed, WithSource or WithRand;
// by default one seeded from the package's default source), so training
// runs are reproducible, and its position can be saved and restored with
// RNGState and SetRNGState so that a resumed run draws the same masks.
// Training mode is for one goroutine at a time; evaluation mode touches no
// state.
//
// The zero value drops nothing (P = 0); a Dropout with P > 0 must be built
// with NewDropout, which gives it its generator.
type Dropout struct {
	trainFlag
	P   float32
	rng *rand.Rand
	src rand.Source // rng's source when known, for RNGState
}

// NewDropout returns a Dropout layer with drop probability p in [0, 1).
// Options: WithSeed, WithSource, WithRand.
func NewDropout(p float32, opts ...Option) *Dropout {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("nn.NewDropout: probability %v outside [0, 1)", p))
	}
	c := newConfig(opts)
	return &Dropout{P: p, rng: c.rng, src: c.src}
}

// Forward applies dropout in training mode and is the identity in
// evaluation mode or when x is in inference mode.
func (d *Dropout) Forward(x *autograd.Var) *autograd.Var {
	if d.eval || d.P == 0 || x.Inference() {
		return x
	}
	if d.rng == nil {
		panic(fmt.Sprintf("nn.Dropout.Forward: Dropout{P: %g} has no random generator; build it with nn.NewDropout", d.P))
	}
	return autograd.Dropout(x, d.P, d.rng)
}

// Params returns nil: Dropout has no parameters.
func (d *Dropout) Params() []*Param { return nil }

// String describes the layer, like "Dropout(p=0.5)".
func (d *Dropout) String() string { return fmt.Sprintf("Dropout(p=%g)", d.P) }

// RNGState returns the state of the layer's mask generator (see the
// package's RNGState). It fails when the generator was given with
// WithRand, or by a source that cannot marshal its state.
func (d *Dropout) RNGState() ([]byte, error) {
	m, ok := d.src.(encoding.BinaryMarshaler)
	if !ok || d.src == nil {
		return nil, d.noState()
	}
	return m.MarshalBinary()
}

// SetRNGState restores a state returned by RNGState into the layer's
// generator. The generator must be of the same kind (the default, WithSeed
// and WithSource(rand.NewPCG(...)) are all *rand.PCG).
func (d *Dropout) SetRNGState(state []byte) error {
	u, ok := d.src.(encoding.BinaryUnmarshaler)
	if !ok || d.src == nil {
		return d.noState()
	}
	// Some sources change part of their state before rejecting the rest:
	// keep the current state to put back.
	old, err := d.RNGState()
	if err != nil {
		return err
	}
	if err := u.UnmarshalBinary(state); err != nil {
		_ = u.UnmarshalBinary(old)
		return fmt.Errorf("%T: %w", d.src, err)
	}
	return nil
}

func (d *Dropout) noState() error {
	if d.rng == nil {
		return errors.New("no generator (a zero-value Dropout); build it with nn.NewDropout")
	}
	if d.src == nil {
		return errors.New("generator given with WithRand, whose state cannot be read; build the Dropout WithSeed or WithSource(rand.NewPCG(...))")
	}
	return fmt.Errorf("source %T cannot marshal its state (want encoding.BinaryMarshaler and BinaryUnmarshaler)", d.src)
}
