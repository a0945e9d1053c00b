package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Tensor is one named float32 tensor: its shape and its row-major values.
// An empty (or nil) Shape denotes a scalar holding one value.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// metadataKey is the reserved header key holding the string-to-string
// metadata map.
const metadataKey = "__metadata__"

// Write writes tensors and metadata to w in safetensors format. Tensors are
// stored as F32, sorted by name and packed without gaps; the header is
// padded with spaces to a multiple of 8 bytes. The tensors slice itself is
// not reordered. Write returns an error, before writing anything, when a
// name is empty, not valid UTF-8, reserved ("__metadata__") or repeated, or
// when a shape has a negative dimension or disagrees with len(Data).
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
		for _, v := range t.Data {
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("write tensor %q: %w", t.Name, err)
				}
				buf = buf[:0]
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
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
			return nil, fmt.Errorf("metadata %q: %q: not valid UTF-8", k, v)
		}
	}
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	for i, t := range sorted {
		switch {
		case t.Name == "":
			return nil, errors.New("tensor with an empty name")
		case !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
		case t.Name == metadataKey:
			return nil, fmt.Errorf("tensor name %q is reserved for metadata", t.Name)
		case i > 0 && sorted[i-1].Name == t.Name:
			return nil, fmt.Errorf("two tensors named %q", t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			if d != 0 && n > math.MaxInt/d {
				return nil, fmt.Errorf("tensor %q: shape %v overflows", t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensor %q: shape %v needs %d values, got %d", t.Name, t.Shape, n, len(t.Data))
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
		b.WriteString(`:{"dtype":"F32","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := off + 4*uint64(len(t.Data))
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

// WriteFile writes tensors and metadata to path atomically: it writes a
// temporary file in the same directory, syncs it, renames it over path and
// syncs the directory. On any error the temporary file is removed and an
// existing file at path is left untouched. The file is created with mode
// 0644.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	sorted, err := prepare(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close() // may already be closed; the first error matters
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err = write(bw, sorted, metadata); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		// The file is in place; only its durability is in doubt.
		return fmt.Errorf("safetensors: write %s: sync directory: %w", path, err)
	}
	return nil
}

// syncDir flushes a directory entry to disk where the platform supports it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return serr
	}
	return cerr
}
