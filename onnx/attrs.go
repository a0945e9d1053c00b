package onnx

import (
	"fmt"
	"strings"
)

// attrReader decodes a node's attributes into an op's typed fields. Each
// getter checks the attribute's type and records the first error; finish
// reports attributes no getter asked for as unsupported, so an attribute
// the importer does not understand is never silently ignored.
type attrReader struct {
	node *nodeProto
	seen map[string]bool
	err  error
}

func newAttrReader(n *nodeProto) *attrReader {
	return &attrReader{node: n, seen: map[string]bool{}}
}

// unsupportedError marks an op, or an attribute (or attribute value) of a
// supported op, that the importer does not implement.
type unsupportedError struct {
	op, attr string
}

func (e *unsupportedError) Error() string {
	if e.attr != "" {
		return fmt.Sprintf("%s: attribute %s is not supported", e.op, e.attr)
	}
	return fmt.Sprintf("op %s is not supported", e.op)
}

func (r *attrReader) get(name string, typ int32) *attrProto {
	r.seen[name] = true
	for _, a := range r.node.attrs {
		if a.name != name {
			continue
		}
		if a.typ != typ {
			if r.err == nil {
				r.err = fmt.Errorf("%s: attribute %q is %s, want %s", r.node.opType, name, attrTypeName(a.typ), attrTypeName(typ))
			}
			return nil
		}
		return a
	}
	return nil
}

func (r *attrReader) has(name string) bool {
	for _, a := range r.node.attrs {
		if a.name == name {
			return true
		}
	}
	return false
}

func (r *attrReader) int(name string, def int64) int64 {
	if a := r.get(name, atInt); a != nil {
		return a.i
	}
	return def
}

func (r *attrReader) float(name string, def float32) float32 {
	if a := r.get(name, atFloat); a != nil {
		return a.f
	}
	return def
}

func (r *attrReader) ints(name string, def []int64) []int64 {
	if a := r.get(name, atInts); a != nil {
		return a.ints
	}
	return def
}

func (r *attrReader) floats(name string) []float32 {
	if a := r.get(name, atFloats); a != nil {
		return a.floats
	}
	return nil
}

func (r *attrReader) string(name, def string) string {
	if a := r.get(name, atString); a != nil {
		return string(a.s)
	}
	return def
}

func (r *attrReader) tensor(name string) *tensorProto {
	if a := r.get(name, atTensor); a != nil {
		return a.t
	}
	return nil
}

// unsupported records that attribute name has a value the importer does
// not implement.
func (r *attrReader) unsupported(name string, v any) {
	if r.err == nil {
		r.err = &unsupportedError{op: r.node.opType, attr: fmt.Sprintf("%s=%v", name, v)}
	}
}

// fail records an invalid attribute value.
func (r *attrReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %s", r.node.opType, fmt.Sprintf(format, args...))
	}
}

// finish returns the first error, or an unsupportedError for attributes
// that were never read.
func (r *attrReader) finish() error {
	if r.err != nil {
		return r.err
	}
	var extra []string
	for _, a := range r.node.attrs {
		if !r.seen[a.name] {
			extra = append(extra, a.name)
		}
	}
	if len(extra) > 0 {
		return &unsupportedError{op: r.node.opType, attr: strings.Join(extra, ", ")}
	}
	return nil
}
