package onnx

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestOps runs single-op graphs on known values and checks each output
// element and, for float ops, the gradient with respect to the input.
func TestOps(t *testing.T) {
	x23 := []float32{-1.5, -0.2, 0.3, 0.8, 1.1, 2}
	boolC := pb{}.varint(1, 3).varint(2, dtBool).str(8, "c").str(9, "\x01\x00\x01")
	cases := []struct {
		name  string
		x     *tensor.Tensor
		parts []part
		want  []float32
		shape []int
	}{
		{"Erf", tensor.New(x23, 2, 3),
			[]part{node(nodePB("Erf", "n", []string{"x"}, []string{"y"}))},
			mapf(x23, func(v float64) float64 { return math.Erf(v) }), []int{2, 3}},
		{"Where", tensor.New(x23, 2, 3),
			[]part{initializer(boolC), initializer(tensorPB("m", []int64{1}, []float32{-7})),
				node(nodePB("Where", "n", []string{"c", "x", "m"}, []string{"y"}))},
			[]float32{-1.5, -7, 0.3, 0.8, -7, 2}, []int{2, 3}},
		{"Gather axis 1", tensor.New(x23, 2, 3),
			[]part{initializer(int64TensorPB("i", []int64{2}, []int64{2, -3})),
				node(nodePB("Gather", "n", []string{"x", "i"}, []string{"y"}, intAttr("axis", 1)))},
			[]float32{0.3, -1.5, 2, 0.8}, []int{2, 2}},
		{"Pad", tensor.New([]float32{1, 2}, 1, 2),
			[]part{initializer(int64TensorPB("p", []int64{4}, []int64{0, 1, 1, 0})), initializer(tensorPB("v", nil, []float32{5})),
				node(nodePB("Pad", "n", []string{"x", "p", "v"}, []string{"y"}))},
			[]float32{5, 1, 2, 5, 5, 5}, []int{2, 3}},
		{"Expand", tensor.New([]float32{1, 2}, 2, 1),
			[]part{initializer(int64TensorPB("s", []int64{2}, []int64{2, 3})),
				node(nodePB("Expand", "n", []string{"x", "s"}, []string{"y"}))},
			[]float32{1, 1, 1, 2, 2, 2}, []int{2, 3}},
		{"LayerNormalization", tensor.New([]float32{1, 2, 3, 4, 4, 8}, 2, 3),
			[]part{initializer(tensorPB("g", []int64{3}, []float32{1, 2, 1})), initializer(tensorPB("b", []int64{3}, []float32{0, 0, 1})),
				node(nodePB("LayerNormalization", "n", []string{"x", "g", "b"}, []string{"y"}, floatAttr("epsilon", 0)))},
			[]float32{-1.2247449, 0, 2.2247449, -0.70710677, -1.4142135, 2.4142137}, []int{2, 3}},
		{"Conv 1-D", tensor.New([]float32{1, 2, 4, 8}, 1, 1, 4),
			[]part{initializer(tensorPB("w", []int64{1, 1, 2}, []float32{1, -1})),
				node(nodePB("Conv", "n", []string{"x", "w"}, []string{"y"}, intsAttr("pads", 1, 1)))},
			[]float32{-1, -1, -2, -4, 8}, []int{1, 1, 5}},
		{"ReduceMean", tensor.New(x23, 2, 3),
			[]part{node(nodePB("ReduceMean", "n", []string{"x"}, []string{"y"}, intsAttr("axes", -1), intAttr("keepdims", 0)))},
			[]float32{(-1.5 - 0.2 + 0.3) / 3, (0.8 + 1.1 + 2) / 3}, []int{2}},
		{"Pow", tensor.New(x23, 2, 3),
			[]part{initializer(tensorPB("e", nil, []float32{3})), node(nodePB("Pow", "n", []string{"x", "e"}, []string{"y"}))},
			mapf(x23, func(v float64) float64 { return v * v * v }), []int{2, 3}},
		{"Trilu lower", tensor.New([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3),
			[]part{node(nodePB("Trilu", "n", []string{"x"}, []string{"y"}, intAttr("upper", 0)))},
			[]float32{1, 0, 0, 4, 5, 0, 7, 8, 9}, []int{3, 3}},
		{"Clip", tensor.New(x23, 2, 3),
			[]part{initializer(tensorPB("lo", nil, []float32{-0.5})), initializer(tensorPB("hi", nil, []float32{1})),
				node(nodePB("Clip", "n", []string{"x", "lo", "hi"}, []string{"y"}))},
			[]float32{-0.5, -0.2, 0.3, 0.8, 1, 1}, []int{2, 3}},
		{"HardSwish", tensor.New([]float32{-4, -1, 0.5, 2, 3.5, 1}, 2, 3),
			[]part{node(nodePB("HardSwish", "n", []string{"x"}, []string{"y"}))},
			[]float32{0, -1.0 / 3, 0.5 * 3.5 / 6, 2 * 5.0 / 6, 3.5, 4.0 / 6}, []int{2, 3}},
		{"HardSigmoid", tensor.New(x23, 2, 3),
			[]part{node(nodePB("HardSigmoid", "n", []string{"x"}, []string{"y"}, floatAttr("alpha", 0.5)))},
			[]float32{0, 0.4, 0.65, 0.9, 1, 1}, []int{2, 3}},
		{"Split and Concat", tensor.New(x23, 2, 3),
			[]part{initializer(int64TensorPB("s", []int64{2}, []int64{1, 2})),
				node(nodePB("Split", "sp", []string{"x", "s"}, []string{"a", "b"}, intAttr("axis", 1))),
				node(nodePB("Concat", "c", []string{"b", "a"}, []string{"y"}, intAttr("axis", 1)))},
			[]float32{-0.2, 0.3, -1.5, 1.1, 2, 0.8}, []int{2, 3}},
		{"Transpose, Squeeze, Unsqueeze", tensor.New(x23, 2, 3),
			[]part{initializer(int64TensorPB("a", []int64{1}, []int64{0})),
				node(nodePB("Transpose", "t", []string{"x"}, []string{"t"})),
				node(nodePB("Unsqueeze", "u", []string{"t", "a"}, []string{"u"})),
				node(nodePB("Squeeze", "s", []string{"u"}, []string{"y"}))},
			[]float32{-1.5, 0.8, -0.2, 1.1, 0.3, 2}, []int{3, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parts := append([]part{input(valueInfoPB("x", dtFloat))}, c.parts...)
			parts = append(parts, output(pb{}.str(1, "y").msg(2, pb{}.msg(1, pb{}.varint(1, dtFloat)))))
			b := modelPB(17, parts...)
			// Inputs declared without a shape accept any shape.
			m, err := decode(t, b)
			require.NoError(t, err)
			m.inputs[0].Shape = nil
			y := m.Forward(autograd.NoGrad(c.x))
			require.Equal(t, c.shape, y.Shape())
			require.InDeltaSlice(t, c.want, y.Value().Data(), 1e-6)
			res, err := autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var { return m.Forward(xs[0]) },
				[]*tensor.Tensor{c.x}, autograd.GradCheckOptions{})
			require.NoError(t, err, "%v", res)
		})
	}
}

func mapf(xs []float32, f func(float64) float64) []float32 {
	out := make([]float32, len(xs))
	for i, v := range xs {
		out[i] = float32(f(float64(v)))
	}
	return out
}

// TestIntegerShapeOps checks shape arithmetic on integer tensors, as
// PyTorch exports for x.view(x.size(0), -1): Shape, Gather, Div, Mul,
// Cast, Range, Equal, ConstantOfShape, Slice.
func TestIntegerShapeOps(t *testing.T) {
	b := modelPB(13,
		input(valueInfoPB("x", dtFloat, -1, 3, 4)),
		initializer(int64TensorPB("zero", nil, []int64{0})),
		initializer(int64TensorPB("two", nil, []int64{2})),
		initializer(int64TensorPB("one", []int64{1}, []int64{1})),
		initializer(int64TensorPB("end", []int64{1}, []int64{1 << 40})),
		node(nodePB("Shape", "s", []string{"x"}, []string{"s"})),                   // [N 3 4]
		node(nodePB("Gather", "g", []string{"s", "zero"}, []string{"n"})),          // N
		node(nodePB("Mul", "m", []string{"n", "two"}, []string{"n2"})),             // 2N
		node(nodePB("Div", "d", []string{"n2", "two"}, []string{"n3"})),            // N
		node(nodePB("Range", "r", []string{"zero", "n2", "one"}, []string{"r"})),   // 0..2N-1
		node(nodePB("Slice", "sl", []string{"s", "one", "end"}, []string{"tail"})), // [3 4]
		node(nodePB("ConstantOfShape", "c", []string{"tail"}, []string{"ones"}, pb{}.str(1, "value").varint(20, atTensor).msg(5, int64TensorPB("", []int64{1}, []int64{1})))),
		node(nodePB("Equal", "e", []string{"r", "n3"}, []string{"eq"})), // r == N
		node(nodePB("Cast", "cast", []string{"eq"}, []string{"eqf"}, intAttr("to", dtFloat))),
		node(nodePB("ReduceMean", "rm", []string{"x"}, []string{"xm"}, intsAttr("axes", 1, 2), intAttr("keepdims", 0))),
		node(nodePB("Cast", "cast2", []string{"ones"}, []string{"onesf"}, intAttr("to", dtFloat))),
		output(valueInfoPB("eqf", dtFloat, -1)),
		output(valueInfoPB("onesf", dtFloat, 3, 4)),
		output(valueInfoPB("xm", dtFloat, -1)))
	m, err := decode(t, b)
	require.NoError(t, err)
	outs, err := m.Run(map[string]*autograd.Var{"x": autograd.NoGrad(tensor.Zeros(3, 3, 4))})
	require.NoError(t, err)
	require.Equal(t, []float32{0, 0, 0, 1, 0, 0}, outs["eqf"].Value().Data())
	require.Equal(t, []int{3, 4}, outs["onesf"].Shape())
	require.Equal(t, float32(12), tensor.SumAll(outs["onesf"].Value()))
	require.Equal(t, []int{3}, outs["xm"].Shape())
}
