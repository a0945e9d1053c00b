package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestSequentialFusesBatchNormReLU checks that a Sequential running a
// BatchNorm2D and a ReLU as one op (autograd.BatchNormReLU) gives the
// values, running statistics and (to float32 rounding) gradients of the
// two layers run one after the other, in training mode and in evaluation
// mode, where it does not fuse.
func TestSequentialFusesBatchNormReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := tensor.RandN(r, 0, 1, 7, 3, 5, 5)
	gy := tensor.RandN(r, 0, 1, 7, 3, 5, 5)
	for _, eval := range []bool{false, true} {
		run := func(fused bool) (y *tensor.Tensor, grads []*tensor.Tensor, bn *BatchNorm) {
			bn = NewBatchNorm2D(3)
			copy(bn.Weight.Value().Data(), []float32{1.5, -0.5, 1})
			copy(bn.Bias.Value().Data(), []float32{0.1, 0.2, -0.3})
			if eval {
				copy(bn.RunningMean.Value().Data(), []float32{0.1, -0.2, 0.3})
				Eval(bn)
			}
			xv := autograd.NewVar(x)
			var out *autograd.Var
			if fused {
				out = NewSequential(bn, NewReLU()).Forward(xv)
			} else {
				out = NewReLU().Forward(bn.Forward(xv))
			}
			out.BackwardWith(gy)
			return out.Value(), []*tensor.Tensor{xv.Grad(), bn.Weight.Grad(), bn.Bias.Grad()}, bn
		}
		wantY, wantG, wantBN := run(false)
		gotY, gotG, gotBN := run(true)
		require.Equal(t, wantY.Data(), gotY.Data(), "eval %v: output", eval)
		require.Equal(t, wantBN.RunningMean.Value().Data(), gotBN.RunningMean.Value().Data())
		require.Equal(t, wantBN.RunningVar.Value().Data(), gotBN.RunningVar.Value().Data())
		require.Equal(t, wantBN.NumBatchesTracked.Value().Data(), gotBN.NumBatchesTracked.Value().Data())
		for j := range wantG {
			require.InDeltaSlice(t, wantG[j].Data(), gotG[j].Data(), 1e-5, "eval %v: gradient %d", eval, j)
		}
		// The Sequential above takes the fused path exactly when this does
		// (after the comparisons: it updates the running statistics).
		_, fuses := gotBN.forwardWithNext(autograd.NewVar(x), NewReLU())
		require.Equal(t, !eval, fuses, "eval %v: fused", eval)
	}
}

// TestSequentialFusesBatchNormReLUMaxPool checks that a Sequential running
// a BatchNorm2D, a ReLU and a 2×2 MaxPool2D as one op
// (autograd.BatchNormReLUMaxPool) gives the values, running statistics
// and (to float32 rounding) gradients of the three layers run one after
// the other, in training mode (where it fuses, odd planes included) and
// in evaluation mode and with other pooling (where it does not).
func TestSequentialFusesBatchNormReLUMaxPool(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		x    []int
		pool *MaxPool2D
		eval bool
		fuse bool
	}{
		{x: []int{7, 3, 5, 5}, pool: NewMaxPool2D(2), fuse: true},
		{x: []int{4, 3, 8, 6}, pool: NewMaxPool2D(2, WithStride(2)), fuse: true},
		{x: []int{4, 3, 8, 6}, pool: NewMaxPool2D(2), eval: true},
		{x: []int{4, 3, 8, 6}, pool: NewMaxPool2D(3)},
		{x: []int{4, 3, 8, 6}, pool: NewMaxPool2D(2, WithStride(1))},
		{x: []int{4, 3, 1, 6}, pool: NewMaxPool2D(1)},
	} {
		x := tensor.RandN(r, 0, 1, tc.x...)
		run := func(fused bool) (y *tensor.Tensor, grads []*tensor.Tensor, bn *BatchNorm) {
			bn = NewBatchNorm2D(3)
			copy(bn.Weight.Value().Data(), []float32{1.5, -0.5, 1})
			copy(bn.Bias.Value().Data(), []float32{0.1, 0.2, -0.3})
			if tc.eval {
				copy(bn.RunningMean.Value().Data(), []float32{0.1, -0.2, 0.3})
				Eval(bn)
			}
			xv := autograd.NewVar(x)
			var out *autograd.Var
			if fused {
				out = NewSequential(bn, NewReLU(), tc.pool).Forward(xv)
			} else {
				out = tc.pool.Forward(NewReLU().Forward(bn.Forward(xv)))
			}
			out.BackwardWith(tensor.RandN(rand.New(rand.NewPCG(7, 8)), 0, 1, out.Shape()...))
			return out.Value(), []*tensor.Tensor{xv.Grad(), bn.Weight.Grad(), bn.Bias.Grad()}, bn
		}
		wantY, wantG, wantBN := run(false)
		gotY, gotG, gotBN := run(true)
		require.Equal(t, wantY.Shape(), gotY.Shape(), "%+v: output", tc)
		require.Equal(t, wantY.Data(), gotY.Data(), "%+v: output", tc)
		require.Equal(t, wantBN.RunningMean.Value().Data(), gotBN.RunningMean.Value().Data())
		require.Equal(t, wantBN.RunningVar.Value().Data(), gotBN.RunningVar.Value().Data())
		require.Equal(t, wantBN.NumBatchesTracked.Value().Data(), gotBN.NumBatchesTracked.Value().Data())
		for j := range wantG {
			require.InDeltaSlice(t, wantG[j].Data(), gotG[j].Data(), 1e-5, "%+v: gradient %d", tc, j)
		}
		// The Sequential above takes the three-layer path exactly when
		// this does (after the comparisons: it updates the statistics).
		_, k := gotBN.forwardChain(autograd.NewVar(x), []Module{NewReLU(), tc.pool})
		require.Equal(t, tc.fuse, k == 2, "%+v: fused", tc)
	}
}
