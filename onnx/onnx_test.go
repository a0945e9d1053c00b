package onnx

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

func decode(t *testing.T, b []byte) (*Model, error) {
	t.Helper()
	return Decode(bytes.NewReader(b))
}

// TestUnsupportedListsEveryOp checks that loading reports every
// unsupported op type and attribute value, each with all its nodes, at
// once rather than stopping at the first.
func TestUnsupportedListsEveryOp(t *testing.T) {
	b := modelPB(13,
		input(valueInfoPB("x", dtFloat, -1, 1, 4, 4)),
		node(nodePB("Relu", "ok", []string{"x"}, []string{"a"})),
		node(nodePB("Foo", "f1", []string{"a"}, []string{"b"})),
		node(nodePB("Bar", "b1", []string{"b"}, []string{"c"})),
		node(nodePB("Foo", "f2", []string{"c"}, []string{"d"})),
		node(nodePB("MaxPool", "mp", []string{"d"}, []string{"y"}, intsAttr("kernel_shape", 2, 2), intAttr("ceil_mode", 1))),
		output(valueInfoPB("y", dtFloat, -1, 1, 2, 2)))
	_, err := decode(t, b)
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "3 unsupported op(s)")
	require.Contains(t, msg, `Foo: nodes "f1", "f2"`)
	require.Contains(t, msg, `Bar: nodes "b1"`)
	require.Contains(t, msg, `MaxPool (attribute ceil_mode=1): nodes "mp"`)
	require.NotContains(t, msg, `"ok"`)
}

// TestAttributeErrors checks that a wrongly typed attribute names the
// node, the attribute and both types, and that an attribute the importer
// does not know is refused rather than ignored.
func TestAttributeErrors(t *testing.T) {
	gemm := func(attr pb) []byte {
		return modelPB(13,
			input(valueInfoPB("x", dtFloat, -1, 2)),
			initializer(tensorPB("w", []int64{2, 2}, []float32{1, 2, 3, 4})),
			node(nodePB("Gemm", "fc", []string{"x", "w"}, []string{"y"}, attr)),
			output(valueInfoPB("y", dtFloat, -1, 2)))
	}
	_, err := decode(t, gemm(intAttr("alpha", 2)))
	require.ErrorContains(t, err, `node "fc": Gemm: attribute "alpha" is INT, want FLOAT`)
	_, err = decode(t, gemm(floatAttr("gamma", 2)))
	require.ErrorContains(t, err, `Gemm (attribute gamma): nodes "fc"`)
	m, err := decode(t, gemm(floatAttr("alpha", 2)))
	require.NoError(t, err)
	y := m.Forward(autograd.NoGrad(tensor.New([]float32{1, 1}, 1, 2)))
	require.Equal(t, []float32{8, 12}, y.Value().Data()) // 2·[1 1]·[[1 2] [3 4]]
}

// TestOpsetVersions checks the opset range and that an op resolves to the
// definition of the model's opset: Shape's start attribute exists from
// opset 15 only.
func TestOpsetVersions(t *testing.T) {
	shapeModel := func(opset int64, attrs ...pb) []byte {
		return modelPB(opset,
			input(valueInfoPB("x", dtFloat, -1, 3, 4)),
			node(nodePB("Shape", "s", []string{"x"}, []string{"y"}, attrs...)),
			output(valueInfoPB("y", dtInt64, 2)))
	}
	for _, opset := range []int64{12, 18} {
		_, err := decode(t, shapeModel(opset))
		require.ErrorContains(t, err, "is not supported (supported: 13 to 17")
	}
	_, err := decode(t, shapeModel(13, intAttr("start", 1)))
	require.ErrorContains(t, err, `Shape (attribute start): nodes "s"`)
	m, err := decode(t, shapeModel(15, intAttr("start", 1)))
	require.NoError(t, err)
	outs, err := m.Run(map[string]*autograd.Var{"x": autograd.NoGrad(tensor.Zeros(2, 3, 4))})
	require.NoError(t, err)
	require.Equal(t, []float32{3, 4}, outs["y"].Value().Data())
}

// TestRunErrors checks that bad inputs and failing nodes are errors that
// name the input or node, never panics.
func TestRunErrors(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "mlp.onnx"))
	require.NoError(t, err)
	_, err = m.Run(map[string]*autograd.Var{})
	require.ErrorContains(t, err, `missing input "x"`)
	_, err = m.Run(map[string]*autograd.Var{"x": autograd.NoGrad(tensor.Zeros(2, 19))})
	require.ErrorContains(t, err, `input "x" has shape [2 19], the model expects [-1 20]`)
	_, err = m.Run(map[string]*autograd.Var{"x": autograd.NoGrad(tensor.Zeros(2, 20)), "z": autograd.NoGrad(tensor.Zeros(1))})
	require.ErrorContains(t, err, `no input "z"`)
	// A shape mismatch inside a node (the graph declares no shape).
	b := modelPB(13,
		input(pb{}.str(1, "x").msg(2, pb{}.msg(1, pb{}.varint(1, dtFloat)))),
		initializer(tensorPB("w", []int64{3, 2}, make([]float32, 6))),
		node(nodePB("MatMul", "mm", []string{"x", "w"}, []string{"y"})),
		output(pb{}.str(1, "y")))
	m, err = decode(t, b)
	require.NoError(t, err)
	_, err = m.Run(map[string]*autograd.Var{"x": autograd.NoGrad(tensor.Zeros(2, 4))})
	require.ErrorContains(t, err, `node "mm": MatMul of shapes [2 4] and [3 2]: inner dimensions differ`)
	require.Panics(t, func() { m.Forward(autograd.NoGrad(tensor.Zeros(2, 4))) })
	_, err = train.Predict(m, tensor.Zeros(2, 4), 2)
	require.ErrorContains(t, err, "inner dimensions differ")
}

// TestGraphErrors checks structural errors found at load time.
func TestGraphErrors(t *testing.T) {
	_, err := decode(t, modelPB(13,
		input(valueInfoPB("x", dtFloat, 2)),
		node(nodePB("Relu", "r", []string{"nope"}, []string{"y"})),
		output(valueInfoPB("y", dtFloat, 2))))
	require.ErrorContains(t, err, `node "r": input "nope" is not produced`)
	_, err = decode(t, modelPB(13,
		input(valueInfoPB("x", dtFloat, 2)),
		initializer(tensorPB("w", []int64{3}, []float32{1, 2})),
		output(valueInfoPB("x", dtFloat, 2))))
	require.ErrorContains(t, err, `initializer "w": FLOAT tensor with dims [3] needs 3 elements, has 2`)
	_, err = decode(t, modelPB(13,
		initializer(tensorPB("w", []int64{1 << 31, 1 << 31}, nil)),
		output(valueInfoPB("w", dtFloat, 2))))
	require.ErrorContains(t, err, "hold more than")
}

// TestPredictOtherBatchSize runs the convnet through train.Predict, which
// feeds inference-mode arena inputs, on three examples in batches of two
// (the export used two): shapes are computed per run.
func TestPredictOtherBatchSize(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "convnet.onnx"))
	require.NoError(t, err)
	c := readFixture(t, "convnet").Cases[1]
	x, want := c.Inputs["x"].tensor(), c.Outputs["y"].tensor()
	require.Equal(t, 3, x.Dim(0))
	got, err := train.Predict(m, x, 2)
	require.NoError(t, err)
	require.Less(t, maxRelErr(t, got, want), 1e-5)
}

// TestFineTune checks that an imported model trains: its Params carry
// PyTorch's state_dict names, gradients reach every one of them, and the
// gradient with respect to the input matches finite differences through
// every op of the ops, bncnn and mlp fixtures.
func TestFineTune(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "mlp.onnx"))
	require.NoError(t, err)
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	require.ElementsMatch(t, []string{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}, names)
	x := readFixture(t, "mlp").Cases[0].Inputs["x"].tensor()
	loss := autograd.SoftmaxCrossEntropy(m.Forward(autograd.Constant(x)), []int{1, 2}, 0, autograd.ReduceMean)
	loss.Backward()
	for _, p := range m.Params() {
		require.NotNil(t, p.Grad(), p.Name)
		nonzero := false
		for _, g := range p.Grad().Data() {
			nonzero = nonzero || g != 0
		}
		require.True(t, nonzero, p.Name)
	}

	for _, name := range []string{"mlp", "ops", "bncnn"} {
		m, err := Load(filepath.Join("testdata", name+".onnx"))
		require.NoError(t, err)
		c := readFixture(t, name).Cases[0]
		f := func(xs ...*autograd.Var) *autograd.Var {
			outs, err := m.Run(map[string]*autograd.Var{"x": xs[0]})
			require.NoError(t, err)
			var sum *autograd.Var
			for _, o := range m.Outputs() {
				s := autograd.SumAll(outs[o.Name])
				if o.Name != "y" {
					s = autograd.MulScalar(autograd.SumAll(autograd.Square(outs[o.Name])), 0.5)
				}
				if sum == nil {
					sum = s
				} else {
					sum = autograd.Add(sum, s)
				}
			}
			return sum
		}
		res, err := autograd.CheckGrad(f, []*tensor.Tensor{c.Inputs["x"].tensor()}, autograd.GradCheckOptions{})
		require.NoError(t, err, "%s: %v", name, res)
	}
}

// TestExternalData loads an initializer from a file beside the model and
// refuses locations that leave the model's folder.
func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	raw := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40} // float32 1, 2
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w.bin"), append([]byte("pad!"), raw...), 0o644))
	model := func(loc string, length int64) []byte {
		w := pb{}.varint(1, 2).varint(2, dtFloat).str(8, "w").
			msg(13, pb{}.str(1, "location").str(2, loc)).
			msg(13, pb{}.str(1, "offset").str(2, "4")).
			msg(13, pb{}.str(1, "length").str(2, strings.TrimSpace(string(rune('0'+length))))).
			varint(14, 1)
		return modelPB(13,
			input(valueInfoPB("x", dtFloat, 2)),
			initializer(w),
			node(nodePB("Mul", "m", []string{"x", "w"}, []string{"y"})),
			output(valueInfoPB("y", dtFloat, 2)))
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	m, err := Load(write("ok.onnx", model("w.bin", 8)))
	require.NoError(t, err)
	y := m.Forward(autograd.NoGrad(tensor.New([]float32{3, 5}, 2)))
	require.Equal(t, []float32{3, 10}, y.Value().Data())

	_, err = Load(write("len.onnx", model("w.bin", 4)))
	require.ErrorContains(t, err, "length 4, but dims [2] of FLOAT need 8 bytes")
	_, err = Decode(bytes.NewReader(model("w.bin", 8)))
	require.ErrorContains(t, err, "external file")
	outside := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-outside.bin")
	require.NoError(t, os.WriteFile(outside, append([]byte("pad!"), raw...), 0o644))
	t.Cleanup(func() { os.Remove(outside) })
	for _, loc := range []string{"../" + filepath.Base(outside), outside, "sub/../../x.bin"} {
		_, err = Load(write("bad.onnx", model(loc, 8)))
		require.ErrorContains(t, err, "leaves the model's folder", loc)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.bin")); err == nil {
		_, err = Load(write("link.onnx", model("link.bin", 8)))
		require.ErrorContains(t, err, "external data")
	}
}

// TestParamGradients checks, with finite differences, the gradient of
// every parameter of the token models (LSTM and GRU weights, whose gates
// are regrouped from ONNX's order; embeddings reached through Gather;
// attention and LayerNormalization weights), as fine-tuning needs.
func TestParamGradients(t *testing.T) {
	for _, name := range []string{"seq", "gpt"} {
		m, err := Load(filepath.Join("testdata", name+".onnx"))
		require.NoError(t, err)
		c := readFixture(t, name).Cases[1]
		idx := autograd.NoGrad(c.Inputs["idx"].tensor())
		out := m.Outputs()[0].Name
		for _, p := range m.Params() {
			if name == "seq" && p.Name == "emb.weight" {
				checkEmbeddingGrad(t, m, idx, p.Name, out)
				continue
			}
			orig := m.consts[p.Name]
			f := func(xs ...*autograd.Var) *autograd.Var {
				m.consts[p.Name] = value{f: xs[0]}
				defer func() { m.consts[p.Name] = orig }()
				outs, err := m.Run(map[string]*autograd.Var{"idx": idx})
				require.NoError(t, err)
				return outs[out]
			}
			res, err := autograd.CheckGrad(f, []*tensor.Tensor{p.Value()}, autograd.GradCheckOptions{})
			require.NoError(t, err, "%s %s: %v", name, p.Name, res)
		}
	}
}

// checkEmbeddingGrad compares the gradient of the sum of the outputs with
// respect to an embedding table with central differences, element by
// element. (Under -tags purego, autograd.CheckGrad's random projection
// disagrees on one element of this table although Backward and these
// differences agree; this check does not depend on the projection.)
func checkEmbeddingGrad(t *testing.T, m *Model, idx *autograd.Var, name, out string) {
	t.Helper()
	orig := m.consts[name]
	defer func() { m.consts[name] = orig }()
	w := orig.f.Value().Clone()
	run := func(v *autograd.Var) *autograd.Var {
		m.consts[name] = value{f: v}
		outs, err := m.Run(map[string]*autograd.Var{"idx": idx})
		require.NoError(t, err)
		return autograd.SumAll(outs[out])
	}
	x := autograd.NewVar(w)
	run(x).Backward()
	grad := x.Grad().Data()
	const h = 1e-2
	for i := range w.Data() {
		up, dn := w.Clone(), w.Clone()
		up.Data()[i] += h
		dn.Data()[i] -= h
		num := (float64(run(autograd.Constant(up)).Value().Data()[0]) - float64(run(autograd.Constant(dn)).Value().Data()[0])) / (2 * h)
		require.InDelta(t, num, float64(grad[i]), 2e-4+1e-2*math.Abs(num), "%s element %d", name, i)
	}
}
