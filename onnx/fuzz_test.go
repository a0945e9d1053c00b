package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// allocBound is the most Decode may allocate for an input of n bytes:
// a small multiple of the input plus a constant.
func allocBound(n int) uint64 { return uint64(64*n) + 4<<20 }

// decodeAlloc decodes b and returns the bytes allocated meanwhile.
func decodeAlloc(b []byte) (*Model, uint64, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := Decode(bytes.NewReader(b))
	runtime.ReadMemStats(&after)
	return m, after.TotalAlloc - before.TotalAlloc, err
}

// FuzzDecode feeds arbitrary bytes to Decode: it must return a model or an
// error, never panic, and allocate in proportion to the input. A model
// that decodes is run once on a small input, which must not panic either.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"mlp", "ops", "bncnn"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".onnx"))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add(modelPB(13,
		input(valueInfoPB("x", dtFloat, -1, 2)),
		initializer(int64TensorPB("s", []int64{2}, []int64{1, -1})),
		node(nodePB("Reshape", "r", []string{"x", "s"}, []string{"y"})),
		output(valueInfoPB("y", dtFloat, 1, -1))))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, alloc, err := decodeAlloc(b)
		if alloc > allocBound(len(b)) {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(b), alloc)
		}
		if err != nil {
			return
		}
		ins := map[string]*autograd.Var{}
		for _, in := range m.Inputs() {
			shape := make([]int, len(in.Shape))
			for i, d := range in.Shape {
				shape[i] = max(1, min(d, 64))
			}
			if prod(shape) > 1<<16 {
				return
			}
			ins[in.Name] = autograd.NoGrad(tensor.Zeros(shape...))
		}
		_, _ = m.Run(ins) // errors are fine; panics fail the fuzzer
	})
}

// TestHostileInputs checks inputs built to exhaust memory or the stack:
// lengths claiming gigabytes, tensors claiming 2⁶² elements, graphs nested
// deeper than maxDepth, and truncation at every byte of a real model.
func TestHostileInputs(t *testing.T) {
	huge := protowire.AppendTag(nil, 7, protowire.BytesType)
	huge = protowire.AppendVarint(huge, 1<<40)
	huge = append(huge, make([]byte, 100)...)
	_, alloc, err := decodeAlloc(huge)
	require.ErrorContains(t, err, "malformed protobuf at byte 1 (in ModelProto): field 7")
	require.Less(t, alloc, allocBound(len(huge)))

	big := modelPB(13,
		input(valueInfoPB("x", dtFloat, 2)),
		initializer(tensorPB("w", []int64{1 << 31, 1 << 31}, nil)),
		output(valueInfoPB("x", dtFloat, 2)))
	_, alloc, err = decodeAlloc(big)
	require.ErrorContains(t, err, "hold more than")
	require.Less(t, alloc, allocBound(len(big)))

	// A node whose attribute holds a graph whose node holds a graph ...
	g := pb{}.str(2, "leaf")
	for range maxDepth + 2 {
		n := nodePB("If", "n", nil, nil, pb{}.str(1, "then_branch").varint(20, atGraph).msg(6, g))
		g = pb{}.msg(1, n)
	}
	deep := pb{}.msg(8, pb{}.varint(2, 13)).msg(7, g)
	_, err = Decode(bytes.NewReader(deep))
	require.ErrorContains(t, err, "nested more than")

	// A packed field of a million varints allocates about 8 bytes each.
	packed := pb{}.varint(1, 1).varint(2, dtInt64).msg(7, bytes.Repeat([]byte{1}, 1<<20))
	m := modelPB(13, initializer(packed), output(valueInfoPB("x", dtFloat, 2)))
	_, alloc, err = decodeAlloc(m)
	require.ErrorContains(t, err, "needs 1 elements, has 1048576")
	require.Less(t, alloc, allocBound(len(m)))

	b, err := os.ReadFile(filepath.Join("testdata", "ops.onnx"))
	require.NoError(t, err)
	for n := range len(b) {
		_, _ = Decode(bytes.NewReader(b[:n]))
	}
}
