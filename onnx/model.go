package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
)

// MaxModelBytes caps the size of a model file (protobuf's own limit is
// 2 GiB). External data files are capped per tensor by maxElements.
const MaxModelBytes = 2 << 30

// Opset range the importer implements for the default ("ai.onnx") domain.
const (
	MinOpset = 13
	MaxOpset = 17
)

// Model is an imported ONNX graph. It runs on shoshin's tensors through
// autograd ops, so it is an nn.Module: inference-mode inputs
// (train.Predict) record nothing, and trainable inputs or parameters get
// gradients where the ops are differentiable. Its float initializers are
// its Params, named as in the file (for a PyTorch export, the state_dict
// keys); BatchNormalization statistics are Buffers.
//
// A Model is read-only while it runs: many goroutines may call Run or
// Forward at once, as long as none changes its parameters meanwhile.
type Model struct {
	opset   int64
	nodes   []*compiled // in order, chains fused (see fuse)
	nNodes  int         // the graph's node count
	consts  map[string]value
	params  []*nn.Param
	buffers []*nn.Param
	inputs  []ValueInfo
	outputs []ValueInfo
}

// ValueInfo describes one graph input or output.
type ValueInfo struct {
	Name string
	// Type is the ONNX element type, such as "FLOAT" or "INT64".
	Type string
	// Shape holds the dimensions; a dynamic one is -1 and named in DimNames.
	Shape    []int
	DimNames []string
}

type compiled struct {
	node  *nodeProto
	op    op
	label string // names the node (or the fused chain) in errors
}

// op is one node's computation. ins has one entry per node input (a zero
// value for an omitted optional input); run returns one value per output.
type op interface {
	run(ins []value) ([]value, error)
}

// Load reads the ONNX model at path. Initializers stored as external data
// are read from files inside the model's folder: their locations must be
// relative paths that stay in that folder (no "..", no absolute paths, no
// symbolic links leading out).
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	b, err := readAll(f)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	m, err := build(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode reads an ONNX model from r. A model with initializers in external
// data files cannot be decoded from a stream: use Load.
func Decode(r io.Reader) (*Model, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return build(b, "")
}

func readAll(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, MaxModelBytes+1))
	if err != nil {
		return nil, err
	}
	if n > MaxModelBytes {
		return nil, fmt.Errorf("model is larger than %d bytes", int64(MaxModelBytes))
	}
	return buf.Bytes(), nil
}

// build decodes and compiles a model and fuses its chains of nodes (see
// fuse); dir is the folder of external data ("" forbids external data).
func build(b []byte, dir string) (*Model, error) {
	m, err := compile(b, dir)
	if err != nil {
		return nil, err
	}
	m.fuse()
	return m, nil
}

// compile decodes a model and compiles each node to its op.
func compile(b []byte, dir string) (*Model, error) {
	mp, err := decodeModel(b)
	if err != nil {
		return nil, err
	}
	if !mp.hasGraph {
		return nil, errors.New("onnx: the model has no graph")
	}
	m := &Model{consts: map[string]value{}}
	for _, o := range mp.opsets {
		switch o.domain {
		case "", "ai.onnx":
			m.opset = o.version
		}
	}
	if m.opset == 0 {
		return nil, errors.New("onnx: the model imports no opset of the default domain")
	}
	if m.opset < MinOpset || m.opset > MaxOpset {
		return nil, fmt.Errorf("onnx: opset %d is not supported (supported: %d to %d; re-export with opset_version in that range)", m.opset, MinOpset, MaxOpset)
	}
	g := mp.graph
	if g.sparseInits > 0 {
		return nil, errors.New("onnx: sparse initializers are not supported")
	}
	var ext *externalReader
	if dir != "" {
		ext = &externalReader{dir: dir}
		defer ext.close()
	}
	bnStats := map[string]bool{}
	for _, n := range g.nodes {
		if n.opType == "BatchNormalization" && n.domain == "" {
			for _, in := range n.inputs[min(3, len(n.inputs)):] {
				bnStats[in] = true
			}
		}
	}
	for _, t := range g.initializers {
		v, err := initializerValue(t, ext)
		if err != nil {
			return nil, fmt.Errorf("onnx: initializer %q: %w", t.name, err)
		}
		if v.f != nil {
			if bnStats[t.name] {
				p := nn.NewBuffer(t.name, v.f.Value())
				m.buffers = append(m.buffers, p)
				v.f = p.Var
			} else {
				p := nn.NewParam(t.name, v.f.Value())
				// An initializer is a constant of the exported model:
				// its packed forms may be kept (see Model's doc).
				p.SetCacheable(true)
				m.params = append(m.params, p)
				v.f = p.Var
			}
		}
		m.consts[t.name] = v
	}
	for _, vi := range g.inputs {
		if _, ok := m.consts[vi.name]; ok {
			continue
		}
		m.inputs = append(m.inputs, toValueInfo(vi))
	}
	for _, vi := range g.outputs {
		m.outputs = append(m.outputs, toValueInfo(vi))
	}
	if len(m.outputs) == 0 {
		return nil, errors.New("onnx: the graph has no outputs")
	}
	// Compile every node, collecting every unsupported op and attribute.
	unsupported := map[string][]string{}
	var errs []string
	defined := map[string]bool{"": true}
	for name := range m.consts {
		defined[name] = true
	}
	for _, in := range m.inputs {
		defined[in.Name] = true
	}
	for i, n := range g.nodes {
		label := nodeLabel(n, i)
		for _, in := range n.inputs {
			if !defined[in] {
				errs = append(errs, fmt.Sprintf("node %s: input %q is not produced by an earlier node, an initializer or a graph input", label, in))
			}
		}
		for _, out := range n.outputs {
			defined[out] = true
		}
		op, err := resolve(n, m.opset)
		var u *unsupportedError
		switch {
		case errors.As(err, &u):
			key := n.opType
			if u.attr != "" {
				key += " (attribute " + u.attr + ")"
			}
			unsupported[key] = append(unsupported[key], label)
			continue
		case err != nil:
			errs = append(errs, fmt.Sprintf("node %s: %v", label, err))
			continue
		}
		m.nodes = append(m.nodes, &compiled{node: n, op: op, label: label})
	}
	if len(unsupported) > 0 {
		keys := make([]string, 0, len(unsupported))
		for k := range unsupported {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var sb strings.Builder
		fmt.Fprintf(&sb, "onnx: the model (opset %d) uses %d unsupported op(s):", m.opset, len(keys))
		for _, k := range keys {
			fmt.Fprintf(&sb, "\n\t%s: nodes %s", k, strings.Join(unsupported[k], ", "))
		}
		errs = append([]string{sb.String()}, errs...)
	}
	for _, out := range m.outputs {
		if !defined[out.Name] {
			errs = append(errs, fmt.Sprintf("graph output %q is never produced", out.Name))
		}
	}
	if len(errs) > 0 {
		if !strings.HasPrefix(errs[0], "onnx:") {
			errs[0] = "onnx: " + errs[0]
		}
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	m.nNodes = len(m.nodes)
	return m, nil
}

// nodeLabel names node i for messages: its name, or its index and op.
func nodeLabel(n *nodeProto, i int) string {
	if n.name != "" {
		return strconv.Quote(n.name)
	}
	return fmt.Sprintf("#%d (%s)", i, n.opType)
}

func toValueInfo(vi *valueInfo) ValueInfo {
	out := ValueInfo{Name: vi.name, Type: dtypeName(vi.elemType)}
	for _, d := range vi.dims {
		if d.param != "" || d.value <= 0 {
			out.Shape = append(out.Shape, -1)
		} else {
			out.Shape = append(out.Shape, int(d.value))
		}
		out.DimNames = append(out.DimNames, d.param)
	}
	return out
}

// Opset returns the version of the default ONNX domain the model uses.
func (m *Model) Opset() int { return int(m.opset) }

// Inputs describes the graph's inputs (initializers excluded).
func (m *Model) Inputs() []ValueInfo { return m.inputs }

// Outputs describes the graph's outputs.
func (m *Model) Outputs() []ValueInfo { return m.outputs }

// Params returns the model's float initializers except BatchNormalization
// statistics, as trainable Params named as in the file.
func (m *Model) Params() []*nn.Param { return m.params }

// Buffers returns the BatchNormalization running statistics (see
// nn.BufferOwner).
func (m *Model) Buffers() []*nn.Param { return m.buffers }

// Forward runs a model with one input and one output on x. It panics when
// the model has several inputs or outputs, or when x does not fit it (as
// layers do on a shape mismatch; train.Predict turns that into an error).
// Use Run for an error instead.
func (m *Model) Forward(x *autograd.Var) *autograd.Var {
	if len(m.inputs) != 1 || len(m.outputs) != 1 {
		panic(fmt.Sprintf("onnx.Model.Forward: the model has %d inputs and %d outputs; use Run", len(m.inputs), len(m.outputs)))
	}
	outs, err := m.Run(map[string]*autograd.Var{m.inputs[0].Name: x})
	if err != nil {
		panic(err.Error())
	}
	return outs[m.outputs[0].Name]
}

// Run runs the graph on the named inputs and returns every graph output by
// name. Integer inputs (such as token ids declared INT64) are given as
// Vars holding whole numbers; integer outputs come back as float
// constants. Errors name the node that failed.
func (m *Model) Run(inputs map[string]*autograd.Var) (outs map[string]*autograd.Var, err error) {
	vals := make(map[string]value, len(m.consts)+len(m.nodes))
	for k, v := range m.consts {
		vals[k] = v
	}
	for _, in := range m.inputs {
		x, ok := inputs[in.Name]
		if !ok || x == nil {
			return nil, fmt.Errorf("onnx: Run: missing input %q", in.Name)
		}
		if err := checkShape(in, x.Shape()); err != nil {
			return nil, err
		}
		switch in.Type {
		case "FLOAT", "DOUBLE":
			vals[in.Name] = value{f: x}
		case "INT64", "INT32", "BOOL":
			iv := intsOf(value{f: x})
			for j, d := range x.Value().Data() {
				if float32(iv.data[j]) != d {
					return nil, fmt.Errorf("onnx: Run: input %q is %s but element %d is %v", in.Name, in.Type, j, d)
				}
			}
			iv.bool = in.Type == "BOOL"
			vals[in.Name] = value{i: iv}
		default:
			return nil, fmt.Errorf("onnx: Run: input %q has element type %s, which is not supported", in.Name, in.Type)
		}
	}
	if len(inputs) != len(m.inputs) {
		for name := range inputs {
			if !m.hasInput(name) {
				return nil, fmt.Errorf("onnx: Run: the model has no input %q (inputs: %s)", name, m.inputNames())
			}
		}
	}
	var cur *compiled
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("onnx: node %s: %v", cur.label, r)
		}
	}()
	ins := make([]value, 0, 8)
	for _, c := range m.nodes {
		cur = c
		ins = ins[:0]
		for _, name := range c.node.inputs {
			ins = append(ins, vals[name])
		}
		res, err := c.op.run(ins)
		if err != nil {
			return nil, fmt.Errorf("onnx: node %s: %w", c.label, err)
		}
		for j, name := range c.node.outputs {
			if name != "" && j < len(res) {
				vals[name] = res[j]
			}
		}
	}
	outs = make(map[string]*autograd.Var, len(m.outputs))
	for _, o := range m.outputs {
		v := vals[o.Name]
		if v.f == nil && v.i == nil {
			return nil, fmt.Errorf("onnx: Run: output %q was not computed", o.Name)
		}
		outs[o.Name] = floatOf(v)
	}
	return outs, nil
}

func (m *Model) hasInput(name string) bool {
	for _, in := range m.inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

func (m *Model) inputNames() string {
	var s []string
	for _, in := range m.inputs {
		s = append(s, strconv.Quote(in.Name))
	}
	return strings.Join(s, ", ")
}

// checkShape compares an input's shape with the graph's declaration.
func checkShape(in ValueInfo, shape []int) error {
	if in.Shape == nil {
		return nil
	}
	ok := len(shape) == len(in.Shape)
	for i := 0; ok && i < len(shape); i++ {
		ok = in.Shape[i] < 0 || in.Shape[i] == shape[i]
	}
	if !ok {
		return fmt.Errorf("onnx: Run: input %q has shape %v, the model expects %v (-1: any)", in.Name, shape, in.Shape)
	}
	return nil
}

// String describes the model in one line.
func (m *Model) String() string {
	return fmt.Sprintf("onnx.Model(opset %d, %d nodes, %d params, inputs %s)", m.opset, m.nNodes, len(m.params), m.inputNames())
}

var _ nn.Module = (*Model)(nil)
var _ nn.BufferOwner = (*Model)(nil)
