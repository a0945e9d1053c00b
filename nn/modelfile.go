package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/shoshin-ml/shoshin/internal/safetensors"
	"github.com/shoshin-ml/shoshin/tensor"
)

// ModelKey is the safetensors metadata key under which SaveModel stores a
// model's description: its architecture and ModelInfo, as JSON (see
// ModelVersion for the schema).
const ModelKey = "shoshin.model"

// ModelVersion is the version of the model description schema that
// SaveModel writes. LoadModel reads versions 1 to ModelVersion and rejects
// others. Version 1 is the JSON object
//
//	{
//	  "version": 1,
//	  "model": {"kind": "Sequential", "layers": [
//	    {"kind": "Dense", "config": {"in": 784, "out": 128, "activation": "ReLU"}},
//	    {"kind": "Dropout", "config": {"p": 0.2}},
//	    {"kind": "Dense", "config": {"in": 128, "out": 10}}
//	  ]},
//	  "input_shape": [784],
//	  "class_names": ["0", "1", ...],
//	  "extras": {"standardizer": {...}}
//	}
//
// where "model" is a LayerSpec: a layer kind registered with RegisterLayer
// or RegisterContainer (the built-in kinds are listed by LayerKinds), its
// configuration, which only that kind interprets, and, for containers, the
// specs of its children in order. The weights are the file's tensors, under
// the names StateDict gives the rebuilt model. Fields a version does not
// define are rejected, as are configuration fields a layer does not know.
const ModelVersion = 1

// ModelInfo is what a program needs to use a model besides its layers; it
// is saved with the model by SaveModel and returned by LoadModel.
type ModelInfo struct {
	// InputShape is the shape of one input sample, without the batch axis:
	// [784] for a flattened MNIST digit, [1, 28, 28] for a CNN's input.
	InputShape []int `json:"input_shape,omitempty"`
	// ClassNames names the model's outputs, in order, for classifiers.
	ClassNames []string `json:"class_names,omitempty"`
	// Extras holds further named JSON values: fitted preprocessing (a
	// data.Standardizer or data.MinMaxScaler marshals itself to JSON), a
	// tokenizer, a description. nn does not interpret them; see SetExtra
	// and Extra.
	Extras map[string]json.RawMessage `json:"extras,omitempty"`
}

// Names of the extras that programs serving models look for, so that a
// trainer and a server agree on them without configuration. Each holds the
// JSON the named type marshals itself to.
const (
	ExtraStandardizer = "standardizer"  // a fitted *data.Standardizer, applied to inputs before the model
	ExtraMinMaxScaler = "minmax_scaler" // a fitted *data.MinMaxScaler, applied to inputs before the model
	ExtraTokenizer    = "tokenizer"     // a language model's tokenizer (data/text)
)

// SetExtra stores v, marshalled to JSON, as the extra named name. Any
// value encoding/json can marshal will do, including the data package's
// fitted scalers:
//
//	info.SetExtra(nn.ExtraStandardizer, std) // std is a fitted *data.Standardizer
func (i *ModelInfo) SetExtra(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("nn: extra %q: %w", name, err)
	}
	if i.Extras == nil {
		i.Extras = make(map[string]json.RawMessage)
	}
	i.Extras[name] = b
	return nil
}

// Extra unmarshals the extra named name into v, which must be a pointer,
// and reports whether it was present. A loaded model's preprocessing comes
// back with
//
//	var std data.Standardizer
//	ok, err := info.Extra(nn.ExtraStandardizer, &std)
func (i ModelInfo) Extra(name string, v any) (bool, error) {
	b, ok := i.Extras[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("nn: extra %q: %w", name, err)
	}
	return true, nil
}

// Limits on a model description, so that a hostile file cannot make the
// loader recurse deeply, loop long or allocate without bound.
const (
	maxSpecDepth   = 64
	maxSpecLayers  = 1 << 20
	maxInputRank   = 16
	maxDimSize     = 1<<31 - 1
	maxDerivedVals = 1 << 24 // values a model may allocate beyond its saved tensors (sinusoidal tables): 64 MB
)

// modelDoc is the JSON stored under ModelKey.
type modelDoc struct {
	Version int       `json:"version"`
	Model   LayerSpec `json:"model"`
	ModelInfo
}

// SaveModel writes m and info to path as one self-describing safetensors
// file, atomically (see SaveFile): the weights under their PyTorch names,
// exactly as SaveFile writes them, and under ModelKey in the metadata the
// architecture (see DescribeModel) and info. LoadModel rebuilds the model
// from the file alone, with no code of the caller's:
//
//	err := nn.SaveModel("mnist.safetensors", model, nn.ModelInfo{InputShape: []int{784}, ClassNames: digits})
//	...
//	model, info, err := nn.LoadModel("mnist.safetensors")
//
// Every layer of m must describe itself (see Configurer); SaveModel checks
// that the description is one LoadModel accepts. Dropout generators and
// other random state are not saved: a loaded model draws fresh ones from
// the package's default source.
func SaveModel(path string, m Module, info ModelInfo) error {
	ts, md, err := modelState(m, info)
	if err != nil {
		return fmt.Errorf("nn: save model %s: %w", path, err)
	}
	if err := safetensors.WriteFile(path, ts, md); err != nil {
		return fmt.Errorf("nn: save model: %w", err)
	}
	return nil
}

// WriteModel writes m and info to w in the format of SaveModel.
func WriteModel(w io.Writer, m Module, info ModelInfo) error {
	ts, md, err := modelState(m, info)
	if err == nil {
		err = safetensors.Write(w, ts, md)
	}
	if err != nil {
		return fmt.Errorf("nn: write model: %w", err)
	}
	return nil
}

func modelState(m Module, info ModelInfo) ([]safetensors.Tensor, map[string]string, error) {
	if m == nil {
		return nil, nil, errors.New("nil model")
	}
	spec, err := DescribeModel(m)
	if err != nil {
		return nil, nil, err
	}
	doc := modelDoc{Version: ModelVersion, Model: spec, ModelInfo: info}
	if err := checkInfo(info); err != nil {
		return nil, nil, err
	}
	if _, err := planModel(doc.Model, -1); err != nil {
		return nil, nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("model description: %w", err)
	}
	return saveState(m, map[string]string{ModelKey: string(b)})
}

// LoadModel reads a file written by SaveModel and returns the model it
// describes, with its weights, and its ModelInfo. It needs no code of the
// caller's for the built-in layers (see LayerKinds); a user's layers load
// once their kinds are registered (RegisterLayer, RegisterContainer).
//
// The file is checked before anything is built: the schema version, the
// layer kinds (an error lists every unknown one), each layer's
// configuration (positive sizes, probabilities in range, ...), and the
// number of values the architecture would allocate, which may not exceed
// the values the file actually holds, so a small hostile file cannot make
// the loader allocate gigabytes. The weights must then match the rebuilt
// model by name and shape, as for LoadFile. Errors name the file and the
// layer, such as
//
//	nn: load model m.safetensors: model.layers[2] (Dense): out must be at least 1, got 0
//
// Once the weights are in, StateLoaded is called on every layer that
// implements StateLoader (a quantised layer packs its int8 weights there).
// The model is returned in training mode, like a freshly built one; its
// weights share one buffer holding the file. Prediction needs no Eval (see
// Moder). MapModel loads large files without reading them into memory.
func LoadModel(path string) (Module, ModelInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("nn: load model: %w", err)
	}
	m, info, _, err := decodeModel(b)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("nn: load model %s: %w", path, err)
	}
	return m, info, nil
}

// ReadModel reads a model written by WriteModel or SaveModel from r; see
// LoadModel. Memory use follows the bytes read.
func ReadModel(r io.Reader) (Module, ModelInfo, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("nn: read model: %w", err)
	}
	m, info, _, err := decodeModel(b)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("nn: read model: %w", err)
	}
	return m, info, nil
}

// MappedModel is a model loaded by MapModel.
type MappedModel struct {
	Model Module
	Info  ModelInfo
	// Views is the number of the model's tensors that are views of the
	// mapped file rather than copies: every F32 tensor of a file written
	// by SaveModel, on little-endian machines that map files; 0 where
	// MapModel had to read the file.
	Views int
	unmap func() error
}

// Close releases the mapping. The model must not be used afterwards: its
// weights are gone (using them faults). Close does nothing for a model
// that was read rather than mapped, and may be called more than once.
func (m *MappedModel) Close() error {
	if m.unmap == nil {
		return nil
	}
	f := m.unmap
	m.unmap, m.Model = nil, nil
	return f()
}

// MapModel loads a model like LoadModel but maps the file into memory
// instead of reading it, so that loading takes time and memory in
// proportion to the description, not the weights: the weights are views
// of the mapping, paged in from the operating system's file cache on first
// use and shared by every process that maps the same file.
//
// The mapping is private and copy-on-write: a write into a weight, such as
// an optimizer step when the model is trained further, copies the touched
// page into the process's own memory and never reaches the file, so a
// mapped model may be trained like any other (its resident memory then
// grows to what a read model takes). A tensor whose data is not aligned
// for float32 in the file, and any tensor that is not F32, is copied.
//
// The model lives as long as the mapping: call Close when done with it,
// and not before. On platforms without memory mapping (js/wasm, windows,
// ...) MapModel reads the file as LoadModel does; Close then does nothing.
func MapModel(path string) (*MappedModel, error) {
	if !canMap {
		m, info, err := LoadModel(path)
		if err != nil {
			return nil, err
		}
		return &MappedModel{Model: m, Info: info}, nil
	}
	b, unmap, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: map model: %w", err)
	}
	m, info, views, err := decodeModel(b)
	if err != nil {
		_ = unmap()
		return nil, fmt.Errorf("nn: map model %s: %w", path, err)
	}
	if views == 0 {
		// Nothing refers to the mapping.
		_ = unmap()
		unmap = nil
	}
	return &MappedModel{Model: m, Info: info, Views: views, unmap: unmap}, nil
}

// decodeModel builds the model described by the safetensors file in b; its
// F32 tensors are views of b where alignment allows.
func decodeModel(b []byte) (Module, ModelInfo, int, error) {
	ts, md, views, err := safetensors.DecodeInPlace(b)
	if err != nil {
		return nil, ModelInfo{}, 0, err
	}
	raw, ok := md[ModelKey]
	if !ok {
		return nil, ModelInfo{}, 0, fmt.Errorf("no model description (metadata %q): the file holds weights only; build the model in code and use nn.LoadFile", ModelKey)
	}
	doc, err := parseModelDoc([]byte(raw))
	if err != nil {
		return nil, ModelInfo{}, 0, err
	}
	var stored int64
	for _, t := range ts {
		stored += int64(len(t.Data))
	}
	build, err := planModel(doc.Model, stored)
	if err != nil {
		return nil, ModelInfo{}, 0, err
	}
	m, err := build()
	if err != nil {
		return nil, ModelInfo{}, 0, err
	}
	state := make([]NamedTensor, len(ts))
	for i, t := range ts {
		state[i] = NamedTensor{Name: t.Name, Value: tensor.New(t.Data, t.Shape...), Dtype: Dtype(t.Dtype)}
	}
	byName, err := checkState(m, state, "file")
	if err != nil {
		return nil, ModelInfo{}, 0, fmt.Errorf("weights do not match the architecture: %w", err)
	}
	for _, t := range state {
		byName[t.Name].SetValue(t.Value)
	}
	notifyLoaded(m)
	return m, doc.ModelInfo, views, nil
}

// parseModelDoc decodes and checks the description stored under ModelKey.
func parseModelDoc(raw []byte) (*modelDoc, error) {
	var v struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("model description: %w", err)
	}
	switch {
	case v.Version == nil:
		return nil, errors.New("model description has no version")
	case *v.Version < 1 || *v.Version > ModelVersion:
		return nil, fmt.Errorf("model description version %d is not supported (this library reads 1 to %d)", *v.Version, ModelVersion)
	}
	doc := new(modelDoc)
	if err := decodeStrict(raw, doc); err != nil {
		return nil, fmt.Errorf("model description: %w", err)
	}
	if err := checkInfo(doc.ModelInfo); err != nil {
		return nil, err
	}
	return doc, nil
}

func checkInfo(info ModelInfo) error {
	if len(info.InputShape) > maxInputRank {
		return fmt.Errorf("input_shape has %d axes, more than %d", len(info.InputShape), maxInputRank)
	}
	for _, d := range info.InputShape {
		if d < 1 || d > maxDimSize {
			return fmt.Errorf("input_shape %v: sizes must be between 1 and %d", info.InputShape, maxDimSize)
		}
	}
	return nil
}

// decodeStrict unmarshals one JSON value from raw into v, rejecting
// fields v does not have and anything after the value.
func decodeStrict(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// DescribeModel returns m's architecture as SaveModel stores it. Every
// layer must implement Configurer with a registered kind; a container
// kind (RegisterContainer) is described with its children
// (Container.Children), a layer kind (RegisterLayer) by its configuration
// alone.
func DescribeModel(m Module) (LayerSpec, error) {
	return describe(m, "model", 0)
}

func describe(m Module, path string, depth int) (LayerSpec, error) {
	if depth > maxSpecDepth {
		return LayerSpec{}, fmt.Errorf("%s: nested more than %d levels deep", path, maxSpecDepth)
	}
	c, ok := m.(Configurer)
	if !ok {
		return LayerSpec{}, fmt.Errorf("%s: layer %T does not describe its configuration: implement nn.Configurer and register its kind with nn.RegisterLayer", path, m)
	}
	kind, cfg := c.LayerConfig()
	k, ok := lookupKind(kind)
	if !ok {
		return LayerSpec{}, fmt.Errorf("%s: layer %T has kind %q, which is not registered (nn.RegisterLayer)", path, m, kind)
	}
	if len(k.types) > 0 && !slices.Contains(k.types, reflect.TypeOf(m)) {
		return LayerSpec{}, fmt.Errorf("%s: layer %T reports kind %q, the built-in %s, through a method it embeds: give %T its own LayerConfig and kind", path, m, kind, k.types[0], m)
	}
	spec := LayerSpec{Kind: kind}
	if cfg != nil {
		b, err := json.Marshal(cfg)
		if err != nil {
			return LayerSpec{}, fmt.Errorf("%s (%s): config: %w", path, kind, err)
		}
		if string(b) != "{}" && string(b) != "null" {
			spec.Config = b
		}
	}
	if k.container {
		ct, ok := m.(Container)
		if !ok {
			return LayerSpec{}, fmt.Errorf("%s: layer %T of container kind %q does not implement nn.Container", path, m, kind)
		}
		for i, ch := range ct.Children() {
			s, err := describe(ch, fmt.Sprintf("%s.layers[%d]", path, i), depth+1)
			if err != nil {
				return LayerSpec{}, err
			}
			spec.Layers = append(spec.Layers, s)
		}
	}
	return spec, nil
}

// planModel checks spec and returns a function that builds it. stored is
// the number of values the file holds; the built-in layers may together
// allocate no more than that (plus maxDerivedVals for tables they compute
// rather than load). A negative stored skips that bound.
func planModel(spec LayerSpec, stored int64) (func() (Module, error), error) {
	var unknown []string
	layers := 0
	var walk func(s LayerSpec, path string, depth int) error
	walk = func(s LayerSpec, path string, depth int) error {
		if depth > maxSpecDepth {
			return fmt.Errorf("%s: nested more than %d levels deep", path, maxSpecDepth)
		}
		if layers++; layers > maxSpecLayers {
			return fmt.Errorf("more than %d layers", maxSpecLayers)
		}
		k, ok := lookupKind(s.Kind)
		switch {
		case !ok:
			if !slices.Contains(unknown, s.Kind) {
				unknown = append(unknown, s.Kind)
			}
		case !k.container && len(s.Layers) > 0:
			return fmt.Errorf("%s (%s): a %s layer has no child layers, found %d", path, s.Kind, s.Kind, len(s.Layers))
		}
		for i, ch := range s.Layers {
			if err := walk(ch, fmt.Sprintf("%s.layers[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(spec, "model", 0); err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		q := make([]string, len(unknown))
		for i, u := range unknown {
			q[i] = fmt.Sprintf("%q", shortName(u))
		}
		if len(q) > maxListed {
			q = append(q[:maxListed], fmt.Sprintf("and %d more", len(unknown)-maxListed))
		}
		hint := ""
		if slices.ContainsFunc(unknown, func(k string) bool { return strings.HasPrefix(k, "quant.") }) {
			hint = "; the quant.* kinds are registered by importing github.com/shoshin-ml/shoshin/nn/quant"
		}
		return nil, fmt.Errorf("unknown layer kinds %s: register them with nn.RegisterLayer before loading (built-in kinds: %s)%s", strings.Join(q, ", "), strings.Join(builtinKinds(), ", "), hint)
	}
	var stats planStats
	build, err := plan(spec, "model", &stats)
	if err != nil {
		return nil, err
	}
	if stored >= 0 {
		if stats.values > stored {
			return nil, fmt.Errorf("the architecture needs %d parameter values but the file holds only %d", stats.values, stored)
		}
		if stats.derived > maxDerivedVals {
			return nil, fmt.Errorf("the architecture needs %d computed values (position tables), more than the %d allowed", stats.derived, maxDerivedVals)
		}
	}
	return build, nil
}

// planStats accumulates what the planned layers will allocate.
type planStats struct {
	values  int64 // parameters and buffers, which the file must hold
	derived int64 // tables computed at construction
}

func plan(s LayerSpec, path string, st *planStats) (func() (Module, error), error) {
	k, _ := lookupKind(s.Kind)
	where := fmt.Sprintf("%s (%s)", path, shortName(s.Kind))
	p, err := k.plan(s.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	st.values = satAdd(st.values, p.values)
	st.derived = satAdd(st.derived, p.derived)
	if k.children >= 0 && len(s.Layers) != k.children {
		return nil, fmt.Errorf("%s: wants %d child layers, found %d", where, k.children, len(s.Layers))
	}
	kids := make([]func() (Module, error), len(s.Layers))
	for i, ch := range s.Layers {
		if kids[i], err = plan(ch, fmt.Sprintf("%s.layers[%d]", path, i), st); err != nil {
			return nil, err
		}
	}
	return func() (m Module, err error) {
		children := make([]Module, len(kids))
		for i, b := range kids {
			if children[i], err = b(); err != nil {
				return nil, err
			}
		}
		defer func() {
			if r := recover(); r != nil {
				m, err = nil, fmt.Errorf("%s: building the layer failed: %v", where, r)
			}
		}()
		m, err = p.build(children)
		if err == nil && m == nil {
			err = errors.New("constructor returned no layer")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return m, nil
	}, nil
}

// satMul multiplies non-negative counts, saturating at 1<<62.
func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > (1<<62)/b {
		return 1 << 62
	}
	return a * b
}

// satAdd adds non-negative counts, saturating instead of overflowing.
func satAdd(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return 1<<63 - 1
}
