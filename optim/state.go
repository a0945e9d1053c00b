package optim

import (
	"fmt"
	"sort"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// State is a snapshot of an optimizer's resumable state: the algorithm, the
// learning rate in force and, for every parameter updated at least once,
// its step count and state tensors. Parameters are keyed by their names,
// so a State taken from one optimizer loads into a fresh one built over a
// model with the same parameter names and shapes.
type State struct {
	Algorithm string // "sgd", "adam", "adamw", "rmsprop" or "adagrad"
	LR        float32
	Params    []ParamState // sorted by Name
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
	s := &State{Algorithm: b.algo, LR: b.lr}
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

// LoadStateDict replaces the optimizer's state with a copy of s and sets
// its learning rate to s.LR. Parameters absent from s start afresh. It
// checks everything before changing anything and fails, naming the
// parameter and slot, on a different algorithm, an unknown parameter, a
// missing or unexpected slot, a shape mismatch or a step count below 1.
func (b *base) LoadStateDict(s *State) error {
	if s == nil {
		return fmt.Errorf("optim: load state: nil State")
	}
	if s.Algorithm != b.algo {
		return fmt.Errorf("optim: load state: state is for %q, optimizer is %q", s.Algorithm, b.algo)
	}
	if !(s.LR >= 0) {
		return fmt.Errorf("optim: load state: learning rate %v is not a non-negative number", s.LR)
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
		if ps.Step < 1 {
			return fmt.Errorf("optim: load state: parameter %q: step count %d, want >= 1", ps.Name, ps.Step)
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
			st.slots[k] = append([]float32(nil), t.Data()...)
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
