package optim

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The saved state of a schedule (MarshalBinary) is
//
//	magic "SHSCHED" and version byte 1
//	uvarint length, kind name ("StepLR", ...)
//	uvarint field count
//	per field: uvarint length, field name, float64 bits little-endian
//
// Every field is a float64, integers included (exact up to 2⁵³). A
// schedule's fields are its configuration followed by its progress; on
// load the configuration must equal the schedule's own, so a state loads
// only into a schedule built the same way.
const (
	schedMagic     = "SHSCHED\x01"
	maxSchedFields = 32
	maxSchedName   = 64
	// maxEpoch bounds a loaded epoch count (float64 counts every integer
	// up to 2⁵³).
	maxEpoch = 1 << 53
)

// schedField is one named value of a schedule's state.
type schedField struct {
	name  string
	value float64
}

// encodeSched writes a schedule state.
func encodeSched(kind string, fields []schedField) []byte {
	b := []byte(schedMagic)
	b = binary.AppendUvarint(b, uint64(len(kind)))
	b = append(b, kind...)
	b = binary.AppendUvarint(b, uint64(len(fields)))
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f.name)))
		b = append(b, f.name...)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.value))
	}
	return b
}

// decodeSched reads a schedule state written for kind with the fields of
// want (names in order), checks that the configuration fields (the first
// nConfig of want) are equal to want's, and returns the values.
func decodeSched(kind string, data []byte, want []schedField, nConfig int) ([]float64, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("optim: load %s state: "+format, append([]any{kind}, args...)...)
	}
	if len(data) < len(schedMagic) || string(data[:len(schedMagic)]) != schedMagic {
		return nil, fail("not a schedule state (bad magic or version)")
	}
	off := len(schedMagic)
	readString := func(what string, limit int) (string, error) {
		n, k := binary.Uvarint(data[off:])
		if k <= 0 || n > uint64(limit) || n > uint64(len(data)-off-k) {
			return "", fail("offset %d: bad %s length", off, what)
		}
		off += k
		s := string(data[off : off+int(n)])
		off += int(n)
		return s, nil
	}
	got, err := readString("kind", maxSchedName)
	if err != nil {
		return nil, err
	}
	if got != kind {
		return nil, fail("the state is for a %s", got)
	}
	n, k := binary.Uvarint(data[off:])
	if k <= 0 || n > maxSchedFields {
		return nil, fail("offset %d: bad field count", off)
	}
	off += k
	if int(n) != len(want) {
		return nil, fail("%d fields, want %d", n, len(want))
	}
	vals := make([]float64, n)
	for i := range vals {
		name, err := readString("field name", maxSchedName)
		if err != nil {
			return nil, err
		}
		if name != want[i].name {
			return nil, fail("field %d is %q, want %q", i, name, want[i].name)
		}
		if len(data)-off < 8 {
			return nil, fail("offset %d: field %q truncated", off, name)
		}
		vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[off:]))
		off += 8
		if i < nConfig && math.Float64bits(vals[i]) != math.Float64bits(want[i].value) {
			return nil, fail("%s is %v in the state but %v in this schedule; build the schedule as the saved one was",
				name, vals[i], want[i].value)
		}
	}
	if off != len(data) {
		return nil, fail("%d bytes after the last field", len(data)-off)
	}
	return vals, nil
}

// loadCount validates a non-negative integer count read from a state.
func loadCount(kind, name string, v float64, limit int) (int, error) {
	if !(v >= 0 && v <= float64(limit)) || v != math.Trunc(v) {
		return 0, fmt.Errorf("optim: load %s state: %s is %v, want an integer in [0, %d]", kind, name, v, limit)
	}
	return int(v), nil
}

// MarshalBinary returns the schedule's state: its kind, configuration,
// base learning rate and epoch. UnmarshalBinary restores it into a
// schedule built the same way.
func (s *schedule) MarshalBinary() ([]byte, error) {
	return encodeSched(s.kind, s.fields()), nil
}

func (s *schedule) fields() []schedField {
	f := append([]schedField(nil), s.config...)
	return append(f, schedField{"base_lr", s.base}, schedField{"epoch", float64(s.epoch)})
}

// UnmarshalBinary restores a state saved by MarshalBinary: it checks that
// the state is for a schedule of the same kind and configuration, with a
// finite base learning rate >= 0 and an epoch in [0, 2⁵³], and only then
// sets the base and epoch, records the base as the optimizer's initial
// learning rate (see InitialLRHolder) and sets the optimizer's learning
// rate for the epoch. On error nothing changes.
func (s *schedule) UnmarshalBinary(data []byte) error {
	vals, err := decodeSched(s.kind, data, s.fields(), len(s.config))
	if err != nil {
		return err
	}
	base := vals[len(s.config)]
	if !(base >= 0) || math.IsInf(base, 1) || base != float64(float32(base)) {
		return fmt.Errorf("optim: load %s state: base_lr is %v, want a finite float32 >= 0", s.kind, base)
	}
	epoch, err := loadCount(s.kind, "epoch", vals[len(s.config)+1], min(maxEpoch, math.MaxInt))
	if err != nil {
		return err
	}
	s.base = base
	if h, ok := s.opt.(InitialLRHolder); ok {
		h.SetInitialLR(float32(base))
	}
	s.SetEpoch(epoch)
	return nil
}
