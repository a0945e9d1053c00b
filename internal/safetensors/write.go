package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shoshin-ml/shoshin/internal/atomicfile"
)

// Tensor is one named float32 tensor: its shape, its row-major values and
// the dtype it has in a file. An empty (or nil) Shape denotes a scalar
// holding one value.
//
// The reader sets Dtype to the file's dtype; the writer stores Data as
// Dtype, F32 when Dtype is empty. Writing an integer or BOOL dtype fails,
// before anything is written, when a value is not an integer in that
// dtype's range (0 or 1 for BOOL).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
	Dtype Dtype
}

// metadataKey is the reserved header key holding the string-to-string
// metadata map.
const metadataKey = "__metadata__"

// Write writes tensors and metadata to w in safetensors format. Tensors are
// stored as their Dtype (F32 by default), sorted by name and packed without
// gaps; the header is padded with spaces to a multiple of 8 bytes. The
// tensors slice itself is not reordered. Write returns an error, before
// writing anything, when a name is empty, not valid UTF-8, reserved
// ("__metadata__") or repeated, when a shape has a negative dimension or
// disagrees with len(Data), or when a value does not fit the tensor's
// Dtype.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	sorted, err := prepare(tensors, metadata)
	if err == nil {
		err = write(w, sorted, metadata)
	}
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// write writes already validated, sorted tensors.
func write(w io.Writer, sorted []Tensor, metadata map[string]string) error {
	header := encodeHeader(sorted, metadata)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(header)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("write header length: %w", err)
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	buf := make([]byte, 0, 32<<10)
	for _, t := range sorted {
		c, _ := codeOf(t.Dtype) // checked by prepare
		for _, v := range t.Data {
			if len(buf) > cap(buf)-8 {
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("write tensor %s: %w", quote(t.Name), err)
				}
				buf = buf[:0]
			}
			buf = appendValue(buf, c, v)
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("write tensor data: %w", err)
		}
	}
	return nil
}

// prepare validates tensors and metadata and returns the tensors sorted by
// name.
func prepare(tensors []Tensor, metadata map[string]string) ([]Tensor, error) {
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("metadata %s: %s: not valid UTF-8", quote(k), quote(v))
		}
	}
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	for i, t := range sorted {
		switch {
		case t.Name == "":
			return nil, errors.New("tensor with an empty name")
		case !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("tensor name %s is not valid UTF-8", quote(t.Name))
		case t.Name == metadataKey:
			return nil, fmt.Errorf("tensor name %s is reserved for metadata", quote(t.Name))
		case i > 0 && sorted[i-1].Name == t.Name:
			return nil, fmt.Errorf("two tensors named %s", quote(t.Name))
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %s: negative dimension in shape %v", quote(t.Name), t.Shape)
			}
			if d != 0 && n > math.MaxInt/d {
				return nil, fmt.Errorf("tensor %s: shape %v overflows", quote(t.Name), t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensor %s: shape %v needs %d values, got %d", quote(t.Name), t.Shape, n, len(t.Data))
		}
		c, ok := codeOf(t.Dtype)
		if !ok || !codeInfo[c].writable {
			return nil, fmt.Errorf("tensor %s: cannot write dtype %s (want F32, F64, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8 or BOOL)", quote(t.Name), quote(string(t.Dtype)))
		}
		for j, v := range t.Data {
			if !encodable(c, v) {
				return nil, fmt.Errorf("tensor %s: value %v at index %d is not a valid %s", quote(t.Name), v, j, codeInfo[c].name)
			}
		}
	}
	return sorted, nil
}

// encodeHeader builds the JSON header for tensors already sorted by name:
// the metadata first (keys sorted), then each tensor in data order, compact,
// padded with spaces to a multiple of 8 bytes.
func encodeHeader(sorted []Tensor, metadata map[string]string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		writeJSONString(&b, metadataKey)
		b.WriteString(":{")
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, metadata[k])
		}
		b.WriteByte('}')
		first = false
	}
	var off uint64
	for _, t := range sorted {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSONString(&b, t.Name)
		c, _ := codeOf(t.Dtype)
		b.WriteString(`:{"dtype":"`)
		b.WriteString(string(codeInfo[c].name))
		b.WriteString(`","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := off + codeInfo[c].size*uint64(len(t.Data))
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// writeJSONString appends s as a JSON string without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // cannot fail for a string
	b.Truncate(b.Len() - 1) // drop the newline Encode adds
}

// WriteFile writes tensors and metadata to path atomically (see package
// atomicfile): it writes a temporary file in the same directory, syncs it,
// renames it over path and syncs the directory. On any error the temporary
// file is removed and an existing file at path is left untouched; a
// temporary left by a writer that was killed is removed by the next
// WriteFile of the same path. The file is created with mode 0644.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	sorted, err := prepare(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		if err := write(w, sorted, metadata); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
