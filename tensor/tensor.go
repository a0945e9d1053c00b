package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Tensor is an n-dimensional array of float32 values stored contiguously in
// row-major order. The zero value is not usable; build tensors with New,
// Zeros, Full and the other constructors.
//
// A Tensor is not safe for concurrent mutation; concurrent reads are fine.
type Tensor struct {
	shape []int
	data  []float32
}

// New returns a tensor that wraps data (without copying) with the given
// shape. It panics if the product of shape differs from len(data) or a
// dimension is negative. A rank-0 tensor (no shape) holds one value.
func New(data []float32, shape ...int) *Tensor {
	n := checkShape("New", shape)
	if n != len(data) {
		panic(fmt.Sprintf("tensor.New: shape %v needs %d values, got %d", slices.Clone(shape), n, len(data)))
	}
	return &Tensor{shape: cloneShape(shape), data: data}
}

// Scalar returns a rank-0 tensor holding v.
func Scalar(v float32) *Tensor { return &Tensor{shape: []int{}, data: []float32{v}} }

// Zeros returns a tensor of the given shape filled with zeros.
func Zeros(shape ...int) *Tensor {
	n := checkShape("Zeros", shape)
	return &Tensor{shape: cloneShape(shape), data: make([]float32, n)}
}

// Ones returns a tensor of the given shape filled with ones.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Full returns a tensor of the given shape filled with v.
func Full(v float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	if v != 0 {
		for i := range t.data {
			t.data[i] = v
		}
	}
	return t
}

// ZerosLike returns a zero tensor with the shape of t.
func ZerosLike(t *Tensor) *Tensor { return Zeros(t.shape...) }

// OnesLike returns a tensor of ones with the shape of t.
func OnesLike(t *Tensor) *Tensor { return Full(1, t.shape...) }

// Arange returns the 1-D tensor [start, start+step, ...) stopping before
// stop, like numpy.arange. It panics if step is zero.
func Arange(start, stop, step float32) *Tensor {
	if step == 0 {
		panic("tensor.Arange: step is zero")
	}
	n := int(math.Ceil((float64(stop) - float64(start)) / float64(step)))
	if n < 0 {
		n = 0
	}
	t := Zeros(n)
	for i := range t.data {
		t.data[i] = start + float32(i)*step
	}
	return t
}

// RandN returns a tensor of standard normal samples drawn from r, scaled by
// std and shifted by mean.
func RandN(r *rand.Rand, mean, std float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = mean + std*float32(r.NormFloat64())
	}
	return t
}

// RandU returns a tensor of samples drawn uniformly from [lo, hi) using r.
func RandU(r *rand.Rand, lo, hi float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = lo + (hi-lo)*r.Float32()
	}
	return t
}

// Shape returns the tensor's dimensions. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Data returns the underlying row-major storage. Writes to it are visible
// through t and every tensor that shares its data (see Reshape).
func (t *Tensor) Data() []float32 { return t.data }

// Size returns the number of elements.
func (t *Tensor) Size() int { return len(t.data) }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	if i < 0 || i >= len(t.shape) {
		panic(fmt.Sprintf("tensor.Dim: axis %d out of range for shape %v", i, t.shape))
	}
	return t.shape[i]
}

// Item returns the single value of a tensor with one element.
func (t *Tensor) Item() float32 {
	if len(t.data) != 1 {
		panic(fmt.Sprintf("tensor.Item: shape %v has %d elements, want 1", t.shape, len(t.data)))
	}
	return t.data[0]
}

// offset converts a multi-index to a flat offset, panicking when it is out
// of range.
func (t *Tensor) offset(op string, idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor.%s: %d indices for shape %v", op, len(idx), t.shape))
	}
	off := 0
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			panic(fmt.Sprintf("tensor.%s: index %v out of range for shape %v", op, idx, t.shape))
		}
		off = off*t.shape[i] + v
	}
	return off
}

// At returns the element at the given multi-index.
func (t *Tensor) At(idx ...int) float32 { return t.data[t.offset("At", idx)] }

// Set stores v at the given multi-index.
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.offset("Set", idx)] = v }

// Reshape returns a tensor that shares t's data with a new shape. One
// dimension may be -1 and is then inferred. It panics if the sizes differ.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	s := cloneShape(shape)
	infer := -1
	n := 1
	for i, d := range s {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("tensor.Reshape: bad shape %v for %v", shape, t.shape))
		default:
			n *= d
		}
	}
	if infer >= 0 {
		if n == 0 || len(t.data)%n != 0 {
			panic(fmt.Sprintf("tensor.Reshape: cannot infer -1 in %v for %v", shape, t.shape))
		}
		s[infer] = len(t.data) / n
		n = len(t.data)
	}
	if n != len(t.data) {
		panic(fmt.Sprintf("tensor.Reshape: shape %v (%d elements) does not match %v (%d elements)", shape, n, t.shape, len(t.data)))
	}
	return &Tensor{shape: s, data: t.data}
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{shape: cloneShape(t.shape), data: append([]float32(nil), t.data...)}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool { return EqualShape(a.shape, b.shape) }

// EqualShape reports whether two shapes are identical.
func EqualShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// String formats the tensor like NumPy, eliding the middle of long
// dimensions.
func (t *Tensor) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Tensor%v\n", t.shape)
	if len(t.shape) == 0 {
		fmt.Fprintf(&sb, "%g", t.data[0])
		return sb.String()
	}
	t.format(&sb, 0, 0, 0)
	return sb.String()
}

const edgeItems = 3

func (t *Tensor) format(sb *strings.Builder, dim, off, indent int) {
	n := t.shape[dim]
	stride := 1
	for _, d := range t.shape[dim+1:] {
		stride *= d
	}
	sb.WriteByte('[')
	for i := 0; i < n; i++ {
		if n > 2*edgeItems && i == edgeItems {
			if dim == len(t.shape)-1 {
				sb.WriteString("..., ")
			} else {
				sb.WriteString("...,\n" + strings.Repeat(" ", indent+1))
			}
			i = n - edgeItems
		}
		if dim == len(t.shape)-1 {
			fmt.Fprintf(sb, "%.4g", t.data[off+i])
		} else {
			t.format(sb, dim+1, off+i*stride, indent+1)
		}
		if i < n-1 {
			if dim == len(t.shape)-1 {
				sb.WriteString(", ")
			} else {
				sb.WriteString(",\n" + strings.Repeat(" ", indent+1))
			}
		}
	}
	sb.WriteByte(']')
}

func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			// Format a copy so that shape itself does not escape: callers
			// pass stack-allocated shapes on hot paths.
			panic(fmt.Sprintf("tensor.%s: negative dimension in shape %v", op, slices.Clone(shape)))
		}
		n *= d
	}
	return n
}

// cloneShape returns a copy of shape that is never nil, so that rank-0
// shapes compare equal however they were made.
func cloneShape(shape []int) []int { return append(make([]int, 0, len(shape)), shape...) }
