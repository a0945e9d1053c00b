package optim

import (
	"fmt"
	"math"
	"sort"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// State is a snapshot of an optimizer's resumable state: the algorithm, the
// learning rate in force, the initial learning rate of its schedules and,
// for every parameter updated at least once, its step count and state
// tensors. Parameters are keyed by their names, so a State taken from one
// optimizer loads into a fresh one built over a model with the same
// parameter names and shapes.
type State struct {
	Algorithm string // "sgd", "adam", "adamw", "rmsprop" or "adagrad"
	LR        float32
	// InitialLR is the initial learning rate recorded by the schedule
	// driving the optimizer (see InitialLRHolder), valid when HasInitialLR.
	// Each group's initial rate keeps the group's ratio to it (see Group).
	InitialLR    float32
	HasInitialLR bool
	Params       []ParamState // sorted by Name
}

// MaxStep is the largest per-parameter step count a State may hold: 2⁵³,
// beyond which float64 no longer counts every integer and the bias
// corrections of Adam and the decay of Adagrad stop being exact.
const MaxStep = 1 << 53

// nonNegativeSlots are the slots that hold sums or averages of squares
// and so are never negative; a negative or NaN value there makes the next
// step divide by the square root of a negative number.
var nonNegativeSlots = map[string]bool{
	"exp_avg_sq":     true,
	"max_exp_avg_sq": true,
	"square_avg":     true,
	"sum":            true,
}

// ParamState is the state of one parameter.
type ParamState struct {
	Name string
	Step int64
	// Slots maps a state slot (PyTorch's name: "exp_avg", "exp_avg_sq",
	// "momentum_buffer", ...) to a tensor shaped like the parameter.
	Slots map[string]*tensor.Tensor
}

// Algorithm returns the optimizer's algorithm name as stored in its State.
func (b *base) Algorithm() string { return b.algo }

// Params returns every parameter the optimizer updates, group by group.
func (b *base) Params() []*nn.Param {
	var ps []*nn.Param
	for _, g := range b.groups {
		ps = append(ps, g.params...)
	}
	return ps
}

// byName maps parameter names to their group and index, failing on empty
// or duplicate names, which a State cannot represent.
func (b *base) byName() (map[string][2]int, error) {
	m := make(map[string][2]int)
	for gi, g := range b.groups {
		for i, p := range g.params {
			if p.Name == "" {
				return nil, fmt.Errorf("optim: parameter %d of group %d has no name; state is keyed by parameter name", i, gi)
			}
			if _, dup := m[p.Name]; dup {
				return nil, fmt.Errorf("optim: two parameters are named %q; state is keyed by parameter name", p.Name)
			}
			m[p.Name] = [2]int{gi, i}
		}
	}
	return m, nil
}

// StateDict returns a deep copy of the optimizer's state. It fails when
// parameter names are empty or repeated.
func (b *base) StateDict() (*State, error) {
	if _, err := b.byName(); err != nil {
		return nil, err
	}
	s := &State{Algorithm: b.algo, LR: b.lr, InitialLR: b.initialLR, HasInitialLR: b.hasInitialLR}
	for _, g := range b.groups {
		for i, p := range g.params {
			st := g.state[i]
			if st == nil {
				continue
			}
			ps := ParamState{Name: p.Name, Step: st.step, Slots: make(map[string]*tensor.Tensor, len(b.slots))}
			shape := p.Value().Shape()
			for k, name := range b.slots {
				ps.Slots[name] = tensor.New(append([]float32(nil), st.slots[k]...), shape...)
			}
			s.Params = append(s.Params, ps)
		}
	}
	sort.Slice(s.Params, func(i, j int) bool { return s.Params[i].Name < s.Params[j].Name })
	return s, nil
}

// LoadStateDict replaces the optimizer's state with a copy of s, sets its
// learning rate to s.LR and its initial learning rate to s.InitialLR (or
// forgets it, when s has none). Parameters absent from s start afresh. It
// checks everything before changing anything and fails, naming the
// parameter, slot, index and value, on a different algorithm, a learning
// rate that is negative, NaN or infinite, an unknown parameter, a missing
// or unexpected slot, a shape mismatch, a step count outside [1, MaxStep],
// a NaN or infinite state value, a negative second moment (exp_avg_sq,
// max_exp_avg_sq, square_avg, sum) or an AMSGrad max_exp_avg_sq below its
// exp_avg_sq.
func (b *base) LoadStateDict(s *State) error {
	if s == nil {
		return fmt.Errorf("optim: load state: nil State")
	}
	if s.Algorithm != b.algo {
		return fmt.Errorf("optim: load state: state is for %q, optimizer is %q", s.Algorithm, b.algo)
	}
	if err := checkLR("learning rate", s.LR); err != nil {
		return err
	}
	if s.HasInitialLR {
		if err := checkLR("initial learning rate", s.InitialLR); err != nil {
			return err
		}
	}
	idx, err := b.byName()
	if err != nil {
		return err
	}
	fresh := make(map[[2]int]*paramState, len(s.Params))
	for _, ps := range s.Params {
		at, ok := idx[ps.Name]
		if !ok {
			return fmt.Errorf("optim: load state: no parameter named %q in this optimizer", ps.Name)
		}
		if _, dup := fresh[at]; dup {
			return fmt.Errorf("optim: load state: parameter %q appears twice", ps.Name)
		}
		if ps.Step < 1 || ps.Step > MaxStep {
			return fmt.Errorf("optim: load state: parameter %q: step count %d, want 1..%d", ps.Name, ps.Step, int64(MaxStep))
		}
		if len(ps.Slots) != len(b.slots) {
			return fmt.Errorf("optim: load state: parameter %q has slots %v, %s wants %v", ps.Name, slotNames(ps.Slots), b.algo, b.slots)
		}
		shape := b.groups[at[0]].params[at[1]].Value().Shape()
		st := &paramState{step: ps.Step, slots: make([][]float32, len(b.slots))}
		for k, name := range b.slots {
			t, ok := ps.Slots[name]
			if !ok || t == nil {
				return fmt.Errorf("optim: load state: parameter %q has no %q (has %v)", ps.Name, name, slotNames(ps.Slots))
			}
			if !tensor.EqualShape(t.Shape(), shape) {
				return fmt.Errorf("optim: load state: %q of parameter %q has shape %v, want %v", name, ps.Name, t.Shape(), shape)
			}
			if err := checkSlot(ps.Name, name, t.Data()); err != nil {
				return err
			}
			st.slots[k] = append([]float32(nil), t.Data()...)
		}
		if err := b.checkAMSGrad(ps.Name, st); err != nil {
			return err
		}
		fresh[at] = st
	}
	for gi := range b.groups {
		g := &b.groups[gi]
		for i := range g.state {
			g.state[i] = fresh[[2]int{gi, i}]
		}
	}
	b.SetLR(s.LR)
	b.initialLR, b.hasInitialLR = s.InitialLR, s.HasInitialLR
	if !s.HasInitialLR {
		b.initialLR = 0
	}
	return nil
}

// checkLR validates a learning rate read from a state.
func checkLR(what string, lr float32) error {
	if !(lr >= 0) || math.IsInf(float64(lr), 1) {
		return fmt.Errorf("optim: load state: %s %v, want a finite number >= 0", what, lr)
	}
	return nil
}

// checkSlot validates the values of one state slot.
func checkSlot(param, slot string, v []float32) error {
	nonNeg := nonNegativeSlots[slot]
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("optim: load state: parameter %q: %q[%d] is %v, want a finite number", param, slot, i, x)
		}
		if nonNeg && x < 0 {
			return fmt.Errorf("optim: load state: parameter %q: %q[%d] is %v, want >= 0 (a mean of squares)", param, slot, i, x)
		}
	}
	return nil
}

// checkAMSGrad validates that max_exp_avg_sq, the running maximum of
// exp_avg_sq, is at least exp_avg_sq everywhere, as every step leaves it.
func (b *base) checkAMSGrad(param string, st *paramState) error {
	iv, imax := -1, -1
	for k, name := range b.slots {
		switch name {
		case "exp_avg_sq":
			iv = k
		case "max_exp_avg_sq":
			imax = k
		}
	}
	if iv < 0 || imax < 0 {
		return nil
	}
	v, vmax := st.slots[iv], st.slots[imax]
	for i := range v {
		if vmax[i] < v[i] {
			return fmt.Errorf("optim: load state: parameter %q: \"max_exp_avg_sq\"[%d] is %v, below \"exp_avg_sq\"[%d] = %v; it is their running maximum",
				param, i, vmax[i], i, v[i])
		}
	}
	return nil
}

func slotNames(m map[string]*tensor.Tensor) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
