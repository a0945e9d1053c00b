package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// externalReader reads initializers stored outside the model file, from
// files confined to the model's folder.
type externalReader struct {
	dir  string
	root *os.Root
}

func (e *externalReader) close() {
	if e.root != nil {
		e.root.Close()
	}
}

// initializerValue converts an initializer, reading its external data
// when it has some.
func initializerValue(t *tensorProto, ext *externalReader) (value, error) {
	if t.dataLocation != 1 {
		return tensorValue(t, nil, false)
	}
	if ext == nil {
		return value{}, errors.New("its data is in an external file; load the model with onnx.Load from its folder")
	}
	raw, err := ext.read(t)
	if err != nil {
		return value{}, err
	}
	return tensorValue(t, raw, true)
}

// widths gives the bytes per element of the types read from external data.
var widths = map[int32]int64{dtFloat: 4, dtDouble: 8, dtInt64: 8, dtInt32: 4, dtBool: 1, dtUint8: 1, dtInt8: 1}

func (e *externalReader) read(t *tensorProto) ([]byte, error) {
	var loc string
	var off, length int64 = 0, -1
	for _, kv := range t.external {
		var err error
		switch kv.key {
		case "location":
			loc = kv.value
		case "offset":
			off, err = strconv.ParseInt(kv.value, 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.value, 10, 64)
		case "checksum":
		default:
			return nil, fmt.Errorf("external data key %q is not supported", kv.key)
		}
		if err != nil || off < 0 {
			return nil, fmt.Errorf("external data %s %q is not a non-negative integer", kv.key, kv.value)
		}
	}
	if loc == "" {
		return nil, errors.New("external data without a location")
	}
	if !filepath.IsLocal(loc) {
		return nil, fmt.Errorf("external data location %q leaves the model's folder (absolute or with ..)", loc)
	}
	w, ok := widths[t.dataType]
	if !ok {
		return nil, fmt.Errorf("element type %s is not supported", dtypeName(t.dataType))
	}
	n := size(t.dims, maxElements)
	if n < 0 {
		return nil, fmt.Errorf("dims %v are negative or hold more than %d elements", t.dims, maxElements)
	}
	want := n * w
	if length >= 0 && length != want {
		return nil, fmt.Errorf("external data %q: length %d, but dims %v of %s need %d bytes", loc, length, t.dims, dtypeName(t.dataType), want)
	}
	if e.root == nil {
		r, err := os.OpenRoot(e.dir)
		if err != nil {
			return nil, err
		}
		e.root = r
	}
	f, err := e.root.Open(filepath.ToSlash(loc))
	if err != nil {
		return nil, fmt.Errorf("external data: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if off > st.Size() || st.Size()-off < want {
		return nil, fmt.Errorf("external data %q: %d bytes at offset %d needed, the file has %d bytes", loc, want, off, st.Size())
	}
	buf := make([]byte, want)
	if _, err := f.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && want == 0) {
		return nil, fmt.Errorf("external data %q: %w", loc, err)
	}
	return buf, nil
}
