package optim

import (
	"math"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/stretchr/testify/require"
)

// problem is a function to minimise, with its gradient written by hand.
type problem struct {
	name  string
	start []float32
	min   []float64
	grad  func(x, g []float32)
	tol   float64 // required distance to min at the end
}

var (
	// quadratic is ½·((x−1)² + 10·(y+2)²), condition number 10.
	quadratic = problem{
		name:  "quadratic",
		start: []float32{-3, 4},
		min:   []float64{1, -2},
		grad: func(x, g []float32) {
			g[0] = x[0] - 1
			g[1] = 10 * (x[1] + 2)
		},
		tol: 1e-3,
	}
	// rosenbrock is (1−x)² + 100·(y−x²)², minimum at (1, 1).
	rosenbrock = problem{
		name:  "rosenbrock",
		start: []float32{-1.5, 2},
		min:   []float64{1, 1},
		grad: func(x, g []float32) {
			a, b := x[0], x[1]
			g[0] = -2*(1-a) - 400*a*(b-a*a)
			g[1] = 200 * (b - a*a)
		},
		tol: 1e-2,
	}
)

// minimise runs opt for steps steps and returns the final distance to the
// minimum.
func minimise(pr problem, build func([]*nn.Param) Optimizer, steps int) float64 {
	p := newParam("x", pr.start...)
	opt := build([]*nn.Param{p})
	g := make([]float32, len(pr.start))
	for range steps {
		pr.grad(p.Value().Data(), g)
		setGrad(p, g...)
		opt.Step()
	}
	var d float64
	for i, v := range p.Value().Data() {
		d = math.Hypot(d, float64(v)-pr.min[i])
	}
	return d
}

// TestConverges checks that each optimizer minimises a convex quadratic to
// within 1e-3 and the Rosenbrock function to within 1e-2 from a fixed start
// in the stated number of steps.
func TestConverges(t *testing.T) {
	cases := []struct {
		name      string
		quad      func([]*nn.Param) Optimizer
		quadSteps int
		rosen     func([]*nn.Param) Optimizer
		rosSteps  int
	}{
		{"sgd",
			func(p []*nn.Param) Optimizer { return NewSGD(p, SGDConfig{LR: 0.1}) }, 200,
			func(p []*nn.Param) Optimizer { return NewSGD(p, SGDConfig{LR: 1e-3, Momentum: 0.9}) }, 2000},
		{"sgd nesterov",
			func(p []*nn.Param) Optimizer { return NewSGD(p, SGDConfig{LR: 0.05, Momentum: 0.5, Nesterov: true}) }, 200,
			func(p []*nn.Param) Optimizer { return NewSGD(p, SGDConfig{LR: 1e-3, Momentum: 0.9, Nesterov: true}) }, 2000},
		{"adam",
			func(p []*nn.Param) Optimizer { return NewAdam(p, AdamConfig{LR: 0.05}) }, 1000,
			func(p []*nn.Param) Optimizer { return NewAdam(p, AdamConfig{LR: 1e-2}) }, 5000},
		{"adam amsgrad",
			func(p []*nn.Param) Optimizer { return NewAdam(p, AdamConfig{LR: 0.05, AMSGrad: true}) }, 1000,
			func(p []*nn.Param) Optimizer { return NewAdam(p, AdamConfig{LR: 1e-2, AMSGrad: true}) }, 10000},
		{"adamw",
			func(p []*nn.Param) Optimizer { return NewAdamW(p, AdamWConfig{LR: 0.05, WeightDecay: Zero}) }, 1000,
			func(p []*nn.Param) Optimizer { return NewAdamW(p, AdamWConfig{LR: 1e-2, WeightDecay: Zero}) }, 5000},
		{"rmsprop",
			func(p []*nn.Param) Optimizer { return NewRMSprop(p, RMSpropConfig{LR: 0.01}) }, 1500,
			func(p []*nn.Param) Optimizer { return NewRMSprop(p, RMSpropConfig{LR: 1e-3}) }, 10000},
		{"rmsprop momentum",
			func(p []*nn.Param) Optimizer { return NewRMSprop(p, RMSpropConfig{LR: 1e-3, Momentum: 0.9}) }, 1500,
			func(p []*nn.Param) Optimizer { return NewRMSprop(p, RMSpropConfig{LR: 1e-4, Momentum: 0.9}) }, 5000},
		{"rmsprop centered",
			func(p []*nn.Param) Optimizer { return NewRMSprop(p, RMSpropConfig{LR: 0.01, Centered: true}) }, 1500,
			func(p []*nn.Param) Optimizer { return NewRMSprop(p, RMSpropConfig{LR: 1e-3, Centered: true}) }, 8000},
		{"adagrad",
			func(p []*nn.Param) Optimizer { return NewAdagrad(p, AdagradConfig{LR: 1}) }, 300,
			func(p []*nn.Param) Optimizer { return NewAdagrad(p, AdagradConfig{LR: 0.5}) }, 15000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := minimise(quadratic, c.quad, c.quadSteps)
			require.Lessf(t, d, quadratic.tol, "quadratic: distance %v after %d steps", d, c.quadSteps)
			d = minimise(rosenbrock, c.rosen, c.rosSteps)
			require.Lessf(t, d, rosenbrock.tol, "rosenbrock: distance %v after %d steps", d, c.rosSteps)
		})
	}
}
