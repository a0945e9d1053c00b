package nn_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// The PyTorch interop fixtures in testdata were written by
// testdata/torch_interop.py (PyTorch 1.13) for the model below:
//
//	torch_state.safetensors  PyTorch's state_dict after three training
//	                         batches (num_batches_tracked is I64, = 3)
//	torch_io.safetensors     an input batch and the eval-mode output
//	torch_state_keys.json    every state_dict key with dtype and shape
//
// With SHOSHIN_TORCH_FIXTURE set to a directory,
// TestTorchInteropSaveLayout also writes go_state.safetensors and
// go_io.safetensors there, for
//
//	python3 nn/testdata/torch_interop.py check $SHOSHIN_TORCH_FIXTURE
//
// to load in PyTorch with strict=True and compare outputs.
const torchFixtureEnv = "SHOSHIN_TORCH_FIXTURE"

// interopModel is, with shoshin's own layers, PyTorch's
//
//	Sequential(Conv2d(3, 4, 3, padding=1), BatchNorm2d(4), ReLU(),
//	           MaxPool2d(2), Flatten(), Linear(64, 16), LayerNorm(16),
//	           ReLU(), Linear(16, 5))
func interopModel(seed uint64) *nn.Sequential {
	return nn.NewSequential(
		nn.NewConv2D(3, 4, 3, nn.WithPadding(1), nn.WithSeed(seed)),
		nn.NewBatchNorm2D(4),
		nn.NewReLU(),
		nn.NewMaxPool2D(2),
		nn.NewFlatten(),
		nn.NewDense(64, 16, nn.WithSeed(seed+1)),
		nn.NewLayerNorm(16),
		nn.NewReLU(),
		nn.NewDense(16, 5, nn.WithSeed(seed+2)),
	)
}

func forward(m nn.Module, x *tensor.Tensor) *tensor.Tensor {
	return m.Forward(autograd.Constant(x)).Value()
}

// torchKeys reads testdata/torch_state_keys.json: PyTorch's state_dict
// keys in its order, with dtype and shape.
func torchKeys(t *testing.T) []nn.NamedTensor {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "torch_state_keys.json"))
	require.NoError(t, err)
	var f struct {
		Keys []struct {
			Name  string
			Dtype string
			Shape []int
		}
	}
	require.NoError(t, json.Unmarshal(b, &f))
	out := make([]nn.NamedTensor, len(f.Keys))
	for i, k := range f.Keys {
		out[i] = nn.NamedTensor{Name: k.Name, Value: tensor.Zeros(k.Shape...), Dtype: nn.Dtype(k.Dtype)}
	}
	return out
}

// TestTorchInteropLoad loads the state_dict PyTorch saved (F32 tensors and
// an I64 num_batches_tracked) into the model built from our layers and
// checks, in evaluation mode, that it computes PyTorch's outputs.
func TestTorchInteropLoad(t *testing.T) {
	model := interopModel(1)
	meta, err := nn.LoadFileWithMetadata(filepath.Join("testdata", "torch_state.safetensors"), model)
	require.NoError(t, err)
	require.Equal(t, "pt", meta["format"])

	bn := model.Children()[1].(*nn.BatchNorm)
	require.Equal(t, []float32{3}, bn.NumBatchesTracked.Value().Data(), "num_batches_tracked, stored as I64")
	require.NotEqual(t, []float32{0, 0, 0, 0}, bn.RunningMean.Value().Data(), "running statistics loaded")

	io, _, err := nn.ReadTensorsFile(filepath.Join("testdata", "torch_io.safetensors"))
	require.NoError(t, err)
	require.Equal(t, "input", io[0].Name)
	require.Equal(t, "output", io[1].Name)
	nn.Eval(model)
	got := forward(model, io[0].Value)
	want := io[1].Value
	require.Equal(t, want.Shape(), got.Shape())
	var scale float32
	for _, v := range want.Data() {
		scale = max(scale, float32(math.Abs(float64(v))))
	}
	diff := tensor.MaxAbsDiff(got, want)
	t.Logf("PyTorch 1.13 state_dict in our layers: max |Go - PyTorch| = %.3g over %d outputs (largest |output| %.3g)", diff, want.Size(), scale)
	require.Less(t, diff, 1e-5*max(scale, 1), "float32 rounding only")
}

// TestTorchInteropFixtureDtypes checks that the committed PyTorch file
// holds what torch_state_keys.json lists, dtypes included, so that the
// load test above really reads an I64 tensor.
func TestTorchInteropFixtureDtypes(t *testing.T) {
	ts, _, err := nn.ReadTensorsFile(filepath.Join("testdata", "torch_state.safetensors"))
	require.NoError(t, err)
	requireSameLayout(t, torchKeys(t), ts)
}

// requireSameLayout checks that got has exactly want's names, dtypes and
// shapes, in any order.
func requireSameLayout(t *testing.T, want, got []nn.NamedTensor) {
	t.Helper()
	type layout struct {
		Dtype nn.Dtype
		Shape []int
	}
	index := func(ts []nn.NamedTensor) map[string]layout {
		m := map[string]layout{}
		for _, x := range ts {
			dtype := x.Dtype
			if dtype == "" {
				dtype = nn.Float32
			}
			m[x.Name] = layout{dtype, x.Value.Shape()}
		}
		return m
	}
	require.Equal(t, index(want), index(got))
}

// TestTorchInteropSaveLayout saves the model built from our layers and
// checks the file against PyTorch's own state_dict: the same names, the
// same shapes and the same dtypes, num_batches_tracked as I64, which is
// what load_state_dict(strict=True) needs to give an identical model.
func TestTorchInteropSaveLayout(t *testing.T) {
	model := interopModel(7)
	// Two training steps: running statistics and a count to save.
	r := rand.New(rand.NewPCG(3, 0))
	for range 2 {
		forward(model, tensor.RandN(r, 0.5, 2, 8, 3, 8, 8))
	}
	dir := os.Getenv(torchFixtureEnv)
	if dir == "" {
		dir = t.TempDir()
	} else {
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	path := filepath.Join(dir, "go_state.safetensors")
	require.NoError(t, nn.SaveFile(path, model))

	ts, meta, err := nn.ReadTensorsFile(path)
	require.NoError(t, err)
	require.Equal(t, "pt", meta["format"])
	requireSameLayout(t, torchKeys(t), ts)
	for _, x := range ts {
		if x.Name == "1.num_batches_tracked" {
			require.Equal(t, nn.Int64, x.Dtype)
			require.Equal(t, []float32{2}, x.Value.Data())
		}
	}

	// Back into a fresh model: the same outputs, the count included.
	nn.Eval(model)
	x := tensor.RandN(r, 0, 1, 6, 3, 8, 8)
	want := forward(model, x)
	loaded := interopModel(99)
	require.NoError(t, nn.LoadFile(path, loaded))
	nn.Eval(loaded)
	require.Equal(t, want.Data(), forward(loaded, x).Data())
	require.Equal(t, []float32{2}, loaded.Children()[1].(*nn.BatchNorm).NumBatchesTracked.Value().Data())

	if os.Getenv(torchFixtureEnv) != "" {
		require.NoError(t, nn.WriteTensorsFile(filepath.Join(dir, "go_io.safetensors"),
			[]nn.NamedTensor{{Name: "input", Value: x}, {Name: "output", Value: want}}, nil))
		t.Logf("wrote %s and go_io.safetensors; check them with python3 nn/testdata/torch_interop.py check %s", path, dir)
	}
}

// ExampleSave_dtypes shows the dtypes Save writes: PyTorch's, so the file
// loads with load_state_dict(strict=True). BatchNorm's num_batches_tracked
// is an integer there, so it is saved as I64.
func ExampleSave_dtypes() {
	model := nn.NewSequential(nn.NewDense(3, 2), nn.NewBatchNorm1D(2))
	var buf bytes.Buffer
	if err := nn.Save(&buf, model); err != nil {
		fmt.Println(err)
		return
	}
	ts, _, err := nn.ReadTensors(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range ts {
		fmt.Println(t.Name, t.Dtype, t.Value.Shape())
	}
	// Output:
	// 0.bias F32 [2]
	// 0.weight F32 [2 3]
	// 1.bias F32 [2]
	// 1.num_batches_tracked I64 []
	// 1.running_mean F32 [2]
	// 1.running_var F32 [2]
	// 1.weight F32 [2]
}
