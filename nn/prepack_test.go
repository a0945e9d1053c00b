package nn

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestDenseInferenceMatchesTraining runs every activation through the
// packed inference path (NoGrad and arena inputs, ranks 2 and 3, batches
// of 1, 2 and 64) and compares it with the recorded training forward.
func TestDenseInferenceMatchesTraining(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	acts := []Activation{ActNone, ActReLU, ActLeakyReLU, ActGELU, ActSigmoid, ActTanh, ActSoftmax, ActLogSoftmax}
	for _, act := range acts {
		for _, bias := range []bool{true, false} {
			opts := []Option{WithActivation(act), WithSeed(uint64(act) + 1)}
			if !bias {
				opts = append(opts, WithoutBias())
			}
			d := NewDense(37, 19, opts...)
			PackForInference(d)
			for _, shape := range [][]int{{1, 37}, {2, 37}, {64, 37}, {3, 5, 37}} {
				x := tensor.RandN(r, 0, 1, shape...)
				want := d.Forward(autograd.Constant(x)).Value()
				arena := autograd.NewArena()
				for name, in := range map[string]*autograd.Var{"NoGrad": autograd.NoGrad(x), "Arena.Input": arena.Input(x)} {
					got := d.Forward(in)
					msg := fmt.Sprintf("%v bias=%v %v %s", act, bias, shape, name)
					require.False(t, got.RequiresGrad(), msg)
					require.Equal(t, want.Shape(), got.Value().Shape(), msg)
					require.InDeltaSlice(t, want.Data(), got.Value().Data(), 1e-5, msg)
				}
			}
			require.NotNil(t, d.packed.p.Load(), "%v: inference used the packed weight", act)
		}
	}
}

// TestDensePackedWeightFollowsChanges checks each way a weight can change
// after an inference forward packed it: an in-place write marked with
// MarkChanged, a new tensor (SetValue), LoadStateDict; and that an
// unchanged weight is not packed again.
func TestDensePackedWeightFollowsChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	d := NewDense(20, 30, WithActivation(ActReLU), WithSeed(1))
	PackForInference(d)
	x := tensor.RandN(r, 0, 1, 8, 20)
	infer := func() []float32 { return d.Forward(autograd.NoGrad(x)).Value().Data() }
	train := func() []float32 { return d.Forward(autograd.Constant(x)).Value().Data() }
	require.InDeltaSlice(t, train(), infer(), 1e-5)
	first := d.packed.p.Load()
	infer()
	require.Same(t, first, d.packed.p.Load(), "an unchanged weight is not packed again")

	tensor.ScaleInPlace(d.Weight.Value(), -2)
	d.Weight.MarkChanged()
	require.InDeltaSlice(t, train(), infer(), 1e-5, "after MarkChanged")

	d.Weight.SetValue(tensor.RandN(r, 0, 1, 30, 20))
	require.InDeltaSlice(t, train(), infer(), 1e-5, "after SetValue")

	state := []NamedTensor{{Name: "weight", Value: tensor.RandN(r, 0, 1, 30, 20)}, {Name: "bias", Value: tensor.RandN(r, 0, 1, 30)}}
	require.NoError(t, LoadStateDict(d, state))
	require.InDeltaSlice(t, train(), infer(), 1e-5, "after LoadStateDict")
}

// TestDenseUnmarkedWritesSeen is the hand-written update loop: a weight
// updated in place with tensor functions and no MarkChanged. A layer whose
// weights were never passed to PackForInference keeps no packed copy, so
// inference sees every write (a stale copy would answer with the old
// weights).
func TestDenseUnmarkedWritesSeen(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	d := NewDense(20, 30, WithActivation(ActReLU), WithSeed(3))
	x := tensor.RandN(r, 0, 1, 8, 20)
	infer := func() []float32 { return d.Forward(autograd.NoGrad(x)).Value().Data() }
	train := func() []float32 { return d.Forward(autograd.Constant(x)).Value().Data() }
	require.InDeltaSlice(t, train(), infer(), 1e-5)
	for range 3 {
		tensor.AddScaled(d.Weight.Value(), -0.5, tensor.RandN(r, 0, 1, 30, 20))
		require.InDeltaSlice(t, train(), infer(), 1e-5, "after an unmarked in-place update")
	}
	require.Nil(t, d.packed.p.Load(), "no packed copy is kept for a weight that is not cacheable")
}

// TestDenseConcurrentInference has many goroutines run a fresh layer at
// once, racing to pack its weight (run it with -race).
func TestDenseConcurrentInference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	d := NewDense(50, 40, WithActivation(ActTanh), WithSeed(2))
	PackForInference(d)
	x := tensor.RandN(r, 0, 1, 16, 50)
	want := d.Forward(autograd.Constant(x)).Value().Data()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for g := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			arena := autograd.NewArena()
			for range 20 {
				arena.Reset()
				got := d.Forward(arena.Input(x)).Value().Data()
				for i := range got {
					if d := got[i] - want[i]; d > 1e-5 || d < -1e-5 {
						errs[g] = fmt.Errorf("goroutine %d: y[%d] = %g, want %g", g, i, got[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

// TestGPTMLPPackedMatchesTraining checks the MLP's inference path, whose
// GELU runs in the packed product's epilogue, against the recorded
// training forward, with and without biases, and that it used the packed
// weight.
func TestGPTMLPPackedMatchesTraining(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, noBias := range []bool{false, true} {
		b := NewGPTBlock(GPTConfig{DModel: 24, Heads: 2, NoBias: noBias}, WithSeed(7))
		PackForInference(b)
		for _, shape := range [][]int{{1, 1, 24}, {2, 7, 24}} {
			x := tensor.RandN(r, 0, 1, shape...)
			want := b.MLP.Forward(autograd.Constant(x)).Value()
			got := b.MLP.Forward(autograd.NoGrad(x))
			require.Equal(t, want.Shape(), got.Value().Shape())
			require.InDeltaSlice(t, want.Data(), got.Value().Data(), 1e-5, "noBias=%v %v", noBias, shape)
		}
		require.NotNil(t, b.MLP.CFC.packed.p.Load(), "c_fc used its packed weight")
	}
}
