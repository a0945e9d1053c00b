package nn

import (
	"fmt"
	"io"
	"maps"

	"github.com/shoshin-ml/shoshin/internal/safetensors"
	"github.com/shoshin-ml/shoshin/tensor"
)

// FormatKey is the metadata key that Save sets to FormatPyTorch, the value
// PyTorch's safetensors tooling expects for a state_dict.
const (
	FormatKey     = "format"
	FormatPyTorch = "pt"
)

// Save writes m's state (see StateDict) to w in the safetensors format
// (https://github.com/huggingface/safetensors): one little-endian tensor per
// entry, under its PyTorch-compatible name and with PyTorch's dtype (F32,
// except buffers PyTorch keeps as integers, such as BatchNorm's
// num_batches_tracked, stored as I64; see Param.Dtype), with the metadata
// entry "format" set to "pt". A model built here with the same structure as
// a PyTorch model therefore loads there with
//
//	from safetensors.torch import load_file
//	torch_model.load_state_dict(load_file("model.safetensors"), strict=True)
//
// and a PyTorch state_dict saved with safetensors.torch.save_file loads here
// with Load or LoadFile: F32, F64, F16 and BF16 tensors, integer ones (I64,
// I32, I16, I8, U64, U32, U16, U8) and BOOL are converted to float32, and a
// value float32 cannot hold exactly (an integer beyond 2^24 that it would
// round, a finite F64 beyond its range) is an error naming the tensor.
func Save(w io.Writer, m Module) error { return SaveWithMetadata(w, m, nil) }

// SaveWithMetadata is Save with extra string metadata stored in the file's
// header, for example the preprocessing a model expects
// ({"input_scale": "0.00392156862745098"}). The "format" key is always set
// to "pt"; passing another value for it is an error. LoadWithMetadata
// returns the metadata.
func SaveWithMetadata(w io.Writer, m Module, metadata map[string]string) error {
	ts, md, err := saveState(m, metadata)
	if err == nil {
		err = safetensors.Write(w, ts, md)
	}
	if err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	return nil
}

// SaveFile writes m's state to path in safetensors format, atomically: the
// data goes to a temporary file in the same directory, which is synced and
// then renamed over path, so a crash or an error never leaves a partial
// model at path, and no temporary file remains after an error. A temporary
// left by a process killed while saving is removed by the next save to the
// same path.
func SaveFile(path string, m Module) error { return SaveFileWithMetadata(path, m, nil) }

// SaveFileWithMetadata is SaveFile with extra metadata; see
// SaveWithMetadata.
func SaveFileWithMetadata(path string, m Module, metadata map[string]string) error {
	ts, md, err := saveState(m, metadata)
	if err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	if err := safetensors.WriteFile(path, ts, md); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	return nil
}

// saveState collects m's state as safetensors tensors (sharing the model's
// data) and the metadata to store with it.
func saveState(m Module, metadata map[string]string) ([]safetensors.Tensor, map[string]string, error) {
	if v, ok := metadata[FormatKey]; ok && v != FormatPyTorch {
		return nil, nil, fmt.Errorf("metadata %q is reserved for %q, got %q", FormatKey, FormatPyTorch, v)
	}
	params := collect(m)
	if err := duplicateNames(params); err != nil {
		return nil, nil, err
	}
	ts := make([]safetensors.Tensor, len(params))
	for i, p := range params {
		v := p.Value()
		ts[i] = safetensors.Tensor{Name: p.Name, Shape: v.Shape(), Data: v.Data(), Dtype: safetensors.Dtype(p.Dtype)}
	}
	md := make(map[string]string, len(metadata)+1)
	maps.Copy(md, metadata)
	md[FormatKey] = FormatPyTorch
	return ts, md, nil
}

// Load reads a safetensors stream written by Save (or by PyTorch's
// safetensors.torch.save_file) and copies it into m; see LoadStateDict for
// the checks. On any error m is left unchanged.
func Load(r io.Reader, m Module) error {
	_, err := LoadWithMetadata(r, m)
	return err
}

// LoadWithMetadata is Load that also returns the file's metadata.
func LoadWithMetadata(r io.Reader, m Module) (map[string]string, error) {
	ts, md, err := safetensors.Read(r)
	if err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	if err := loadState(m, toNamed(ts), "file"); err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	return md, nil
}

// LoadFile reads the safetensors file at path into m; see Load. Errors name
// the file, for example
//
//	nn: load model.safetensors: missing [2.bias]; shape mismatch 0.weight: file [128 784], model [784 128]
func LoadFile(path string, m Module) error {
	_, err := LoadFileWithMetadata(path, m)
	return err
}

// LoadFileWithMetadata is LoadFile that also returns the file's metadata.
func LoadFileWithMetadata(path string, m Module) (map[string]string, error) {
	ts, md, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	if err := loadState(m, toNamed(ts), "file"); err != nil {
		return nil, fmt.Errorf("nn: load %s: %w", path, err)
	}
	return md, nil
}

// WriteTensors writes named tensors and metadata to w in safetensors
// format, sorted by name, each as its Dtype (Float32 when empty). It is the
// format Save uses, offered for other state such as an optimizer's moments.
// Names must be unique and non-empty, and values must fit their Dtype.
func WriteTensors(w io.Writer, ts []NamedTensor, metadata map[string]string) error {
	st, err := fromNamed(ts)
	if err == nil {
		err = safetensors.Write(w, st, metadata)
	}
	if err != nil {
		return fmt.Errorf("nn: write tensors: %w", err)
	}
	return nil
}

// WriteTensorsFile writes named tensors to path atomically, like SaveFile.
func WriteTensorsFile(path string, ts []NamedTensor, metadata map[string]string) error {
	st, err := fromNamed(ts)
	if err != nil {
		return fmt.Errorf("nn: write tensors %s: %w", path, err)
	}
	if err := safetensors.WriteFile(path, st, metadata); err != nil {
		return fmt.Errorf("nn: write tensors: %w", err)
	}
	return nil
}

// ReadTensors reads a safetensors stream and returns its tensors, sorted by
// name, each with the Dtype it had in the stream, and its metadata (nil
// when there is none).
func ReadTensors(r io.Reader) ([]NamedTensor, map[string]string, error) {
	ts, md, err := safetensors.Read(r)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: read tensors: %w", err)
	}
	return toNamed(ts), md, nil
}

// ReadTensorsFile reads the safetensors file at path; errors name the file.
func ReadTensorsFile(path string) ([]NamedTensor, map[string]string, error) {
	ts, md, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: read tensors: %w", err)
	}
	return toNamed(ts), md, nil
}

func toNamed(ts []safetensors.Tensor) []NamedTensor {
	out := make([]NamedTensor, len(ts))
	for i, t := range ts {
		out[i] = NamedTensor{Name: t.Name, Value: tensor.New(t.Data, t.Shape...), Dtype: Dtype(t.Dtype)}
	}
	return out
}

func fromNamed(ts []NamedTensor) ([]safetensors.Tensor, error) {
	out := make([]safetensors.Tensor, len(ts))
	for i, t := range ts {
		if t.Value == nil {
			return nil, fmt.Errorf("tensor %q has no value", t.Name)
		}
		out[i] = safetensors.Tensor{Name: t.Name, Shape: t.Value.Shape(), Data: t.Value.Data(), Dtype: safetensors.Dtype(t.Dtype)}
	}
	return out, nil
}
