package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestSequentialFusesConvBlock checks that a Sequential running a first
// Conv2D, a BatchNorm2D, a ReLU and a 2×2 MaxPool2D as one op
// (autograd.Conv2DBatchNormReLUMaxPool) gives the values, running
// statistics and gradients of the four layers one after the other, to
// float32 rounding, and that it fuses only where it may: in training
// mode, for an input without gradient, a convolution without activation.
func TestSequentialFusesConvBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct {
		x        []int
		pad      int
		eval     bool
		grad     bool
		relu     bool
		noBias   bool
		fuse     bool
		poolSize int
	}{
		{x: []int{7, 1, 9, 9}, pad: 1, fuse: true, poolSize: 2},
		{x: []int{3, 1, 8, 7}, noBias: true, fuse: true, poolSize: 2},
		{x: []int{3, 1, 8, 7}, pad: 1, eval: true, poolSize: 2},
		{x: []int{3, 1, 8, 7}, pad: 1, grad: true, poolSize: 2},
		{x: []int{3, 1, 8, 7}, pad: 1, poolSize: 3},
		{x: []int{3, 1, 8, 7}, pad: 1, relu: true, poolSize: 2},
	} {
		x := tensor.RandN(r, 0.3, 1, tc.x...)
		gy := tensor.RandN(r, 0, 1, 1024)
		layers := func() []Module {
			opts := []Option{WithPadding(tc.pad), WithSeed(1)}
			if tc.relu {
				opts = append(opts, WithActivation(ActReLU))
			}
			if tc.noBias {
				opts = append(opts, WithoutBias())
			}
			bn := NewBatchNorm2D(4)
			copy(bn.Weight.Value().Data(), []float32{1.5, -0.5, 1, 0.7})
			copy(bn.Bias.Value().Data(), []float32{0.1, 0.2, -0.3, 0})
			if tc.eval {
				Eval(bn)
			}
			return []Module{NewConv2D(1, 4, 3, opts...), bn, NewReLU(), NewMaxPool2D(tc.poolSize)}
		}
		run := func(fused bool) (y *tensor.Tensor, grads []*tensor.Tensor, bn *BatchNorm) {
			ls := layers()
			xv := autograd.Constant(x)
			if tc.grad {
				xv = autograd.NewVar(x)
			}
			var out *autograd.Var
			if fused {
				out = NewSequential(ls...).Forward(xv)
			} else {
				out = xv
				for _, l := range ls {
					out = l.Forward(out)
				}
			}
			out.BackwardWith(tensor.New(gy.Data()[:out.Value().Size()], out.Shape()...))
			for _, p := range append(ls[0].Params(), ls[1].Params()...) {
				grads = append(grads, p.Grad())
			}
			return out.Value(), grads, ls[1].(*BatchNorm)
		}
		wantY, wantG, wantBN := run(false)
		gotY, gotG, gotBN := run(true)
		require.Equal(t, wantY.Shape(), gotY.Shape(), "%+v: output", tc)
		require.InDeltaSlice(t, wantY.Data(), gotY.Data(), 1e-5, "%+v: output", tc)
		require.InDeltaSlice(t, wantBN.RunningMean.Value().Data(), gotBN.RunningMean.Value().Data(), 1e-6, "%+v", tc)
		require.InDeltaSlice(t, wantBN.RunningVar.Value().Data(), gotBN.RunningVar.Value().Data(), 1e-6, "%+v", tc)
		require.Equal(t, wantBN.NumBatchesTracked.Value().Data(), gotBN.NumBatchesTracked.Value().Data())
		require.Len(t, gotG, len(wantG))
		for j := range wantG {
			if wantG[j] == nil {
				require.Nil(t, gotG[j], "%+v: gradient %d", tc, j)
				continue
			}
			require.InDeltaSlice(t, wantG[j].Data(), gotG[j].Data(), 1e-4, "%+v: gradient %d", tc, j)
		}
		xv := autograd.Constant(x)
		if tc.grad {
			xv = autograd.NewVar(x)
		}
		_, k := forwardConvBlock(xv, layers())
		require.Equal(t, tc.fuse, k == 4, "%+v: fused", tc)
	}
}
