package onnx

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// chains lists the fused chains of m, such as "Conv→Relu→MaxPool".
func chains(m *Model) []string {
	var out []string
	for _, c := range m.nodes {
		switch f := c.op.(type) {
		case *convChain:
			if f.pool != nil {
				out = append(out, "Conv→Relu→MaxPool")
			} else {
				out = append(out, "Conv→Relu")
			}
		case *gemmReLU:
			out = append(out, "Gemm→Relu")
		case *matMulChain:
			if f.relu != nil {
				out = append(out, "MatMul→Add→Relu")
			} else {
				out = append(out, "MatMul→Add")
			}
		}
	}
	sort.Strings(out)
	return out
}

// loadBoth returns a model file compiled with its chains fused and as
// separate nodes.
func loadBoth(t *testing.T, path string) (fused, plain *Model) {
	t.Helper()
	fused, err := Load(path)
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	plain, err = compile(b, filepath.Dir(path))
	require.NoError(t, err)
	require.Empty(t, chains(plain))
	return fused, plain
}

// sumOutputs runs m and returns the sum of its outputs' sums of squares.
func sumOutputs(t *testing.T, m *Model, ins map[string]*autograd.Var) *autograd.Var {
	t.Helper()
	outs, err := m.Run(ins)
	require.NoError(t, err)
	var sum *autograd.Var
	for _, o := range m.Outputs() {
		s := autograd.SumAll(autograd.Square(outs[o.Name]))
		if sum == nil {
			sum = s
		} else {
			sum = autograd.Add(sum, s)
		}
	}
	return sum
}

// TestFusedFixtures runs the fixtures with their chains fused and as
// separate nodes: the outputs at inference and the gradients of every
// parameter and of the input in training mode agree bit for bit.
func TestFusedFixtures(t *testing.T) {
	cases := []struct {
		name   string
		chains []string
	}{
		{"convnet", []string{"Conv→Relu→MaxPool", "Conv→Relu→MaxPool"}},
		{"bncnn", []string{"Conv→Relu"}},
		{"mlp", []string{"Gemm→Relu"}},
		{"gpt", []string{"MatMul→Add", "MatMul→Add", "MatMul→Add", "MatMul→Add"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fused, plain := loadBoth(t, filepath.Join("testdata", tc.name+".onnx"))
			require.Equal(t, tc.chains, chains(fused))
			require.Equal(t, plain.String(), fused.String())
			for ci, c := range readFixture(t, tc.name).Cases {
				infer := map[string]*autograd.Var{}
				for k, v := range c.Inputs {
					infer[k] = autograd.NoGrad(v.tensor())
				}
				got, err := fused.Run(infer)
				require.NoError(t, err)
				want, err := plain.Run(infer)
				require.NoError(t, err)
				for k := range want {
					require.Equal(t, want[k].Value().Data(), got[k].Value().Data(), "case %d output %s", ci, k)
				}

				train := func(m *Model) (*autograd.Var, map[string]*autograd.Var) {
					ins := map[string]*autograd.Var{}
					for k, v := range c.Inputs {
						if k == "idx" {
							ins[k] = autograd.NoGrad(v.tensor())
						} else {
							ins[k] = autograd.NewVar(v.tensor())
						}
					}
					for _, p := range m.Params() {
						p.ZeroGrad()
					}
					s := sumOutputs(t, m, ins)
					s.Backward()
					return s, ins
				}
				sf, insF := train(fused)
				sp, insP := train(plain)
				require.Equal(t, sp.Value().Data(), sf.Value().Data())
				for k, v := range insP {
					if v.Grad() != nil {
						require.Equal(t, v.Grad().Data(), insF[k].Grad().Data(), "input %s", k)
					}
				}
				for i, p := range plain.Params() {
					require.NotNil(t, p.Grad(), p.Name)
					require.Equal(t, p.Grad().Data(), fused.Params()[i].Grad().Data(), "case %d: gradient of %s", ci, p.Name)
				}
			}
		})
	}
}

func randData(r *rand.Rand, n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(r.NormFloat64())
	}
	return d
}

// TestFusionRules builds graphs where a chain must not be fused, or must
// fall back to the separate ops at run time, and compares every output
// with the unfused graph's bit for bit. The poisoned variants replace the
// ops a fused chain would skip by one that fails, to tell which path ran.
func TestFusionRules(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w4 := initializer(tensorPB("w", []int64{3, 2, 3, 3}, randData(r, 54)))
	w3 := initializer(tensorPB("w", []int64{3, 2, 3}, randData(r, 18)))
	bias := initializer(tensorPB("b", []int64{3}, randData(r, 3)))
	mat := initializer(tensorPB("m", []int64{4, 3}, randData(r, 12)))
	bias2 := initializer(tensorPB("b2", []int64{1, 3}, randData(r, 3)))
	conv := node(nodePB("Conv", "conv", []string{"x", "w", "b"}, []string{"c"}, intsAttr("pads", 1, 1, 1, 1)))
	relu := node(nodePB("Relu", "relu", []string{"c"}, []string{"r"}))
	pool := node(nodePB("MaxPool", "pool", []string{"r"}, []string{"p"}, intsAttr("kernel_shape", 2, 2)))
	x4, x3, x2 := valueInfoPB("x", dtFloat, -1, 2, 6, 6), valueInfoPB("x", dtFloat, -1, 2, 6), valueInfoPB("x", dtFloat, -1, 4)
	out := func(name string) part { return output(valueInfoPB(name, dtFloat)) }
	cases := []struct {
		name   string
		x      []int
		parts  []part
		chains []string
		fused  bool // the fused path runs (at inference)
	}{
		{"conv relu pool", []int{2, 2, 6, 6}, []part{input(x4), w4, bias, conv, relu, pool, out("p")},
			[]string{"Conv→Relu→MaxPool"}, true},
		{"pool with stride, padding and dilation", []int{2, 2, 6, 6}, []part{input(x4), w4, bias, conv, relu,
			node(nodePB("MaxPool", "pool", []string{"r"}, []string{"p"}, intsAttr("kernel_shape", 3, 3), intsAttr("pads", 1, 1, 1, 1), intsAttr("dilations", 2, 2), intsAttr("strides", 1, 2))), out("p")},
			[]string{"Conv→Relu→MaxPool"}, true},
		{"relu output read twice", []int{2, 2, 6, 6}, []part{input(x4), w4, bias, conv, relu, pool,
			node(nodePB("Neg", "neg", []string{"r"}, []string{"n"})), out("p"), out("n")},
			[]string{"Conv→Relu"}, true},
		{"relu output read first by another node", []int{2, 2, 6, 6}, []part{input(x4), w4, bias, conv, relu,
			node(nodePB("Neg", "neg", []string{"r"}, []string{"n"})), pool, out("p"), out("n")},
			[]string{"Conv→Relu"}, true},
		{"conv output read first by another node", []int{2, 2, 6, 6}, []part{input(x4), w4, bias, conv,
			node(nodePB("Neg", "neg", []string{"c"}, []string{"n"})), relu, pool, out("p"), out("n")},
			nil, false},
		{"relu output is a graph output", []int{2, 2, 6, 6}, []part{input(x4), w4, bias, conv, relu, pool, out("r"), out("p")},
			[]string{"Conv→Relu"}, true},
		{"conv output is a graph output", []int{2, 2, 6, 6}, []part{input(x4), w4, bias, conv, relu, pool, out("p"), out("c")},
			nil, false},
		{"conv output read twice by one node", []int{2, 2, 6, 6}, []part{input(x4), w4, bias, conv,
			node(nodePB("Add", "add", []string{"c", "c"}, []string{"r"})), pool, out("p")},
			nil, false},
		{"1-D conv", []int{2, 2, 6}, []part{input(x3), w3, bias,
			node(nodePB("Conv", "conv", []string{"x", "w", "b"}, []string{"c"}, intsAttr("pads", 1, 1))), relu, out("r")},
			[]string{"Conv→Relu"}, false},
		{"Gemm transA", []int{4, 2}, []part{input(valueInfoPB("x", dtFloat, 4, -1)), mat, bias,
			node(nodePB("Gemm", "gemm", []string{"x", "m", "b"}, []string{"c"}, intAttr("transA", 1))), relu, out("r")},
			[]string{"Gemm→Relu"}, false},
		{"Gemm", []int{2, 4}, []part{input(x2), mat, bias,
			node(nodePB("Gemm", "gemm", []string{"x", "m", "b"}, []string{"c"})), relu, out("r")},
			[]string{"Gemm→Relu"}, true},
		{"MatMul, bias first", []int{2, 4}, []part{input(x2), mat, bias,
			node(nodePB("MatMul", "mm", []string{"x", "m"}, []string{"c"})),
			node(nodePB("Add", "add", []string{"b", "c"}, []string{"a"})),
			node(nodePB("Relu", "relu", []string{"a"}, []string{"r"})), out("r")},
			[]string{"MatMul→Add→Relu"}, true},
		{"MatMul, 2-D bias", []int{2, 4}, []part{input(x2), mat, bias2,
			node(nodePB("MatMul", "mm", []string{"x", "m"}, []string{"c"})),
			node(nodePB("Add", "add", []string{"c", "b2"}, []string{"a"})),
			node(nodePB("Relu", "relu", []string{"a"}, []string{"r"})), out("r")},
			[]string{"MatMul→Add→Relu"}, false},
		{"MatMul, bias computed after it", []int{2, 4}, []part{input(x2), mat, bias,
			node(nodePB("MatMul", "mm", []string{"x", "m"}, []string{"c"})),
			node(nodePB("Neg", "neg", []string{"b"}, []string{"nb"})),
			node(nodePB("Add", "add", []string{"c", "nb"}, []string{"r"})), out("r")},
			[]string{"MatMul→Add"}, true},
	}
	poison := opFunc(func([]value) ([]value, error) { return nil, errors.New("separate op ran") })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := modelPB(13, tc.parts...)
			fused, err := Decode(strings.NewReader(string(b)))
			require.NoError(t, err)
			plain, err := compile(b, "")
			require.NoError(t, err)
			require.Equal(t, tc.chains, chains(fused))
			x := tensor.New(randData(r, tensor.Zeros(tc.x...).Size()), tc.x...)
			for _, mode := range []string{"inference", "training"} {
				in := autograd.NoGrad(x)
				if mode == "training" {
					in = autograd.NewVar(x)
				}
				got, err := fused.Run(map[string]*autograd.Var{"x": in})
				require.NoError(t, err, mode)
				want, err := plain.Run(map[string]*autograd.Var{"x": in})
				require.NoError(t, err, mode)
				require.Len(t, got, len(want))
				for k := range want {
					require.Equal(t, want[k].Value().Shape(), got[k].Value().Shape(), "%s output %s", mode, k)
					require.Equal(t, want[k].Value().Data(), got[k].Value().Data(), "%s output %s", mode, k)
				}
			}
			// The fused convolutions' gradients, by finite differences.
			if tc.fused && strings.HasPrefix(tc.name, "conv") {
				f := func(xs ...*autograd.Var) *autograd.Var {
					return sumOutputs(t, fused, map[string]*autograd.Var{"x": xs[0]})
				}
				res, err := autograd.CheckGrad(f, []*tensor.Tensor{x}, autograd.GradCheckOptions{})
				require.NoError(t, err, "%v", res)
			}
			// Poison what the fused path skips: it still runs there, and
			// the fallback reports the poisoned op.
			for _, c := range fused.nodes {
				switch f := c.op.(type) {
				case *convChain:
					f.relu = poison
				case *gemmReLU:
					f.relu = poison
				case *matMulChain:
					f.add = poison
				}
			}
			_, err = fused.Run(map[string]*autograd.Var{"x": autograd.NoGrad(x)})
			if tc.fused || tc.chains == nil {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, "separate op ran")
				require.ErrorContains(t, err, "→ \"relu\"") // the chain's label
			}
		})
	}
}

// BenchmarkFusionBatch1 times two convnets on one image with their
// chains fused and with every node run as its own op: the Keras convnet
// fixture and the MNIST convnet of examples/onnx.
func BenchmarkFusionBatch1(b *testing.B) {
	for _, path := range []string{filepath.Join("testdata", "convnet.onnx"), filepath.Join("..", "examples", "onnx", "mnist_cnn.onnx")} {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, fused := range []bool{true, false} {
			m, err := compile(raw, "")
			if err != nil {
				b.Fatal(err)
			}
			name := "unfused"
			if fused {
				m.fuse()
				name = "fused"
			}
			b.Run(strings.TrimSuffix(filepath.Base(path), ".onnx")+"/"+name, func(b *testing.B) { benchBatch1(b, m) })
		}
	}
}
