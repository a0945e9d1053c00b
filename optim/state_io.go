package optim

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Keys of the safetensors encoding of a State. Tensor "opt.<param>.<slot>"
// holds a state slot (e.g. "opt.0.weight.exp_avg"); metadata
// "opt.<param>.step" holds the parameter's step count in decimal, exactly.
const (
	keyPrefix    = "opt."
	keyStep      = ".step"
	metaAlgo     = "optim.algorithm"
	metaLR       = "optim.lr"
	metaInitLR   = "optim.initial_lr"
	metaFormat   = "format"
	formatString = "shoshin.optim"
)

// SaveState writes the optimizer's state (see StateDict) to w in
// safetensors format with nn.WriteTensors, the writer models are saved
// with: one F32 tensor
// "opt.<param>.<slot>" per state slot, and step counts, learning rate,
// initial learning rate (when recorded) and algorithm as metadata.
func (b *base) SaveState(w io.Writer) error {
	ts, md, err := b.encodeState()
	if err != nil {
		return err
	}
	if err := nn.WriteTensors(w, ts, md); err != nil {
		return fmt.Errorf("optim: save state: %w", err)
	}
	return nil
}

// LoadState reads a state written by SaveState from r and loads it (see
// LoadStateDict). On any error the optimizer is unchanged.
func (b *base) LoadState(r io.Reader) error {
	ts, md, err := nn.ReadTensors(r)
	if err != nil {
		return fmt.Errorf("optim: load state: %w", err)
	}
	return b.decodeState(ts, md, "")
}

// SaveFile writes opt's state to the file at path, atomically: an existing
// file is replaced only once the new one is complete.
func SaveFile(opt Optimizer, path string) error {
	b, err := baseOf(opt)
	if err != nil {
		return err
	}
	ts, md, err := b.encodeState()
	if err != nil {
		return err
	}
	if err := nn.WriteTensorsFile(path, ts, md); err != nil {
		return fmt.Errorf("optim: save state: %w", err)
	}
	return nil
}

// LoadFile loads into opt the state saved in the file at path. Errors name
// the file; on any error opt is unchanged.
func LoadFile(opt Optimizer, path string) error {
	b, err := baseOf(opt)
	if err != nil {
		return err
	}
	ts, md, err := nn.ReadTensorsFile(path)
	if err != nil {
		return fmt.Errorf("optim: load state: %w", err)
	}
	return b.decodeState(ts, md, path+": ")
}

// baseOf returns the driver behind one of this package's optimizers.
func baseOf(opt Optimizer) (*base, error) {
	switch o := opt.(type) {
	case *SGD:
		return o.base, nil
	case *Adam:
		return o.base, nil
	case *RMSprop:
		return o.base, nil
	case *Adagrad:
		return o.base, nil
	}
	return nil, fmt.Errorf("optim: %T is not an optimizer of this package", opt)
}

func (b *base) encodeState() ([]nn.NamedTensor, map[string]string, error) {
	s, err := b.StateDict()
	if err != nil {
		return nil, nil, fmt.Errorf("optim: save state: %w", err)
	}
	md := map[string]string{
		metaFormat: formatString,
		metaAlgo:   s.Algorithm,
		metaLR:     strconv.FormatFloat(float64(s.LR), 'g', -1, 32),
	}
	if s.HasInitialLR {
		md[metaInitLR] = strconv.FormatFloat(float64(s.InitialLR), 'g', -1, 32)
	}
	var ts []nn.NamedTensor
	for _, ps := range s.Params {
		md[keyPrefix+ps.Name+keyStep] = strconv.FormatInt(ps.Step, 10)
		for _, slot := range b.slots {
			t := ps.Slots[slot]
			ts = append(ts, nn.NamedTensor{Name: keyPrefix + ps.Name + "." + slot, Value: t})
		}
	}
	return ts, md, nil
}

func (b *base) decodeState(ts []nn.NamedTensor, md map[string]string, where string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("optim: load state: "+where+format, args...)
	}
	algo, ok := md[metaAlgo]
	if !ok {
		return fail("no %q metadata: not an optimizer state", metaAlgo)
	}
	lr, err := strconv.ParseFloat(md[metaLR], 32)
	if err != nil {
		return fail("metadata %q = %q: want a number", metaLR, md[metaLR])
	}
	s := &State{Algorithm: algo, LR: float32(lr)}
	if v, ok := md[metaInitLR]; ok {
		ilr, err := strconv.ParseFloat(v, 32)
		if err != nil {
			return fail("metadata %q = %q: want a number", metaInitLR, v)
		}
		s.InitialLR, s.HasInitialLR = float32(ilr), true
	}
	index := make(map[string]int)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := md[k]
		if !strings.HasPrefix(k, keyPrefix) || !strings.HasSuffix(k, keyStep) || len(k) <= len(keyPrefix)+len(keyStep) {
			continue
		}
		name := k[len(keyPrefix) : len(k)-len(keyStep)]
		step, err := strconv.ParseInt(v, 10, 64)
		if err != nil || step < 1 {
			return fail("metadata %q = %q: want a step count >= 1", k, v)
		}
		index[name] = len(s.Params)
		s.Params = append(s.Params, ParamState{Name: name, Step: step, Slots: make(map[string]*tensor.Tensor)})
	}
	for _, t := range ts {
		rest, ok := strings.CutPrefix(t.Name, keyPrefix)
		dot := strings.LastIndexByte(rest, '.')
		if !ok || dot <= 0 || dot == len(rest)-1 {
			return fail("tensor %q: want a name of the form opt.<param>.<slot>", t.Name)
		}
		name, slot := rest[:dot], rest[dot+1:]
		i, ok := index[name]
		if !ok {
			return fail("tensor %q: no step count %q in the metadata", t.Name, keyPrefix+name+keyStep)
		}
		if _, dup := s.Params[i].Slots[slot]; dup {
			return fail("tensor %q appears twice", t.Name)
		}
		s.Params[i].Slots[slot] = t.Value
	}
	if err := b.LoadStateDict(s); err != nil {
		if where != "" {
			return fmt.Errorf("%s%w", where, err)
		}
		return err
	}
	return nil
}
