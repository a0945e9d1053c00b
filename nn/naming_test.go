package nn

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

func stateNames(m Module) []string { return names(StateDict(m)) }

// TestWrappingKeepsInnerNames is the bug where NewSequential(trained,
// NewSoftmax()) renamed trained's Params in place, so that trained no
// longer loaded its own saved file.
func TestWrappingKeepsInnerNames(t *testing.T) {
	trained := NewSequential(NewDense(3, 4, WithSeed(1)), NewBatchNorm1D(4), NewDense(4, 2, WithSeed(2)))
	trained.Forward(autograd.Constant(tensor.RandN(layerRand(1), 0, 1, 5, 3))) // non-trivial running stats
	own := []string{"0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight", "2.bias", "2.weight"}
	require.Equal(t, own, stateNames(trained))
	path := filepath.Join(t.TempDir(), "trained.safetensors")
	require.NoError(t, SaveFile(path, trained))

	wrapped := NewSequential(trained, NewSoftmax())
	require.Equal(t, own, stateNames(trained), "wrapping renames nothing")
	require.Equal(t, "0.0.weight", wrapped.Params()[0].Name)
	require.Equal(t, []string{"0.1.running_mean", "0.1.running_var", "0.1.num_batches_tracked"}, paramNames(wrapped.Buffers()))
	require.Contains(t, stateNames(wrapped), "0.2.bias")

	// The inner model still loads its own file, and so does a fresh copy.
	require.NoError(t, LoadFile(path, trained))
	fresh := NewSequential(NewDense(3, 4), NewBatchNorm1D(4), NewDense(4, 2))
	require.NoError(t, LoadFile(path, fresh))
	requireSameState(t, trained, fresh)

	// The wrapper saves under its own names and loads back into a wrapper
	// around a fresh model; the views write into the inner tensors.
	var buf bytes.Buffer
	require.NoError(t, Save(&buf, wrapped))
	other := NewSequential(NewDense(3, 4), NewBatchNorm1D(4), NewDense(4, 2))
	require.NoError(t, Load(bytes.NewReader(buf.Bytes()), NewSequential(other, NewSoftmax())))
	requireSameState(t, trained, other)
	require.ErrorContains(t, Load(bytes.NewReader(buf.Bytes()), NewSequential(NewDense(3, 4), NewBatchNorm1D(4), NewDense(4, 2))), "missing")

	// Nested wrapping: each level adds one prefix and changes no inner
	// level.
	outer := NewSequential(NewSequential(wrapped), NewReLU())
	require.Equal(t, "0.0.0.0.weight", outer.Params()[0].Name)
	require.Equal(t, "0.0.weight", wrapped.Params()[0].Name)
	require.Equal(t, own, stateNames(trained))
	require.Same(t, trained.Layer(0).Params()[0].Var, outer.Params()[0].Var)

	// Repeated calls return the same views, which an optimizer keys on.
	a, b := outer.Params(), outer.Params()
	for i := range a {
		require.Same(t, a[i], b[i])
	}
	require.Same(t, outer.Buffers()[2], outer.Buffers()[2])

	// A layer added to an inner Sequential after nesting shows in the outer
	// one under its index.
	trained.Add(NewDense(2, 2, WithSeed(3)))
	require.Equal(t, "0.0.0.3.weight", outer.Params()[len(outer.Params())-2].Name)
	require.Contains(t, stateNames(wrapped), "0.3.weight")
}

// TestViewsTrainTheInnerModel checks that gradients and updates made
// through a wrapper's Params reach the wrapped model.
func TestViewsTrainTheInnerModel(t *testing.T) {
	inner := NewDense(2, 1, WithSeed(1))
	w := inner.Weight.Value().Clone()
	m := NewSequential(inner, NewSigmoid())
	y := m.Forward(autograd.Constant(tensor.Ones(3, 2)))
	autograd.Sum(y, false).Backward()
	p := m.Params()[0]
	require.Same(t, inner.Weight.Var, p.Var)
	require.NotNil(t, inner.Weight.Grad())
	tensor.AddScaled(p.Value(), -1, p.Grad())
	require.NotEqual(t, w.Data(), inner.Weight.Value().Data())
	p.SetRequiresGrad(false)
	require.False(t, inner.Weight.RequiresGrad(), "freezing a view freezes the layer")
	require.Equal(t, 1, CountParams(m))
}

func TestParamViews(t *testing.T) {
	var v ParamViews
	w, b := NewParam("weight", tensor.Zeros(2)), NewParam("", tensor.Zeros(1))
	got := v.Prefix("enc", []*Param{w, nil, b})
	require.Equal(t, []string{"enc.weight", "enc"}, paramNames(got))
	require.Equal(t, "weight", w.Name)
	require.Same(t, got[0], v.Prefix("enc", []*Param{w})[0])
	require.NotSame(t, got[0], v.Prefix("dec", []*Param{w})[0], "one view per name")
	require.Same(t, w.Var, v.Prefix("dec", []*Param{w})[0].Var)
}
