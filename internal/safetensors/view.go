package safetensors

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"
)

// littleEndian reports whether the machine stores a uint32 least
// significant byte first, the byte order of safetensors data.
var littleEndian = func() bool {
	x := uint32(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// DecodeInPlace parses a complete safetensors file held in b, with the
// default Limits, like Decode, except that an F32 tensor whose data is
// aligned to 4 bytes in memory is returned as a view of b rather than a
// copy, on little-endian machines (the others, and other dtypes, are
// converted into fresh memory as Decode does). It returns how many tensors
// are views.
//
// Writing to a view writes to b, and b must stay valid (a memory mapping
// must stay mapped) for as long as any view is used. Files written by
// Write place each tensor's data at a multiple of 8 bytes from the start
// of the file (the header is padded), so a page-aligned mapping of such a
// file yields views for every F32 tensor.
func DecodeInPlace(b []byte) ([]Tensor, map[string]string, int, error) {
	return Limits{}.DecodeInPlace(b)
}

// DecodeInPlace is the package-level DecodeInPlace under the limits l.
func (l Limits) DecodeInPlace(b []byte) ([]Tensor, map[string]string, int, error) {
	l = l.withDefaults()
	if len(b) < 8 {
		return nil, nil, 0, fmt.Errorf("safetensors: input is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	if err := l.checkHeaderLen(n); err != nil {
		return nil, nil, 0, fmt.Errorf("safetensors: %w", err)
	}
	if n > uint64(len(b)-8) {
		return nil, nil, 0, fmt.Errorf("safetensors: header length %d exceeds the %d bytes that follow the length field (truncated file?)", n, len(b)-8)
	}
	ts, md, views, err := l.decodeViews(b[8:8+n], b[8+n:])
	if err != nil {
		return nil, nil, 0, fmt.Errorf("safetensors: %w", err)
	}
	return ts, md, views, nil
}

// decodeViews is decode with F32 tensors viewed in place where possible.
func (l Limits) decodeViews(header, data []byte) ([]Tensor, map[string]string, int, error) {
	entries, dims, md, err := parseHeader(header, l)
	if err != nil {
		return nil, nil, 0, err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(entries); i++ {
		if entries[i].name == entries[i-1].name {
			a, b := entries[i-1].at, entries[i].at
			return nil, nil, 0, fmt.Errorf("header: key %s appears twice (at bytes %d and %d)", quote(entries[i].name), min(a, b), max(a, b))
		}
	}
	if _, err := checkLayout(entries, dims, uint64(len(data)), 8+uint64(len(header))); err != nil {
		return nil, nil, 0, err
	}
	inPlace := func(e entry) bool {
		if !littleEndian || e.dtype != codeF32 || e.end == e.begin {
			return false
		}
		return uintptr(unsafe.Pointer(&data[e.begin]))%4 == 0
	}
	// One allocation holds the values of every tensor that is not a view.
	var copied uint64
	for _, e := range entries {
		if !inPlace(e) {
			copied += (e.end - e.begin) / codeInfo[e.dtype].size
		}
	}
	values := make([]float32, copied)
	out := make([]Tensor, len(entries))
	var off uint64
	views := 0
	for i, e := range entries {
		n := (e.end - e.begin) / codeInfo[e.dtype].size
		var v []float32
		if inPlace(e) {
			v = unsafe.Slice((*float32)(unsafe.Pointer(&data[e.begin])), n)
			views++
		} else {
			v = values[off : off+n : off+n]
			off += n
			if err := convert(e.dtype, data[e.begin:e.end], v); err != nil {
				return nil, nil, 0, fmt.Errorf("tensor %s: %w", quote(e.name), err)
			}
		}
		out[i] = Tensor{Name: e.name, Shape: dims[e.dimStart:e.dimEnd:e.dimEnd], Data: v, Dtype: codeInfo[e.dtype].name}
	}
	return out, md, views, nil
}
