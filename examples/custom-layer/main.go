// Command custom-layer shows how to extend shoshin: a user-defined layer (a
// gated linear unit built from two Dense layers) and a user-defined
// differentiable operation (SiLU, written as an autograd.Function). Both
// are gradient-checked at start-up, then a small model built from them is
// trained on a synthetic three-class spiral with a plain SGD loop.
//
//	go run ./examples/custom-layer
package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// silu is the differentiable operation x·σ(x) (Swish). Forward keeps σ(x)
// for Backward, so each call of autograd.Apply gets a fresh value.
type silu struct {
	x, s *tensor.Tensor
}

func (f *silu) Name() string { return "SiLU" }

func (f *silu) Forward(in ...*tensor.Tensor) *tensor.Tensor {
	f.x = in[0]
	f.s = tensor.Sigmoid(f.x)
	return tensor.Mul(f.x, f.s)
}

// Backward: d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x))).
func (f *silu) Backward(g *tensor.Tensor) []*tensor.Tensor {
	gx := tensor.ZerosLike(f.x)
	d, gd, xd, sd := gx.Data(), g.Data(), f.x.Data(), f.s.Data()
	for i := range d {
		s := sd[i]
		d[i] = gd[i] * s * (1 + xd[i]*(1-s))
	}
	return []*tensor.Tensor{gx}
}

// SiLU applies x·σ(x) element-wise.
func SiLU(x *autograd.Var) *autograd.Var { return autograd.Apply(&silu{}, x) }

// SiLULayer wraps the op as a parameter-free Module.
type SiLULayer struct{}

// Forward applies SiLU.
func (SiLULayer) Forward(x *autograd.Var) *autograd.Var { return SiLU(x) }

// Params returns nil.
func (SiLULayer) Params() []*nn.Param { return nil }

// GLU is a gated linear unit: value(x) ⊙ σ(gate(x)). Its parameters are
// named "value.weight", "value.bias", "gate.weight" and "gate.bias", and
// gain a prefix when the layer sits in a Sequential.
type GLU struct {
	value, gate *nn.Dense
}

// NewGLU returns a GLU from in to out features.
func NewGLU(in, out int, seed uint64) *GLU {
	return &GLU{
		value: nn.Register("value", nn.NewDense(in, out, nn.WithSeed(seed))),
		gate:  nn.Register("gate", nn.NewDense(in, out, nn.WithSeed(seed+1), nn.WithActivation(nn.ActSigmoid))),
	}
}

// Forward computes value(x) ⊙ σ(gate(x)).
func (g *GLU) Forward(x *autograd.Var) *autograd.Var {
	return autograd.Mul(g.value.Forward(x), g.gate.Forward(x))
}

// Params returns both Dense layers' parameters.
func (g *GLU) Params() []*nn.Param { return append(g.value.Params(), g.gate.Params()...) }

// spiral returns n points per class of a k-armed spiral with labels.
func spiral(n, k int, r *rand.Rand) (*tensor.Tensor, *tensor.Tensor) {
	x := tensor.Zeros(n*k, 2)
	y := tensor.Zeros(n * k)
	for c := range k {
		for i := range n {
			t := float64(i) / float64(n)
			angle := 2*math.Pi*float64(c)/float64(k) + 4*t + 0.2*r.NormFloat64()
			j := c*n + i
			x.Set(float32(t*math.Cos(angle)), j, 0)
			x.Set(float32(t*math.Sin(angle)), j, 1)
			y.Data()[j] = float32(c)
		}
	}
	return x, y
}

func main() {
	res, err := run(os.Stdout, 200)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if res.testAccuracy < 0.9 {
		os.Exit(1)
	}
}

// outcome is what a run found, for the tests.
type outcome struct {
	// siluCheck and gluCheck are the gradient checks of the custom op and
	// layer.
	siluCheck, gluCheck autograd.GradCheckResult
	// losses holds the mean training loss of every epoch.
	losses []float64
	// testAccuracy is the accuracy on held-out points.
	testAccuracy float64
}

// run checks the gradients, then trains for the given number of epochs,
// printing to w. A failed gradient check is an error.
func run(w io.Writer, epochs int) (*outcome, error) {
	res := &outcome{}
	// 1. Check the custom op and the custom layer against finite
	//    differences.
	r := rand.New(rand.NewPCG(1, 2))
	var err error
	res.siluCheck, err = autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var { return SiLU(xs[0]) },
		[]*tensor.Tensor{tensor.RandU(r, -3, 3, 4, 5)}, autograd.GradCheckOptions{})
	fmt.Fprintf(w, "gradient check SiLU: worst abs error %.2e (%.2f× tolerance)\n", res.siluCheck.AbsErr, res.siluCheck.Excess)
	if err != nil {
		return res, err
	}
	glu := NewGLU(3, 4, 7)
	ps := glu.Params()
	inputs := []*tensor.Tensor{tensor.RandU(r, -1, 1, 5, 3)}
	for _, p := range ps {
		inputs = append(inputs, p.Value())
	}
	res.gluCheck, err = autograd.CheckGrad(func(xs ...*autograd.Var) *autograd.Var {
		for i, p := range ps {
			p.Var = xs[i+1]
		}
		return glu.Forward(xs[0])
	}, inputs, autograd.GradCheckOptions{})
	fmt.Fprintf(w, "gradient check GLU:  worst abs error %.2e (%.2f× tolerance)\n", res.gluCheck.AbsErr, res.gluCheck.Excess)
	if err != nil {
		return res, err
	}

	// 2. Build a model from the custom pieces and train it.
	model := nn.NewSequential(
		NewGLU(2, 64, 10),
		SiLULayer{},
		nn.NewDense(64, 64, nn.WithSeed(12)),
		SiLULayer{},
		nn.NewDense(64, 3, nn.WithSeed(13)),
	)
	fmt.Fprintln(w)
	fmt.Fprint(w, nn.Summary(model, 2))
	fmt.Fprintln(w)

	x, y := spiral(300, 3, rand.New(rand.NewPCG(3, 4)))
	xTest, yTest := spiral(100, 3, rand.New(rand.NewPCG(8, 9)))
	n := x.Dim(0)
	params := model.Params()
	velocity := make([]*tensor.Tensor, len(params))
	for i, p := range params {
		velocity[i] = tensor.ZerosLike(p.Value())
	}
	const (
		batch    = 64
		lr       = 0.05
		momentum = 0.9
	)
	var loss nn.Loss = nn.CrossEntropyLoss{}
	shuffle := rand.New(rand.NewPCG(5, 6))
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	for epoch := 1; epoch <= epochs; epoch++ {
		shuffle.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		total := 0.0
		for start := 0; start < n; start += batch {
			idx := order[start:min(start+batch, n)]
			xb := tensor.Index(x, idx)
			yb := tensor.Index(y, idx)
			for _, p := range params {
				p.ZeroGrad()
			}
			l := loss.Forward(model.Forward(autograd.Constant(xb)), yb)
			l.Backward()
			total += float64(l.Value().Item()) * float64(len(idx))
			// SGD with momentum: v ← μ·v + g; p ← p − lr·v.
			for i, p := range params {
				tensor.ScaleInPlace(velocity[i], momentum)
				tensor.AddInPlace(velocity[i], p.Grad())
				tensor.AddScaled(p.Value(), -lr, velocity[i])
			}
		}
		res.losses = append(res.losses, total/float64(n))
		if epoch == 1 || epoch%25 == 0 {
			fmt.Fprintf(w, "epoch %3d  loss %.4f  train accuracy %.3f\n", epoch, total/float64(n), accuracy(model, x, y))
		}
	}
	res.testAccuracy = accuracy(model, xTest, yTest)
	fmt.Fprintf(w, "final accuracy on %d held-out points: %.3f\n", xTest.Dim(0), res.testAccuracy)
	return res, nil
}

// accuracy runs the model without recording a graph and compares the
// arg-max class with the labels.
func accuracy(m nn.Module, x, y *tensor.Tensor) float64 {
	pred := tensor.ArgMax(m.Forward(autograd.NoGrad(x)).Value(), 1)
	right := 0
	for i, p := range pred {
		if float32(p) == y.Data()[i] {
			right++
		}
	}
	return float64(right) / float64(len(pred))
}
