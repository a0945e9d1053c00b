package onnx

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

func randTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(r.NormFloat64())
	}
	return t
}

// exportCNN builds a convnet with every exported layer kind.
func exportCNN() *nn.Sequential {
	bn := nn.NewBatchNorm2D(4)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 4 {
		bn.RunningMean.Value().Data()[i] = float32(r.NormFloat64())
		bn.RunningVar.Value().Data()[i] = 0.5 + r.Float32()
		bn.Weight.Value().Data()[i] = 1 + 0.3*float32(r.NormFloat64())
	}
	return nn.NewSequential(
		nn.NewConv2D(1, 4, 3, nn.WithSeed(1), nn.WithPadding(1), nn.WithActivation(nn.ActReLU)),
		bn,
		nn.NewMaxPool2D(2),
		nn.NewSequential(nn.NewConv2D(4, 6, 3, nn.WithSeed(2), nn.WithStride(2)), nn.NewLeakyReLU(0.1)),
		nn.NewAvgPool2D(2, nn.WithPadding(1)),
		nn.NewFlatten(),
		nn.NewDropout(0.5),
		nn.NewDense(6*2*2, 8, nn.WithSeed(3), nn.WithActivation(nn.ActTanh)),
		nn.NewDense(8, 5, nn.WithSeed(4)),
		nn.NewLogSoftmax())
}

// TestExportRoundTrip exports a convnet and an MLP, loads the files back
// and checks that the imported model gives the same outputs at another
// batch size, with the same parameter names.
func TestExportRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	mlp := nn.NewSequential(nn.NewDense(6, 5, nn.WithSeed(5), nn.WithActivation(nn.ActReLU)), nn.NewDense(5, 3, nn.WithSeed(6)), nn.NewSoftmax())
	cnn := exportCNN()
	nn.Eval(cnn)
	for _, c := range []struct {
		name  string
		m     nn.Module
		shape []int
	}{{"mlp", mlp, []int{6}}, {"cnn", cnn, []int{1, 12, 12}}} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Export(&buf, c.m, c.shape...))
			if dir := os.Getenv("ONNX_EXPORT_DIR"); dir != "" { // for checking with onnx.checker
				require.NoError(t, os.WriteFile(dir+"/"+c.name+".onnx", buf.Bytes(), 0o644))
			}
			m, err := Decode(&buf)
			require.NoError(t, err)
			var want, got []string
			for _, p := range c.m.Params() {
				want = append(want, p.Name)
			}
			for _, p := range m.Params() {
				got = append(got, p.Name)
			}
			require.Equal(t, want, got)
			x := randTensor(r, append([]int{3}, c.shape...)...)
			y := c.m.Forward(autograd.NoGrad(x)).Value()
			y2 := m.Forward(autograd.NoGrad(x)).Value()
			require.Equal(t, y.Shape(), y2.Shape())
			require.Equal(t, y.Data(), y2.Data())
		})
	}
	var buf bytes.Buffer
	err := Export(&buf, nn.NewSequential(nn.NewDense(2, 2), nn.NewFlatten(), nn.NewRNN(2, 2, nn.RNNConfig{})), 2)
	require.ErrorContains(t, err, "layer 2 (*nn.RNN): no ONNX export")
}
