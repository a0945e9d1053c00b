package nn

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

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
// "0.weight", its value and the dtype it has in a file (empty means
// Float32).
type NamedTensor struct {
	Name  string
	Value *tensor.Tensor
	Dtype Dtype
}

// Dtype is the element type of a tensor in a saved file, named as
// safetensors names it ("F32", "I64", ...). In memory every tensor is
// float32: reading converts to float32, refusing values float32 cannot hold
// exactly (an integer beyond 2^24 that float32 would round, say), and
// writing converts from float32, refusing values the dtype cannot hold (a
// fraction for Int64, say).
type Dtype string

// The dtypes Save, WriteTensors and the readers support.
const (
	Float32  Dtype = "F32"
	Float64  Dtype = "F64"
	Float16  Dtype = "F16"
	BFloat16 Dtype = "BF16"
	Int64    Dtype = "I64"
	Int32    Dtype = "I32"
	Int16    Dtype = "I16"
	Int8     Dtype = "I8"
	Uint64   Dtype = "U64"
	Uint32   Dtype = "U32"
	Uint16   Dtype = "U16"
	Uint8    Dtype = "U8"
	Bool     Dtype = "BOOL"
)

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
		out[i] = NamedTensor{Name: p.Name, Value: p.Value(), Dtype: p.Dtype}
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
		return fmt.Errorf("model has several tensors named %s", nameList(dups))
	}
	return nil
}

// Error messages quote at most maxListed names of a list, each cut to
// maxNameLen bytes: a file with half a million unexpected tensors, or one
// huge name, still gives a short message.
const (
	maxListed  = 5
	maxNameLen = 64
)

// nameList formats names like fmt's %v of a []string, listing the first
// maxListed and counting the rest: "[a b c d e and 7 more]".
func nameList(names []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, n := range names[:min(len(names), maxListed)] {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shortName(n))
	}
	if len(names) > maxListed {
		fmt.Fprintf(&b, " and %d more", len(names)-maxListed)
	}
	b.WriteByte(']')
	return b.String()
}

// shortName returns name, or its first maxNameLen bytes (cut at a rune
// boundary) and its length when it is longer.
func shortName(name string) string {
	if len(name) <= maxNameLen {
		return name
	}
	cut := maxNameLen
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return fmt.Sprintf("%s...(%d bytes)", name[:cut], len(name))
}

// LoadStateDict copies state into m's parameters and buffers. Every name in
// m must appear in state with the same shape, and state must hold nothing
// else; otherwise LoadStateDict changes nothing and returns an error that
// names the missing, unexpected and mis-shaped tensors (the first five of
// each kind, with a count of the rest), such as
//
//	nn: load state: missing [2.bias]; unexpected [3.weight]; shape mismatch 0.weight: state [128 784], model [784 128]
//
// Dtypes need not match: values are float32 in memory, so a Float32
// num_batches_tracked loads into BatchNorm's Int64 buffer and back.
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
	byName, err := checkState(m, state, source)
	if err != nil {
		return err
	}
	for _, t := range state {
		p := byName[t.Name]
		copy(p.Value().Data(), t.Value.Data())
		p.MarkChanged()
	}
	notifyLoaded(m)
	return nil
}

// checkState verifies that state matches m's parameters and buffers one to
// one by name and shape, as LoadStateDict requires, and returns m's Params
// by name.
func checkState(m Module, state []NamedTensor, source string) (map[string]*Param, error) {
	params := collect(m)
	if err := duplicateNames(params); err != nil {
		return nil, err
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
		case t.Value == nil, !tensor.EqualShape(t.Value.Shape(), p.Shape()):
			mismatch = append(mismatch, t.Name)
		}
	}
	for _, p := range params {
		if !seen[p.Name] {
			missing = append(missing, p.Name)
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+nameList(missing))
	}
	if len(unexpected) > 0 {
		slices.Sort(unexpected)
		parts = append(parts, "unexpected "+nameList(unexpected))
	}
	if len(dups) > 0 {
		slices.Sort(dups)
		parts = append(parts, "repeated "+nameList(slices.Compact(dups)))
	}
	slices.Sort(mismatch)
	for _, name := range mismatch[:min(len(mismatch), maxListed)] {
		p, t := byName[name], stateByName(state, name)
		if t.Value == nil {
			parts = append(parts, fmt.Sprintf("shape mismatch %s: %s has no value, model %v", shortName(name), source, p.Shape()))
		} else {
			parts = append(parts, fmt.Sprintf("shape mismatch %s: %s %s, model %v", shortName(name), source, boundedShape(t.Value.Shape()), p.Shape()))
		}
	}
	if len(mismatch) > maxListed {
		parts = append(parts, fmt.Sprintf("and %d more shape mismatches", len(mismatch)-maxListed))
	}
	if len(parts) > 0 {
		return nil, errors.New(strings.Join(parts, "; "))
	}
	return byName, nil
}

// StateLoader is implemented by a module that keeps state derived from its
// Params, such as a quantised layer's packed int8 weights. LoadStateDict,
// Load, LoadFile, LoadModel, ReadModel and MapModel call StateLoaded on m
// and on every module reachable from it through Container after copying
// the new values in.
type StateLoader interface {
	StateLoaded()
}

func notifyLoaded(m Module) {
	if l, ok := m.(StateLoader); ok {
		l.StateLoaded()
	}
	if c, ok := m.(Container); ok {
		for _, ch := range c.Children() {
			notifyLoaded(ch)
		}
	}
}

// stateByName returns the first entry of state named name.
func stateByName(state []NamedTensor, name string) NamedTensor {
	for _, t := range state {
		if t.Name == name {
			return t
		}
	}
	return NamedTensor{}
}

// boundedShape formats a shape like %v, eliding the middle of a very long
// one (a shape read from a file may have thousands of dimensions).
func boundedShape(shape []int) string {
	const keep = 8
	if len(shape) <= 2*keep {
		return fmt.Sprint(shape)
	}
	return fmt.Sprintf("%s ... %s (%d dims)", strings.TrimSuffix(fmt.Sprint(shape[:keep]), "]"), strings.TrimPrefix(fmt.Sprint(shape[len(shape)-keep:]), "["), len(shape))
}
