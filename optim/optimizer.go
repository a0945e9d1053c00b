package optim

import (
	"fmt"
	"io"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
)

// Zero requests an explicit zero for a configuration field whose zero value
// selects a non-zero default: Adam's Beta1, AdamW's WeightDecay, a Group's
// WeightDecay or LR, ReduceLROnPlateau's Patience, and so on. It is an
// untyped constant, so it fits both float32 and int fields:
//
//	optim.AdamConfig{Beta1: optim.Zero, Beta2: 0.9}
//	optim.Group{Params: biases, WeightDecay: optim.Zero}
//
// No hyperparameter here is meaningful below zero, so any other negative
// value makes the constructor panic.
const Zero = -1

// Optimizer updates parameters from their gradients.
//
// Step applies one update to every parameter that has a gradient
// (Grad() != nil); parameters without one are skipped and their state is
// left alone. Per-parameter state (moments, step counts) is created lazily
// on a parameter's first update. ZeroGrad sets every parameter's gradient
// to zero; the gradient stays present, so a parameter whose loss term
// vanished is still stepped (with a zero gradient, which moves it under
// momentum or weight decay), as in PyTorch with set_to_none=False. LR and SetLR read and change the learning rate; parameter
// groups keep their ratio to it (see Group). StateDict, LoadStateDict,
// SaveState and LoadState capture and restore everything needed to resume
// training exactly. An Optimizer is not safe for concurrent use.
type Optimizer interface {
	Step()
	ZeroGrad()
	LR() float32
	SetLR(lr float32)
	StateDict() (*State, error)
	LoadStateDict(s *State) error
	SaveState(w io.Writer) error
	LoadState(r io.Reader) error
}

// LRSetter is what a learning-rate schedule drives: every Optimizer is one.
type LRSetter interface {
	LR() float32
	SetLR(lr float32)
}

// InitialLRHolder is an LRSetter that also keeps the initial learning rate
// of the schedules driving it, like the initial_lr PyTorch keeps in each
// parameter group. Every Optimizer of this package is one, and carries
// the initial learning rate in its State, so that a schedule built after
// loading a state starts from the run's initial rate rather than from the
// decayed rate the state was saved at.
//
// A schedule built over an InitialLRHolder takes InitialLR as its base
// when one is recorded, and otherwise records the current learning rate
// with SetInitialLR and takes that (PyTorch's
// group.setdefault("initial_lr", group["lr"])).
type InitialLRHolder interface {
	LRSetter
	// InitialLR returns the recorded initial learning rate; ok is false
	// when none has been recorded.
	InitialLR() (lr float32, ok bool)
	// SetInitialLR records lr as the initial learning rate.
	SetInitialLR(lr float32)
}

// Group gives a subset of the parameters their own learning rate or weight
// decay, for example no weight decay on biases and normalisation weights.
//
// Params listed in a Group are taken out of the optimizer's default group
// (they may also be absent from the constructor's params). A zero LR or
// WeightDecay inherits the optimizer's value; use Zero for an explicit zero.
//
// A group's learning rate keeps its ratio to the optimizer's: after
// SetLR(x), a group built with LR = 10·cfg.LR runs at 10·x. Schedules that
// multiply the learning rate therefore act on every group as PyTorch's do.
type Group struct {
	Params      []*nn.Param
	LR          float32
	WeightDecay float32
}

// SplitDecay returns two groups over params: the weights of rank 2 and more
// keep the optimizer's weight decay, while biases and normalisation
// parameters (rank 0 or 1) get none. Pass the result as the groups of any
// constructor:
//
//	opt := optim.NewAdamW(nil, optim.AdamWConfig{}, optim.SplitDecay(params)...)
func SplitDecay(params []*nn.Param) []Group {
	var decay, none []*nn.Param
	for _, p := range params {
		if p.Value().Rank() >= 2 {
			decay = append(decay, p)
		} else {
			none = append(none, p)
		}
	}
	return []Group{{Params: decay}, {Params: none, WeightDecay: Zero}}
}

// paramState is the lazily created state of one parameter: the number of
// updates applied so far and one buffer per state slot.
type paramState struct {
	step  int64
	slots [][]float32
}

// group is a parameter group as the driver sees it.
type group struct {
	params []*nn.Param
	state  []*paramState
	baseLR float32 // learning rate at construction
	lr     float32 // current learning rate
	wd     float32
}

// updater is the per-algorithm half of an optimizer: it applies one update
// to the flat slices of a parameter p and its gradient g, given the group's
// learning rate and weight decay. st.step has already been incremented.
type updater interface {
	update(lr, wd float32, st *paramState, p, g []float32)
}

// base is the shared driver: it owns the groups, the learning rate and the
// per-parameter state, and calls the algorithm once per parameter.
type base struct {
	algo     string
	slots    []string  // state slot names, PyTorch's (exp_avg, ...)
	slotInit []float32 // initial value of each slot
	lr       float32
	baseLR   float32
	groups   []group
	alg      updater

	initialLR    float32 // initial learning rate of the schedules, if hasInitial
	hasInitialLR bool
}

// resolve turns a config value into its effective value: 0 selects def,
// Zero selects 0, other negatives (and NaN) panic.
func resolve[T float32 | float64 | int](op, field string, v, def T) T {
	switch {
	case v == 0:
		return def
	case v == Zero:
		return 0
	case v < 0 || v != v:
		panic(fmt.Sprintf("optim.%s: %s must be >= 0 (use optim.Zero for an explicit zero), got %v", op, field, v))
	}
	return v
}

// newBase builds the driver over params and groups. lr and wd are the
// already resolved defaults.
func newBase(op, algo string, params []*nn.Param, groups []Group, lr, wd float32, slots []string, slotInit []float32, alg updater) *base {
	b := &base{algo: algo, slots: slots, slotInit: slotInit, lr: lr, baseLR: lr, alg: alg}
	// Params are identified by their Var: a container reports views of its
	// layers' Params (same Var, prefixed name), so a group built from one
	// layer's Params names the same parameters as the model's Params. The
	// model's Param, with its full name, is the one kept.
	full := make(map[*autograd.Var]*nn.Param, len(params))
	for _, p := range params {
		if p == nil {
			panic(fmt.Sprintf("optim.%s: nil param", op))
		}
		if full[p.Var] == nil {
			full[p.Var] = p
		}
	}
	inGroup := make(map[*autograd.Var]bool)
	groupParams := make([][]*nn.Param, len(groups))
	for gi, g := range groups {
		for _, p := range g.Params {
			if p == nil {
				panic(fmt.Sprintf("optim.%s: group %d holds a nil param", op, gi))
			}
			if inGroup[p.Var] {
				panic(fmt.Sprintf("optim.%s: param %q appears in more than one group", op, p.Name))
			}
			inGroup[p.Var] = true
			if q := full[p.Var]; q != nil {
				p = q
			}
			groupParams[gi] = append(groupParams[gi], p)
		}
	}
	seen := make(map[*autograd.Var]bool)
	var def []*nn.Param
	for _, p := range params {
		if inGroup[p.Var] || seen[p.Var] {
			continue
		}
		seen[p.Var] = true
		def = append(def, p)
	}
	if len(def) > 0 {
		b.addGroup(def, lr, wd)
	}
	for gi, g := range groups {
		if len(groupParams[gi]) == 0 {
			continue
		}
		b.addGroup(groupParams[gi], resolve(op, "Group.LR", g.LR, lr), resolve(op, "Group.WeightDecay", g.WeightDecay, wd))
	}
	return b
}

func (b *base) addGroup(params []*nn.Param, lr, wd float32) {
	b.groups = append(b.groups, group{
		params: append([]*nn.Param(nil), params...),
		state:  make([]*paramState, len(params)),
		baseLR: lr,
		lr:     lr,
		wd:     wd,
	})
}

// Step applies one update to every parameter that has a gradient.
func (b *base) Step() {
	for gi := range b.groups {
		g := &b.groups[gi]
		for i, p := range g.params {
			grad := p.Grad()
			if grad == nil {
				continue
			}
			pv, gv := p.Value().Data(), grad.Data()
			if len(pv) != len(gv) {
				panic(fmt.Sprintf("optim.Step: param %q has shape %v but its gradient has shape %v", p.Name, p.Value().Shape(), grad.Shape()))
			}
			st := g.state[i]
			if st == nil {
				st = b.newState(len(pv))
				g.state[i] = st
			}
			st.step++
			b.alg.update(g.lr, g.wd, st, pv, gv)
			p.MarkChanged() // layers re-derive packed forms of p
		}
	}
}

func (b *base) newState(n int) *paramState {
	st := &paramState{slots: make([][]float32, len(b.slots))}
	for i := range st.slots {
		s := make([]float32, n)
		if v := b.slotInit[i]; v != 0 {
			for j := range s {
				s[j] = v
			}
		}
		st.slots[i] = s
	}
	return st
}

// ZeroGrad clears the gradient of every parameter.
func (b *base) ZeroGrad() {
	for gi := range b.groups {
		for _, p := range b.groups[gi].params {
			p.ZeroGrad()
		}
	}
}

// LR returns the learning rate of the default group.
func (b *base) LR() float32 { return b.lr }

// SetLR sets the learning rate. Every group keeps the ratio of its own
// learning rate to the optimizer's that it had at construction.
func (b *base) SetLR(lr float32) {
	b.lr = lr
	for gi := range b.groups {
		g := &b.groups[gi]
		switch {
		case lr == b.baseLR:
			g.lr = g.baseLR
		case b.baseLR == 0:
			g.lr = lr
		default:
			g.lr = float32(float64(g.baseLR) * (float64(lr) / float64(b.baseLR)))
		}
	}
}

// InitialLR returns the initial learning rate recorded by the first
// schedule built over the optimizer or loaded with its state; ok is false
// when there is none. See InitialLRHolder.
func (b *base) InitialLR() (lr float32, ok bool) { return b.initialLR, b.hasInitialLR }

// SetInitialLR records the initial learning rate; see InitialLRHolder.
// It does not change the learning rate in force.
func (b *base) SetInitialLR(lr float32) { b.initialLR, b.hasInitialLR = lr, true }

var (
	_ InitialLRHolder = (*SGD)(nil)
	_ InitialLRHolder = (*Adam)(nil)
	_ InitialLRHolder = (*RMSprop)(nil)
	_ InitialLRHolder = (*Adagrad)(nil)

	_ Optimizer = (*SGD)(nil)
	_ Optimizer = (*Adam)(nil)
	_ Optimizer = (*RMSprop)(nil)
	_ Optimizer = (*Adagrad)(nil)
)
