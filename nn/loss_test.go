package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Expected values were computed in float64 from PyTorch's documented
// formulas and agree with torch.nn.functional.

var (
	_ nn.Loss = nn.CrossEntropyLoss{}
	_ nn.Loss = &nn.CrossEntropyLoss{}
	_ nn.Loss = nn.NLLLoss{}
	_ nn.Loss = nn.BCELoss{}
	_ nn.Loss = nn.BCEWithLogitsLoss{}
	_ nn.Loss = nn.MSELoss{}
	_ nn.Loss = nn.L1Loss{}
	_ nn.Loss = nn.HuberLoss{}
	_ nn.Loss = nn.SmoothL1Loss{}
)

func logits23() *tensor.Tensor { return tensor.New([]float32{1, 2, 3, 0.5, -1, 2}, 2, 3) }

func TestCrossEntropyLossTargets(t *testing.T) {
	cases := []struct {
		name   string
		loss   nn.Loss
		target *tensor.Tensor
		want   float64
	}{
		{"indices", nn.CrossEntropyLoss{}, tensor.New([]float32{2, 0}, 2), 1.0744586305507688},
		{"indices column", nn.CrossEntropyLoss{}, tensor.New([]float32{2, 0}, 2, 1), 1.0744586305507688},
		{"one-hot", nn.CrossEntropyLoss{}, tensor.New([]float32{0, 0, 1, 1, 0, 0}, 2, 3), 1.0744586305507688},
		{"sum", nn.CrossEntropyLoss{Reduction: nn.ReduceSum}, tensor.New([]float32{2, 0}, 2), 2.1489172611015377},
		{"smoothing", &nn.CrossEntropyLoss{LabelSmoothing: 0.1}, tensor.New([]float32{2, 0}, 2), 1.124458630550769},
		{"one-hot smoothing", nn.CrossEntropyLoss{LabelSmoothing: 0.1}, tensor.New([]float32{0, 0, 1, 1, 0, 0}, 2, 3), 1.124458630550769},
		{"probabilities", nn.CrossEntropyLoss{}, tensor.New([]float32{0.2, 0.3, 0.5, 1, 0, 0}, 2, 3), 1.424458630550769},
		{"nll", nn.NLLLoss{}, tensor.New([]float32{2, 0}, 2), 1.0744586305507688},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := autograd.NewVar(logits23())
			if _, ok := c.loss.(nn.NLLLoss); ok {
				x = autograd.LogSoftmax(x, 1)
			}
			l := c.loss.Forward(x, c.target)
			require.Empty(t, l.Shape())
			require.InDelta(t, c.want, float64(l.Value().Item()), 1e-6)
			l.Backward()
		})
	}
}

func TestCrossEntropyLossNone(t *testing.T) {
	l := nn.CrossEntropyLoss{Reduction: nn.ReduceNone}.Forward(autograd.Constant(logits23()), tensor.New([]float32{2, 0}, 2))
	require.Equal(t, []int{2}, l.Shape())
	require.InDeltaSlice(t, []float32{0.40760596, 1.7413113}, l.Value().Data(), 1e-6)
}

func TestCrossEntropyLossExtremeLogits(t *testing.T) {
	x := tensor.New([]float32{1e4, 0, -1e4, 1e4, 0, -1e4}, 2, 3)
	v := autograd.NewVar(x)
	l := nn.CrossEntropyLoss{Reduction: nn.ReduceNone}.Forward(v, tensor.New([]float32{0, 1}, 2))
	require.Equal(t, []float32{0, 1e4}, l.Value().Data())
	l.BackwardWith(tensor.Ones(2))
	require.Equal(t, []float32{0, 0, 0, 1, -1, 0}, v.Grad().Data())
}

func TestCrossEntropyLossBadTargets(t *testing.T) {
	x := autograd.Constant(logits23())
	cases := map[string]struct {
		target *tensor.Tensor
		want   string
	}{
		"fraction":  {tensor.New([]float32{0, 1.5}, 2), "nn.CrossEntropyLoss: target 1.5 of sample 1 is not a class index in [0, 3)"},
		"too large": {tensor.New([]float32{3, 0}, 2), "nn.CrossEntropyLoss: target 3 of sample 0 is not a class index in [0, 3)"},
		"negative":  {tensor.New([]float32{0, -1}, 2), "nn.CrossEntropyLoss: target -1 of sample 1 is not a class index in [0, 3)"},
		"NaN":       {tensor.New([]float32{float32(math.NaN()), 0}, 2), "nn.CrossEntropyLoss: target NaN of sample 0 is not a class index in [0, 3)"},
		"shape":     {tensor.Zeros(3), "nn.CrossEntropyLoss: target shape [3] fits neither class indices [2] nor class probabilities [2 3] for prediction shape [2 3]"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			require.PanicsWithValue(t, c.want, func() { nn.CrossEntropyLoss{}.Forward(x, c.target) })
		})
	}
	require.PanicsWithValue(t, "nn.CrossEntropyLoss: prediction must be [batch, classes] logits, got shape [6]", func() {
		nn.CrossEntropyLoss{}.Forward(autograd.Constant(tensor.Zeros(6)), tensor.Zeros(6))
	})
	require.PanicsWithValue(t, "nn.NLLLoss: prediction shape [2 3] and target shape [2 3] are not [batch, classes] and [batch]", func() {
		nn.NLLLoss{}.Forward(x, tensor.Zeros(2, 3))
	})
	require.PanicsWithValue(t, "nn.MSELoss: prediction shape [2 3] and target shape [6] differ", func() {
		nn.MSELoss{}.Forward(x, tensor.Zeros(6))
	})
}

func TestBinaryLosses(t *testing.T) {
	probs := tensor.New([]float32{0.9, 0.2, 0.5, 0, 1}, 5, 1) // [B, 1] output of a Sigmoid
	logits := tensor.New([]float32{100, -100, 0.5, -2, 3}, 5, 1)
	cases := []struct {
		name   string
		loss   nn.Loss
		pred   *tensor.Tensor
		target *tensor.Tensor
		want   []float64
	}{
		{"BCE", nn.BCELoss{Reduction: nn.ReduceNone}, probs, tensor.New([]float32{1, 0, 1, 1, 1}, 5),
			[]float64{0.10536051565782628, 0.2231435513142097, 0.6931471805599453, 100, 0}},
		{"BCEWithLogits", nn.BCEWithLogitsLoss{Reduction: nn.ReduceNone}, logits, tensor.New([]float32{0, 1, 1, 0, 0.7}, 5),
			[]float64{100, 100, 0.4740769841801067, 0.1269280110429726, 0.9485873515737421}},
		{"BCEWithLogits pos_weight", nn.BCEWithLogitsLoss{PosWeight: tensor.New([]float32{2}, 1), Reduction: nn.ReduceNone}, logits, tensor.New([]float32{0, 1, 1, 0, 0.7}, 5),
			[]float64{100, 200, 0.9481539683602134, 0.1269280110429727, 0.9825984976753614}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := autograd.NewVar(c.pred)
			l := c.loss.Forward(v, c.target)
			require.Equal(t, []int{5, 1}, l.Shape())
			for i, w := range c.want {
				require.InDelta(t, w, float64(l.Value().Data()[i]), 1e-6*math.Max(1, w))
			}
			l.BackwardWith(tensor.Ones(5, 1))
			for _, g := range v.Grad().Data() {
				require.False(t, math.IsNaN(float64(g)) || math.IsInf(float64(g), 0), "gradient %v", v.Grad())
			}
		})
	}
}

func TestRegressionLosses(t *testing.T) {
	pred := tensor.New([]float32{1, 2, -3, 0.5}, 4, 1)
	target := tensor.New([]float32{0, 2.5, 1, 1.5}, 4)
	// e = [1, −0.5, −4, −1].
	cases := []struct {
		loss nn.Loss
		want float64
	}{
		{nn.MSELoss{}, (1 + 0.25 + 16 + 1) / 4.0},
		{nn.MSELoss{Reduction: nn.ReduceSum}, 1 + 0.25 + 16 + 1},
		{nn.L1Loss{}, (1 + 0.5 + 4 + 1) / 4.0},
		{nn.HuberLoss{}, (0.5 + 0.125 + 3.5 + 0.5) / 4},
		{nn.HuberLoss{Delta: 2}, (0.5 + 0.125 + 6 + 0.5) / 4},
		{nn.SmoothL1Loss{}, (0.5 + 0.125 + 3.5 + 0.5) / 4},
		{nn.SmoothL1Loss{Beta: 0.5}, (0.75 + 0.25 + 3.75 + 0.75) / 4},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s%+v", c.loss.Name(), c.loss), func(t *testing.T) {
			l := c.loss.Forward(autograd.NewVar(pred), target)
			require.InDelta(t, c.want, float64(l.Value().Item()), 1e-6)
		})
	}
}

func TestLossNames(t *testing.T) {
	for want, l := range map[string]nn.Loss{
		"CrossEntropyLoss": nn.CrossEntropyLoss{}, "NLLLoss": nn.NLLLoss{}, "BCELoss": nn.BCELoss{},
		"BCEWithLogitsLoss": nn.BCEWithLogitsLoss{}, "MSELoss": nn.MSELoss{}, "L1Loss": nn.L1Loss{},
		"HuberLoss": nn.HuberLoss{}, "SmoothL1Loss": nn.SmoothL1Loss{},
	} {
		require.Equal(t, want, l.Name())
	}
}

func TestCrossEntropyLossGradient(t *testing.T) {
	target := tensor.New([]float32{1, 0, 3}, 3)
	for _, eps := range []float32{0, 0.1} {
		loss := nn.CrossEntropyLoss{LabelSmoothing: eps}
		x := tensor.RandN(rand.New(rand.NewPCG(1, 2)), 0, 2, 3, 4)
		res, err := autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var { return loss.Forward(xs[0], target) },
			[]*tensor.Tensor{x}, autograd.GradCheckOptions{})
		require.NoError(t, err, "%v", res)
	}
}

func ExampleCrossEntropyLoss() {
	// Two samples, three classes: raw scores from the last Dense layer.
	logits := autograd.NewVar(tensor.New([]float32{
		2, 1, 0.1,
		0.5, 2.5, 0.3,
	}, 2, 3))
	labels := tensor.New([]float32{0, 1}, 2) // class ids from the data loader

	loss := nn.CrossEntropyLoss{}.Forward(logits, labels)
	loss.Backward()
	fmt.Printf("loss %.4f\n", loss.Value().Item())
	fmt.Printf("dloss/dlogits %.4f\n", logits.Grad().Data())

	smoothed := nn.CrossEntropyLoss{LabelSmoothing: 0.1}.Forward(autograd.Constant(logits.Value()), labels)
	fmt.Printf("with label smoothing 0.1: %.4f\n", smoothed.Value().Item())
	// Output:
	// loss 0.3185
	// dloss/dlogits [-0.1705 0.1212 0.0493 0.0543 -0.0988 0.0445]
	// with label smoothing 0.1: 0.4369
}

func BenchmarkCrossEntropyLoss(b *testing.B) {
	const batch, classes = 64, 10
	x := autograd.NewVar(tensor.RandN(rand.New(rand.NewPCG(1, 2)), 0, 2, batch, classes))
	labels := tensor.Zeros(batch)
	for i := range labels.Data() {
		labels.Data()[i] = float32(i % classes)
	}
	loss := nn.CrossEntropyLoss{}
	b.ReportAllocs()
	for b.Loop() {
		loss.Forward(x, labels).Backward()
	}
}

type torchLossCase struct {
	name         string
	loss         nn.Loss
	pred, target string
	mean, sum    float64
	none, grad   []float64
}

// TestLossesMatchTorch compares every loss — value under each reduction and
// the gradient of the summed loss — with PyTorch on random inputs (see
// loss_torch_test.go).
func TestLossesMatchTorch(t *testing.T) {
	const rows, cols = 5, 4
	input := func(name string) *tensor.Tensor {
		d := torchLossInputs[name]
		if name == "idx" {
			return tensor.New(append([]float32(nil), d...), len(d))
		}
		return tensor.New(append([]float32(nil), d...), rows, cols)
	}
	near := func(t *testing.T, want float64, got float32, what string) {
		t.Helper()
		require.InDelta(t, want, float64(got), 2e-5*math.Max(1, math.Abs(want)), what)
	}
	for _, c := range torchLossCases {
		t.Run(c.name, func(t *testing.T) {
			target := input(c.target)
			reduced := func(r nn.Reduction) nn.Loss {
				switch l := c.loss.(type) {
				case nn.CrossEntropyLoss:
					l.Reduction = r
					return l
				case nn.NLLLoss:
					l.Reduction = r
					return l
				case nn.BCELoss:
					l.Reduction = r
					return l
				case nn.BCEWithLogitsLoss:
					l.Reduction = r
					return l
				case nn.MSELoss:
					l.Reduction = r
					return l
				case nn.L1Loss:
					l.Reduction = r
					return l
				case nn.HuberLoss:
					l.Reduction = r
					return l
				case nn.SmoothL1Loss:
					l.Reduction = r
					return l
				}
				panic("unknown loss")
			}
			near(t, c.mean, reduced(nn.ReduceMean).Forward(autograd.Constant(input(c.pred)), target).Value().Item(), "mean")
			none := reduced(nn.ReduceNone).Forward(autograd.Constant(input(c.pred)), target).Value().Data()
			require.Len(t, none, len(c.none))
			for i, w := range c.none {
				near(t, w, none[i], fmt.Sprint("none ", i))
			}
			x := autograd.NewVar(input(c.pred))
			l := reduced(nn.ReduceSum).Forward(x, target)
			near(t, c.sum, l.Value().Item(), "sum")
			l.Backward()
			for i, w := range c.grad {
				near(t, w, x.Grad().Data()[i], fmt.Sprint("grad ", i))
			}
		})
	}
}
