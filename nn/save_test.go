package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

func bitsOf(xs []float32) []uint32 {
	out := make([]uint32, len(xs))
	for i, x := range xs {
		out[i] = math.Float32bits(x)
	}
	return out
}

func TestSaveLoadRoundTrip(t *testing.T) {
	src := newStubModel(1, 6, 5, 3)
	// Values that must survive bit for bit.
	w := src[0].(*stubDense).weight.Value().Data()
	copy(w, []float32{float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc01234), math.SmallestNonzeroFloat32, math.MaxFloat32})

	var buf bytes.Buffer
	require.NoError(t, Save(&buf, src))

	dst := newStubModel(2, 6, 5, 3)
	require.NoError(t, Load(bytes.NewReader(buf.Bytes()), dst))
	requireSameState(t, src, dst)

	// Saving the loaded model reproduces the same bytes.
	var again bytes.Buffer
	require.NoError(t, Save(&again, dst))
	require.Equal(t, buf.Bytes(), again.Bytes())
}

func TestSaveFileLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	src := newStubModel(1, 8, 4, 2)
	meta := map[string]string{"input_scale": "0.00392156862745098", "classes": "10"}
	require.NoError(t, SaveFileWithMetadata(path, src, meta))

	dst := newStubModel(2, 8, 4, 2)
	got, err := LoadFileWithMetadata(path, dst)
	require.NoError(t, err)
	requireSameState(t, src, dst)
	require.Equal(t, map[string]string{"format": "pt", "input_scale": "0.00392156862745098", "classes": "10"}, got)
	require.Len(t, meta, 2, "caller's metadata map is not modified")

	require.NoError(t, SaveFile(path, src))
	dst = newStubModel(3, 8, 4, 2)
	require.NoError(t, LoadFile(path, dst))
	requireSameState(t, src, dst)
}

func TestSaveRejectsForeignFormat(t *testing.T) {
	var buf bytes.Buffer
	err := SaveWithMetadata(&buf, newStubModel(1, 2, 2, 2), map[string]string{"format": "tf"})
	require.EqualError(t, err, `nn: save: metadata "format" is reserved for "pt", got "tf"`)
	require.Zero(t, buf.Len())
	require.NoError(t, SaveWithMetadata(&buf, newStubModel(1, 2, 2, 2), map[string]string{"format": "pt"}))
}

// TestSaveLayout parses the file with encoding/binary and encoding/json
// alone, to check that it follows the safetensors layout.
func TestSaveLayout(t *testing.T) {
	m := newStubModel(1, 3, 2, 2)
	var buf bytes.Buffer
	require.NoError(t, SaveWithMetadata(&buf, m, map[string]string{"note": "hi"}))
	b := buf.Bytes()

	n := binary.LittleEndian.Uint64(b[:8])
	require.Zero(t, n%8, "header padded to a multiple of 8")
	header := b[8 : 8+n]
	data := b[8+n:]
	trimmed := bytes.TrimRight(header, " ")
	require.Less(t, len(header)-len(trimmed), 8, "padding is spaces, fewer than 8")
	require.Equal(t, byte('}'), trimmed[len(trimmed)-1])

	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(header, &raw))
	var meta map[string]string
	require.NoError(t, json.Unmarshal(raw["__metadata__"], &meta))
	require.Equal(t, map[string]string{"format": "pt", "note": "hi"}, meta)
	delete(raw, "__metadata__")

	type info struct {
		Dtype       string   `json:"dtype"`
		Shape       []int    `json:"shape"`
		DataOffsets []uint64 `json:"data_offsets"`
	}
	state := StateDict(m)
	require.Len(t, raw, len(state))
	var next uint64
	for _, nt := range state { // sorted by name = data order
		var in info
		require.NoError(t, json.Unmarshal(raw[nt.Name], &in), nt.Name)
		require.Equal(t, "F32", in.Dtype)
		require.Equal(t, nt.Value.Shape(), in.Shape)
		require.Equal(t, []uint64{next, next + 4*uint64(nt.Value.Size())}, in.DataOffsets, nt.Name)
		for i, v := range nt.Value.Data() {
			require.Equal(t, math.Float32bits(v), binary.LittleEndian.Uint32(data[next+4*uint64(i):]), "%s[%d]", nt.Name, i)
		}
		next = in.DataOffsets[1]
	}
	require.Equal(t, uint64(len(data)), next, "no trailing bytes")

	// Key order in the header: metadata first, then tensors by name.
	require.True(t, bytes.HasPrefix(header, []byte(`{"__metadata__":{"format":"pt","note":"hi"},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"0.weight":`)), string(header))
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	src := stubSeq{newStubDense("0.", 784, 128, rand.New(rand.NewPCG(1, 0))), stubReLU{}, newStubDense("2.", 128, 10, rand.New(rand.NewPCG(2, 0)))}
	path := filepath.Join(dir, "model.safetensors")
	require.NoError(t, SaveFile(path, src))

	r := rand.New(rand.NewPCG(3, 0))
	wrong := stubSeq{
		&stubDense{ // transposed weight, no bias
			weight: &Param{Var: autograd.NewVar(tensor.Zeros(784, 128)), Name: "0.weight"},
			bias:   &Param{Var: autograd.NewVar(tensor.Zeros(128)), Name: "0.bias"},
		},
		stubReLU{},
		newStubDense("2.", 128, 10, r),
		newStubDense("3.", 10, 10, r),
	}
	wrong[2].(*stubDense).bias.Name = "2.bias_renamed"
	err := LoadFile(path, wrong)
	require.EqualError(t, err, "nn: load "+path+": missing [2.bias_renamed 3.bias 3.weight]; unexpected [2.bias]; shape mismatch 0.weight: file [128 784], model [784 128]")
	require.Zero(t, wrong[0].(*stubDense).weight.Value().Data()[0], "nothing loaded after an error")

	// Via Load: the same message without the file name.
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	err = Load(f, wrong)
	require.ErrorContains(t, err, "nn: load: missing [2.bias_renamed 3.bias 3.weight]; unexpected [2.bias]")

	// A missing file.
	missing := filepath.Join(dir, "absent.safetensors")
	err = LoadFile(missing, src)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, missing)

	// Garbage and truncated files name the path and what is wrong.
	garbage := filepath.Join(dir, "garbage.safetensors")
	require.NoError(t, os.WriteFile(garbage, []byte("this is not a model at all"), 0o644))
	err = LoadFile(garbage, src)
	require.ErrorContains(t, err, garbage)
	require.ErrorContains(t, err, "exceeds")

	good, err := os.ReadFile(path)
	require.NoError(t, err)
	truncated := filepath.Join(dir, "truncated.safetensors")
	require.NoError(t, os.WriteFile(truncated, good[:len(good)-10], 0o644))
	err = LoadFile(truncated, src)
	require.ErrorContains(t, err, truncated)
	require.ErrorContains(t, err, `tensor "2.weight"`)
	require.ErrorContains(t, err, "run past")

	_, err = LoadFileWithMetadata(truncated, src)
	require.ErrorContains(t, err, truncated)
	_, _, err = ReadTensorsFile(garbage)
	require.ErrorContains(t, err, garbage)
}

func TestSaveFileLeavesNoTempFile(t *testing.T) {
	m := newStubModel(1, 4, 3, 2)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	require.NoError(t, SaveFile(path, m))
	require.NoError(t, SaveFile(path, m)) // overwrite
	requireDirHolds(t, dir, "model.safetensors")

	// A directory that does not exist.
	err := SaveFile(filepath.Join(dir, "no", "such", "dir", "m.safetensors"), m)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, filepath.Join(dir, "no", "such", "dir", "m.safetensors"))
	requireDirHolds(t, dir, "model.safetensors")

	// A failure after the data has been written: the target is a
	// non-empty directory, so the final rename fails.
	sub := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(sub, "model.safetensors", "x"), 0o755))
	err = SaveFile(filepath.Join(sub, "model.safetensors"), m)
	require.Error(t, err)
	requireDirHolds(t, sub, "model.safetensors")

	// A model with two tensors under one name fails before writing.
	bad := stubSeq{newStubDense("0.", 2, 2, rand.New(rand.NewPCG(1, 0))), newStubDense("0.", 2, 2, rand.New(rand.NewPCG(1, 0)))}
	err = SaveFile(filepath.Join(sub, "bad.safetensors"), bad)
	require.ErrorContains(t, err, "several tensors named [0.bias 0.weight]")
	requireDirHolds(t, sub, "model.safetensors")

	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		ro := t.TempDir()
		require.NoError(t, os.Chmod(ro, 0o555))
		t.Cleanup(func() { _ = os.Chmod(ro, 0o755) })
		err = SaveFile(filepath.Join(ro, "m.safetensors"), m)
		require.ErrorIs(t, err, fs.ErrPermission)
		requireDirHolds(t, ro)
	}
}

// TestSaveFileRemovesStaleTemporaries checks that SaveFile writes through
// internal/atomicfile, which removes what a killed save left behind (here a
// temporary unmodified for longer than atomicfile.StaleAge; its tests cover
// dead processes) and leaves other files alone.
func TestSaveFileRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".model.safetensors.tmp-0badc0de-1234567-42")
	other := filepath.Join(dir, ".other.safetensors.tmp-0badc0de-1234567-42")
	for _, p := range []string{stale, other} {
		require.NoError(t, os.WriteFile(p, []byte("partial"), 0o600))
		old := time.Now().Add(-48 * time.Hour)
		require.NoError(t, os.Chtimes(p, old, old))
	}
	require.NoError(t, SaveFile(filepath.Join(dir, "model.safetensors"), newStubModel(1, 4, 3, 2)))
	requireDirHolds(t, dir, ".other.safetensors.tmp-0badc0de-1234567-42", "model.safetensors")
}

func requireDirHolds(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	got := []string{}
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if want == nil {
		want = []string{}
	}
	require.Equal(t, want, got)
}

func TestWriteReadTensors(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 0))
	ts := []NamedTensor{
		{Name: "step", Value: tensor.Scalar(12), Dtype: Int64},
		{Name: "m.0.weight", Value: tensor.RandN(r, 0, 1, 3, 2), Dtype: Float32},
		{Name: "v.0.weight", Value: tensor.RandN(r, 0, 1, 3, 2), Dtype: Float64},
	}
	meta := map[string]string{"optimizer": "adam", "lr": "0.001"}

	var buf bytes.Buffer
	require.NoError(t, WriteTensors(&buf, ts, meta))
	got, gotMeta, err := ReadTensors(&buf)
	require.NoError(t, err)
	require.Equal(t, meta, gotMeta)
	want := slices.Clone(ts)
	slices.SortFunc(want, func(a, b NamedTensor) int { return strings.Compare(a.Name, b.Name) })
	require.Equal(t, want, got)

	path := filepath.Join(t.TempDir(), "opt.safetensors")
	require.NoError(t, WriteTensorsFile(path, ts, nil))
	got, gotMeta, err = ReadTensorsFile(path)
	require.NoError(t, err)
	require.Nil(t, gotMeta)
	require.Equal(t, want, got)

	require.ErrorContains(t, WriteTensors(&buf, []NamedTensor{{Name: "x"}}, nil), `nn: write tensors: tensor "x" has no value`)
	require.ErrorContains(t, WriteTensors(&buf, []NamedTensor{ts[0], ts[0]}, nil), `two tensors named "step"`)
	require.ErrorContains(t, WriteTensors(&buf, []NamedTensor{{Name: "step", Value: tensor.Scalar(1.5), Dtype: Int64}}, nil),
		`tensor "step": value 1.5 at index 0 is not a valid I64`)
	err = WriteTensorsFile(filepath.Join(t.TempDir(), "missing", "x"), ts, nil)
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, _, err = ReadTensors(bytes.NewReader([]byte{1, 2}))
	require.ErrorContains(t, err, "nn: read tensors: safetensors: input is 2 bytes, too short")
}

// exampleModel is a tiny two-layer model for the examples.
func exampleModel(seed uint64) Module {
	r := rand.New(rand.NewPCG(seed, 0))
	return stubSeq{newStubDense("0.", 4, 3, r), stubReLU{}, newStubDense("2.", 3, 2, r)}
}

func ExampleSave() {
	model := exampleModel(1)
	var buf bytes.Buffer // or an *os.File; SaveFile writes a file atomically
	if err := Save(&buf, model); err != nil {
		fmt.Println(err)
		return
	}

	fresh := exampleModel(2) // same architecture, different weights
	if err := Load(&buf, fresh); err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range StateDict(fresh) {
		fmt.Println(t.Name, t.Value.Shape())
	}
	// Output:
	// 0.bias [3]
	// 0.weight [3 4]
	// 2.bias [2]
	// 2.weight [2 3]
}

func ExampleLoadFile() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	err := SaveFileWithMetadata(path, exampleModel(1), map[string]string{"input_scale": "0.00392156862745098"})
	if err != nil {
		fmt.Println(err)
		return
	}
	meta, err := LoadFileWithMetadata(path, exampleModel(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(meta["format"], meta["input_scale"])

	// A model of another shape is refused, with every difference listed.
	r := rand.New(rand.NewPCG(3, 0))
	other := stubSeq{newStubDense("0.", 5, 3, r), stubReLU{}, newStubDense("2.", 3, 2, r)}
	err = LoadFile(path, other)
	fmt.Println(err != nil)
	// Output:
	// pt 0.00392156862745098
	// true
}
