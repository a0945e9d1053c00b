package nn

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// BufferOwner is implemented by modules that hold state which is not
// trained but must be saved with the model, such as BatchNorm's
// running_mean, running_var and num_batches_tracked. A buffer is a Param
// whose Var does not require a gradient; optimizers never see it because
// it is not returned by Params.
//
// Names follow the same hierarchical, PyTorch-compatible scheme as
// parameters ("1.running_mean"), and containers prefix their children's
// buffers exactly as they do parameters (see ParamViews). A container
// whose children may own buffers must itself implement BufferOwner and
// return them all.
type BufferOwner interface {
	Buffers() []*Param
}

// NamedTensor is one entry of a model's state: a hierarchical name such as
// "0.weight" and its value.
type NamedTensor struct {
	Name  string
	Value *tensor.Tensor
}

// StateDict returns the model's state, the counterpart of PyTorch's
// state_dict: the trainable parameters reported by m.Params and, when m
// implements BufferOwner, its buffers, all sorted by name.
//
// The values are the model's own tensors, not copies: writing to them
// changes the model, and training changes them. Clone them to take a
// snapshot. A Param reported twice (the same Var under the same name) is
// listed once; two different tensors under one name are both listed, and
// Save and LoadStateDict report them as an error.
func StateDict(m Module) []NamedTensor {
	params := collect(m)
	out := make([]NamedTensor, len(params))
	for i, p := range params {
		out[i] = NamedTensor{Name: p.Name, Value: p.Value()}
	}
	return out
}

// collect gathers m's parameters and buffers, dropping exact repeats, sorted
// by name.
func collect(m Module) []*Param {
	all := m.Params()
	if b, ok := m.(BufferOwner); ok {
		all = append(slices.Clip(all), b.Buffers()...)
	}
	type key struct {
		name string
		v    *autograd.Var
	}
	seen := make(map[key]bool, len(all))
	out := make([]*Param, 0, len(all))
	for _, p := range all {
		if p == nil || p.Var == nil || seen[key{p.Name, p.Var}] {
			continue
		}
		seen[key{p.Name, p.Var}] = true
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b *Param) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// duplicateNames returns an error when two different tensors share a name.
// params must be sorted by name.
func duplicateNames(params []*Param) error {
	var dups []string
	for i := 1; i < len(params); i++ {
		if params[i].Name == params[i-1].Name && (len(dups) == 0 || dups[len(dups)-1] != params[i].Name) {
			dups = append(dups, params[i].Name)
		}
	}
	if len(dups) > 0 {
		return fmt.Errorf("model has several tensors named %v", dups)
	}
	return nil
}

// LoadStateDict copies state into m's parameters and buffers. Every name in
// m must appear in state with the same shape, and state must hold nothing
// else; otherwise LoadStateDict changes nothing and returns an error that
// lists every missing, unexpected and mis-shaped tensor, such as
//
//	nn: load state: missing [2.bias]; unexpected [3.weight]; shape mismatch 0.weight: state [128 784], model [784 128]
//
// Values are copied into the existing tensors, so an optimizer or anything
// else holding the model's Vars or tensors sees the new values.
func LoadStateDict(m Module, state []NamedTensor) error {
	if err := loadState(m, state, "state"); err != nil {
		return fmt.Errorf("nn: load state: %w", err)
	}
	return nil
}

// loadState implements LoadStateDict; source names where state came from
// in shape-mismatch messages ("state", "file").
func loadState(m Module, state []NamedTensor, source string) error {
	params := collect(m)
	if err := duplicateNames(params); err != nil {
		return err
	}
	byName := make(map[string]*Param, len(params))
	for _, p := range params {
		byName[p.Name] = p
	}
	seen := make(map[string]bool, len(state))
	var missing, unexpected, dups, mismatch []string
	for _, t := range state {
		if seen[t.Name] {
			dups = append(dups, t.Name)
			continue
		}
		seen[t.Name] = true
		p, ok := byName[t.Name]
		switch {
		case !ok:
			unexpected = append(unexpected, t.Name)
		case t.Value == nil:
			mismatch = append(mismatch, fmt.Sprintf("%s: %s has no value, model %v", t.Name, source, p.Shape()))
		case !tensor.EqualShape(t.Value.Shape(), p.Shape()):
			mismatch = append(mismatch, fmt.Sprintf("%s: %s %v, model %v", t.Name, source, t.Value.Shape(), p.Shape()))
		}
	}
	for _, p := range params {
		if !seen[p.Name] {
			missing = append(missing, p.Name)
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("missing %v", missing))
	}
	if len(unexpected) > 0 {
		slices.Sort(unexpected)
		parts = append(parts, fmt.Sprintf("unexpected %v", unexpected))
	}
	if len(dups) > 0 {
		slices.Sort(dups)
		parts = append(parts, fmt.Sprintf("repeated %v", slices.Compact(dups)))
	}
	slices.Sort(mismatch)
	for _, s := range mismatch {
		parts = append(parts, "shape mismatch "+s)
	}
	if len(parts) > 0 {
		return errors.New(strings.Join(parts, "; "))
	}
	for _, t := range state {
		copy(byName[t.Name].Value().Data(), t.Value.Data())
	}
	return nil
}
