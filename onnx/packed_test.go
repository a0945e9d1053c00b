package onnx

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// packedMLP is x → Gemm(W1, b1; transB, alpha) → Relu → MatMul(W2) → Add(b2),
// the two ways exporters write a linear layer, with weights as
// initializers.
func packedMLP(t *testing.T, r *rand.Rand, transB bool, alpha float32) *Model {
	t.Helper()
	w1 := tensor.RandN(r, 0, 1, 6, 5) // [in, hidden]
	tb := int64(0)
	if transB {
		w1 = tensor.RandN(r, 0, 1, 5, 6) // [hidden, in]
		tb = 1
	}
	w1dims := []int64{int64(w1.Dim(0)), int64(w1.Dim(1))}
	b := modelPB(13,
		initializer(tensorPB("w1", w1dims, w1.Data())),
		initializer(tensorPB("b1", []int64{5}, tensor.RandN(r, 0, 1, 5).Data())),
		initializer(tensorPB("w2", []int64{5, 3}, tensor.RandN(r, 0, 1, 5, 3).Data())),
		initializer(tensorPB("b2", []int64{3}, tensor.RandN(r, 0, 1, 3).Data())),
		input(valueInfoPB("x", dtFloat, -1, 6)),
		node(nodePB("Gemm", "fc1", []string{"x", "w1", "b1"}, []string{"h"}, intAttr("transB", tb), floatAttr("alpha", alpha))),
		node(nodePB("Relu", "relu", []string{"h"}, []string{"r"})),
		node(nodePB("MatMul", "fc2", []string{"r", "w2"}, []string{"m"})),
		node(nodePB("Add", "bias2", []string{"m", "b2"}, []string{"y"})),
		output(valueInfoPB("y", dtFloat, -1, 3)),
	)
	m, err := Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return m
}

// TestPackedWeightsFollowChanges runs Gemm and MatMul with initializer
// weights in inference mode (the packed path) against the recorded
// forward, before and after the weights change through LoadStateDict and
// an in-place write marked with MarkChanged.
func TestPackedWeightsFollowChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		transB bool
		alpha  float32
	}{{true, 1}, {false, 1}, {true, 0.5}} {
		name := fmt.Sprintf("transB=%v alpha=%v", tc.transB, tc.alpha)
		m := packedMLP(t, r, tc.transB, tc.alpha)
		x := tensor.RandN(r, 0, 1, 9, 6)
		check := func(what string) {
			t.Helper()
			want := m.Forward(autograd.Constant(x)).Value()
			for _, rows := range []int{1, 9} {
				in := tensor.New(x.Data()[:rows*6], rows, 6)
				got := m.Forward(autograd.NoGrad(in)).Value()
				require.InDeltaSlice(t, want.Data()[:rows*3], got.Data(), 1e-5, "%s: %s, %d rows", name, what, rows)
			}
		}
		check("as loaded")
		state := nn.StateDict(m)
		for i := range state {
			state[i].Value = tensor.RandN(r, 0, 1, state[i].Value.Shape()...)
		}
		require.NoError(t, nn.LoadStateDict(m, state))
		check("after LoadStateDict")
		for _, p := range m.Params() {
			tensor.ScaleInPlace(p.Value(), -3)
			p.MarkChanged()
		}
		check("after MarkChanged")
	}
}
