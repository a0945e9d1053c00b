package quant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
	"github.com/stretchr/testify/require"
)

// TestQuantizeRowsHandComputed: scale = max|w|/127, ties round away from
// zero (−63.5 → −64, 0.5 → 1, 1.5 → 2, −2.5 → −3), zero rows give scale 0.
func TestQuantizeRowsHandComputed(t *testing.T) {
	w := []float32{127, -63.5, 0.5, 1.5, -2.5, 0, 0, 0, 0, 0, -2.54, 1.27, 0, 0.01, 2.54}
	q, s := quantizeRows(w, 3, 5)
	require.Equal(t, []float32{1, 0, 0.02}, s)
	require.Equal(t, []int8{127, -64, 1, 2, -3, 0, 0, 0, 0, 0, -127, 64, 0, 1, 127}, q)
}

// TestQuantizeActivationsHandComputed: lo = min(0, x), hi = max(0, x),
// scale = (hi−lo)/127, zero point round(−lo/scale), ties round up (−0.5
// → 0 above the zero point, 0.5 → 1).
func TestQuantizeActivationsHandComputed(t *testing.T) {
	x := []float32{-1, 0, 126, 0.5, -0.5, 0, 0, 0, 0, 0, 0, 2.54, 1.27, 0.03, 0.01}
	q := make([]uint8, 15)
	s := make([]float32, 3)
	zp := make([]int32, 3)
	quantizeActivations(x, 3, 5, q, 5, s, zp)
	require.Equal(t, []float32{1, 0, 0.02}, s)
	require.Equal(t, []int32{1, 0, 0}, zp)
	require.Equal(t, []uint8{0, 1, 127, 2, 1, 0, 0, 0, 0, 0, 0, 127, 64, 2, 1}, q)
}

func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(rng.NormFloat64())
	}
	return t
}

// TestDenseErrorBound checks each output of a quantised Dense against the
// float layer with the per-element bound that follows from the scales,
// |y − ŷ| ≤ Σ_p |x_p|·sw_j/2 + Σ_p |ŵ_jp|·sa_i/2 (weights within sw/2,
// inputs within sa/2), and against the product of the dequantised values,
// which the int8 path must reproduce up to float32 rounding.
func TestDenseErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][3]int{{1, 1, 1}, {5, 37, 19}, {7, 100, 64}, {3, 784, 10}} {
		rows, in, out := sz[0], sz[1], sz[2]
		d := nn.NewDense(in, out, nn.WithSeed(5))
		x := randTensor(rng, rows, in)
		if rows == 5 {
			for i := 0; i < in; i++ { // a non-negative row, as after ReLU
				x.Data()[i] = float32(math.Abs(float64(x.Data()[i])))
			}
		}
		want := d.Forward(autograd.NoGrad(x)).Value().Data()
		qd := NewDense(d)
		got := qd.Forward(autograd.NoGrad(x)).Value().Data()
		aq := make([]uint8, rows*in)
		sa := make([]float32, rows)
		zp := make([]int32, rows)
		quantizeActivations(x.Data(), rows, in, aq, in, sa, zp)
		wq, sw := qd.l.weight.Value().Data(), qd.l.scale.Value().Data()
		b := d.Bias.Value().Data()
		for i := range rows {
			for j := range out {
				var bound, deq, mag float64
				for p := range in {
					xv := float64(x.Data()[i*in+p])
					xh := float64(sa[i]) * float64(int32(aq[i*in+p])-zp[i])
					wh := float64(sw[j]) * float64(wq[j*in+p])
					require.LessOrEqual(t, math.Abs(xv-xh), float64(sa[i])/2*(1+1e-5), "input %d,%d", i, p)
					bound += math.Abs(xv)*float64(sw[j])/2 + math.Abs(wh)*float64(sa[i])/2
					deq += xh * wh
					mag += math.Abs(xh * wh)
				}
				deq += float64(b[j])
				e := float64(got[i*out+j])
				require.InDelta(t, deq, e, 1e-5*(mag+1), "dequantised product [%d,%d] of %v", i, j, sz)
				require.LessOrEqual(t, math.Abs(e-float64(want[i*out+j])), bound+1e-5*(mag+1), "bound [%d,%d] of %v", i, j, sz)
			}
		}
	}
}

func TestTapedForwardPanics(t *testing.T) {
	d := NewDense(nn.NewDense(3, 2))
	x := autograd.NewVar(tensor.Zeros(1, 3))
	require.PanicsWithValue(t, "quant.Dense.Forward: quantised layers run inference only, and this input requires a gradient; run the model through train.Predict or on autograd.NoGrad inputs, and train the float model", func() { d.Forward(x) })
	// A constant input runs.
	require.Equal(t, []int{1, 2}, d.Forward(autograd.Constant(tensor.Zeros(1, 3))).Shape())
	require.Nil(t, d.Params())
	require.PanicsWithValue(t, "quant.Dense.Forward: input [1 4] does not end in 3 features (weight [2 3])", func() { d.Forward(autograd.NoGrad(tensor.Zeros(1, 4))) })
}

func mlp(seed uint64) *nn.Sequential {
	return nn.NewSequential(
		nn.NewFlatten(),
		nn.NewDense(28*28, 128, nn.WithActivation(nn.ActReLU), nn.WithSeed(seed)),
		nn.NewDense(128, 10, nn.WithSeed(seed+1)),
	)
}

// TestSaveLoad saves a quantised MLP (I8 weights, F32 scales, about a
// quarter of the float file), loads it into a model quantised from other
// weights and checks that the predictions are then identical.
func TestSaveLoad(t *testing.T) {
	f := mlp(1)
	q, err := Quantize(f)
	require.NoError(t, err)
	var fb, qb bytes.Buffer
	require.NoError(t, nn.Save(&fb, f))
	require.NoError(t, nn.Save(&qb, q))
	ratio := float64(fb.Len()) / float64(qb.Len())
	t.Logf("float file %d bytes, int8 file %d bytes: %.2f× smaller", fb.Len(), qb.Len(), ratio)
	require.Greater(t, ratio, 3.8)
	ts, _, err := nn.ReadTensors(bytes.NewReader(qb.Bytes()))
	require.NoError(t, err)
	dtypes := map[string]nn.Dtype{}
	for _, x := range ts {
		dtypes[x.Name] = x.Dtype
	}
	require.Equal(t, map[string]nn.Dtype{"1.weight": nn.Int8, "1.weight_scale": nn.Float32, "1.bias": nn.Float32,
		"2.weight": nn.Int8, "2.weight_scale": nn.Float32, "2.bias": nn.Float32}, dtypes)

	x := randTensor(rand.New(rand.NewPCG(1, 1)), 9, 1, 28, 28)
	want, err := train.Predict(q, x, 4)
	require.NoError(t, err)
	other, err := Quantize(mlp(7))
	require.NoError(t, err)
	before, err := train.Predict(other, x, 4)
	require.NoError(t, err)
	require.NotEqual(t, want.Data(), before.Data())
	require.NoError(t, nn.Load(bytes.NewReader(qb.Bytes()), other))
	got, err := train.Predict(other, x, 4)
	require.NoError(t, err)
	require.Equal(t, want.Data(), got.Data())
	// The float model is untouched and still differs from the int8 one.
	require.NotEqual(t, f.Layer(1), other.(*nn.Sequential).Layer(1))
}

func TestQuantizeErrors(t *testing.T) {
	_, err := Quantize(nil)
	require.EqualError(t, err, "quant.Quantize: the model is nil")
	_, err = Quantize(nn.NewSequential(nn.NewFlatten(), nn.NewReLU()))
	require.EqualError(t, err, "quant.Quantize: *nn.Sequential has no Dense or Conv2D layer to quantise")
	_, err = Quantize(nn.NewSequential(nn.NewFlatten(), &nn.Dense{}))
	require.EqualError(t, err, "quant.Quantize: a Dense layer is not built (use nn.NewDense) (layer 1)")
	q, err := Quantize(nn.NewSequential(nn.NewConv2D(2, 4, 3, nn.WithGroups(2)), nn.NewDense(3, 2)))
	require.NoError(t, err)
	s := q.(*nn.Sequential)
	require.IsType(t, &nn.Conv2D{}, s.Layer(0), "grouped convolutions stay float")
	require.IsType(t, &Dense{}, s.Layer(1))
}

// TestConv2D compares the int8 convolution with the float one over
// strides, padding and dilation; a layout or window error would be off
// by far more than quantisation.
func TestConv2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, o := range []struct {
		k                  int
		stride, pad, dil   int
		n, inC, outC, h, w int
	}{
		{3, 1, 0, 1, 2, 1, 5, 8, 8},
		{3, 2, 1, 1, 1, 3, 4, 9, 7},
		{2, 1, 2, 2, 3, 2, 6, 6, 5},
		{1, 1, 0, 1, 1, 4, 3, 3, 3},
	} {
		c := nn.NewConv2D(o.inC, o.outC, o.k, nn.WithStride(o.stride), nn.WithPadding(o.pad), nn.WithDilation(o.dil), nn.WithSeed(2))
		x := randTensor(rng, o.n, o.inC, o.h, o.w)
		want := c.Forward(autograd.NoGrad(x)).Value()
		got := NewConv2D(c).Forward(autograd.NoGrad(x)).Value()
		require.Equal(t, want.Shape(), got.Shape())
		var peak float32
		for _, v := range want.Data() {
			peak = max(peak, float32(math.Abs(float64(v))))
		}
		require.Less(t, tensor.MaxAbsDiff(want, got), 0.03*peak, "%+v", o)
	}
}

// TestConcurrentPredict runs one quantised model from several goroutines
// (shared scratch pools, shared packed weights) and expects every result
// to equal the serial one.
func TestConcurrentPredict(t *testing.T) {
	q, err := Quantize(mlp(3))
	require.NoError(t, err)
	x := randTensor(rand.New(rand.NewPCG(4, 4)), 33, 1, 28, 28)
	requireConcurrentPredict(t, q, x, 8)
}

// requireConcurrentPredict predicts x with q at batch size batch, then
// from four goroutines at once at batch sizes 1, 6, 11 and 16, and
// requires every result to equal the first bit for bit.
func requireConcurrentPredict(t *testing.T, q nn.Module, x *tensor.Tensor, batch int) {
	t.Helper()
	want, err := train.Predict(q, x, batch)
	require.NoError(t, err)
	errs := make(chan error, 4)
	outs := make([]*tensor.Tensor, 4)
	for g := range outs {
		go func() {
			var err error
			outs[g], err = train.Predict(q, x, 1+g*5)
			errs <- err
		}()
	}
	for range outs {
		require.NoError(t, <-errs)
	}
	for _, o := range outs {
		require.Equal(t, want.Data(), o.Data())
	}
}

// TestDenseFusedReLU checks that the ReLU fused into an int8 Dense's
// scaling gives autograd.ReLU of the plain product, bit for bit, and keeps
// NaN (a row holding NaN quantises to a NaN scale).
func TestDenseFusedReLU(t *testing.T) {
	d := NewDense(nn.NewDense(20, 7, nn.WithActivation(nn.ActReLU), nn.WithSeed(2)))
	plain := &Dense{l: d.l}
	x := randTensor(rand.New(rand.NewPCG(3, 3)), 3, 20)
	x.Data()[45] = float32(math.NaN()) // row 2
	got := d.Forward(autograd.NoGrad(x)).Value().Data()
	want := autograd.ReLU(plain.Forward(autograd.NoGrad(x))).Value().Data()
	for i := range want {
		if math.IsNaN(float64(want[i])) {
			require.True(t, math.IsNaN(float64(got[i])), "output %d", i)
			continue
		}
		require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "output %d", i)
	}
	require.True(t, math.IsNaN(float64(got[14])), "NaN row")
}
