package nn

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// RNGStater is implemented by layers that draw random numbers while they
// train, such as Dropout, so that a training run can be checkpointed and
// resumed with the same draws. RNGState returns the generator's state;
// SetRNGState restores one returned by RNGState and must leave the
// generator unchanged when it returns an error.
type RNGStater interface {
	RNGState() ([]byte, error)
	SetRNGState(state []byte) error
}

// rngMagic starts every state written by RNGState; the byte after it is
// the format version.
const (
	rngMagic   = "SRNG"
	rngVersion = 1
	// maxRNGEntry bounds one layer's state: generator states are tens of
	// bytes (PCG 20, ChaCha8 under 50).
	maxRNGEntry = 1 << 12
)

// RNGState returns the random-generator state of every layer of m that
// implements RNGStater (every Dropout), in Walk order, as one byte slice
// for SetRNGState. Save it with a checkpoint so that a resumed run draws
// the same dropout masks as an uninterrupted one. A model with no such
// layer gives a valid, empty state.
//
// It fails when a layer's generator cannot report its state (a Dropout
// built WithRand); the error names the layer by its Walk position and type.
func RNGState(m Module) ([]byte, error) {
	layers := rngLayers(m)
	out := binary.AppendUvarint(append([]byte(rngMagic), rngVersion), uint64(len(layers)))
	for i, l := range layers {
		s, err := l.st.RNGState()
		if err != nil {
			return nil, fmt.Errorf("nn.RNGState: layer %d (%s): %w", l.pos, typeName(l.m), err)
		}
		if len(s) > maxRNGEntry {
			return nil, fmt.Errorf("nn.RNGState: layer %d (%s): state of %d bytes exceeds %d", layers[i].pos, typeName(l.m), len(s), maxRNGEntry)
		}
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return out, nil
}

// SetRNGState restores a state returned by RNGState into the layers of m
// that implement RNGStater, in Walk order. m must have the same number of
// such layers, with generators of the same kinds, as the model that was
// saved; their seeds do not matter. A malformed state or a mismatch returns
// an error that says where, and leaves every generator as it was.
func SetRNGState(m Module, state []byte) error {
	entries, err := parseRNGState(state)
	if err != nil {
		return fmt.Errorf("nn.SetRNGState: %w", err)
	}
	layers := rngLayers(m)
	if len(entries) != len(layers) {
		return fmt.Errorf("nn.SetRNGState: state holds %d generators, the model has %d layers with one", len(entries), len(layers))
	}
	// Keep the current states to roll back if a later layer refuses its
	// entry.
	saved := make([][]byte, len(layers))
	for i, l := range layers {
		s, err := l.st.RNGState()
		if err != nil {
			return fmt.Errorf("nn.SetRNGState: layer %d (%s): %w", l.pos, typeName(l.m), err)
		}
		saved[i] = s
	}
	for i, l := range layers {
		if err := l.st.SetRNGState(entries[i]); err != nil {
			for j := range i {
				_ = layers[j].st.SetRNGState(saved[j])
			}
			return fmt.Errorf("nn.SetRNGState: layer %d (%s), generator %d of the state: %w", l.pos, typeName(l.m), i, err)
		}
	}
	return nil
}

// rngLayer is a layer with a generator and its position in Walk order.
type rngLayer struct {
	m   Module
	st  RNGStater
	pos int
}

func rngLayers(m Module) []rngLayer {
	var out []rngLayer
	pos := 0
	Walk(m, func(l Module) {
		if s, ok := l.(RNGStater); ok {
			out = append(out, rngLayer{m: l, st: s, pos: pos})
		}
		pos++
	})
	return out
}

// parseRNGState splits a state written by RNGState into its entries,
// checking every length against what remains.
func parseRNGState(b []byte) ([][]byte, error) {
	if len(b) < len(rngMagic)+1 || string(b[:len(rngMagic)]) != rngMagic {
		return nil, errors.New("not a random-generator state (missing the SRNG header)")
	}
	if v := b[len(rngMagic)]; v != rngVersion {
		return nil, fmt.Errorf("state format version %d, want %d", v, rngVersion)
	}
	off := len(rngMagic) + 1
	n, k := binary.Uvarint(b[off:])
	if k <= 0 {
		return nil, fmt.Errorf("offset %d: bad generator count", off)
	}
	off += k
	// Every entry takes at least one byte, which bounds n before allocating.
	if n > uint64(len(b)-off) {
		return nil, fmt.Errorf("offset %d: %d generators announced, only %d bytes follow", off-k, n, len(b)-off)
	}
	entries := make([][]byte, 0, n)
	for i := range n {
		size, k := binary.Uvarint(b[off:])
		if k <= 0 {
			return nil, fmt.Errorf("offset %d: bad length of generator %d", off, i)
		}
		if size > maxRNGEntry || size > uint64(len(b)-off-k) {
			return nil, fmt.Errorf("offset %d: generator %d has %d bytes, only %d remain (limit %d)", off, i, size, len(b)-off-k, maxRNGEntry)
		}
		off += k
		entries = append(entries, b[off:off+int(size)])
		off += int(size)
	}
	if off != len(b) {
		return nil, fmt.Errorf("offset %d: %d trailing bytes after %d generators", off, len(b)-off, n)
	}
	return entries, nil
}
