package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/tensor"
)

// GradCheckOptions tunes CheckGrad. Zero values select the defaults.
type GradCheckOptions struct {
	// Eps is the central-difference step (default 1e-3).
	Eps float64
	// ATol and RTol bound the accepted difference: an element passes when
	// |analytic − numeric| ≤ ATol + RTol·|numeric| (defaults 1e-3 and 1e-2,
	// suited to float32 arithmetic).
	ATol, RTol float64
	// Seed fixes the random projection used to reduce a non-scalar output
	// to a scalar (default 1).
	Seed uint64
}

// GradCheckResult describes the worst-matching gradient element.
type GradCheckResult struct {
	Input    int     // which input
	Index    int     // flat element index within that input
	Analytic float64 // gradient from Backward
	Numeric  float64 // central-difference estimate
	AbsErr   float64 // |Analytic − Numeric|
	// Excess is AbsErr relative to the allowed error; above 1 fails.
	Excess float64
}

// String formats the result for test failures.
func (r GradCheckResult) String() string {
	return fmt.Sprintf("input %d element %d: analytic %.6g, numeric %.6g (abs error %.3g, %.2f× the tolerance)",
		r.Input, r.Index, r.Analytic, r.Numeric, r.AbsErr, r.Excess)
}

// CheckGrad compares the gradients Backward computes for f with central
// differences. f maps Vars built from inputs (which CheckGrad creates with
// NewVar) to an output of any shape; a non-scalar output is reduced to a
// scalar by a fixed random projection so that every output element is
// checked. CheckGrad returns the worst element and a non-nil error when it
// exceeds the tolerance. The inputs are restored before returning.
func CheckGrad(f func(xs ...*Var) *Var, inputs []*tensor.Tensor, opts GradCheckOptions) (GradCheckResult, error) {
	if opts.Eps == 0 {
		opts.Eps = 1e-3
	}
	if opts.ATol == 0 {
		opts.ATol = 1e-3
	}
	if opts.RTol == 0 {
		opts.RTol = 1e-2
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	vars := make([]*Var, len(inputs))
	for i, t := range inputs {
		vars[i] = NewVar(t)
	}
	out := f(vars...)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	proj := tensor.RandU(rng, 0.5, 1.5, out.value.Shape()...)
	// Analytic gradients.
	loss := Sum(Mul(out, Constant(proj)), false)
	loss.Backward()
	analytic := make([]*tensor.Tensor, len(inputs))
	for i, v := range vars {
		if v.grad == nil {
			analytic[i] = tensor.Zeros(inputs[i].Shape()...)
		} else {
			analytic[i] = v.grad
		}
	}
	eval := func() float64 {
		cs := make([]*Var, len(inputs))
		for i, t := range inputs {
			cs[i] = Constant(t)
		}
		o := f(cs...).value.Data()
		s := 0.0
		for j, p := range proj.Data() {
			s += float64(o[j]) * float64(p)
		}
		return s
	}
	var worst GradCheckResult
	worst.Excess = -1
	for i, t := range inputs {
		d := t.Data()
		for j := range d {
			orig := d[j]
			d[j] = orig + float32(opts.Eps)
			hiX := float64(d[j])
			fp := eval()
			d[j] = orig - float32(opts.Eps)
			loX := float64(d[j])
			fm := eval()
			d[j] = orig
			num := (fp - fm) / (hiX - loX)
			an := float64(analytic[i].Data()[j])
			abs := math.Abs(an - num)
			excess := abs / (opts.ATol + opts.RTol*math.Abs(num))
			if math.IsNaN(abs) {
				excess = math.Inf(1)
			}
			if excess > worst.Excess {
				worst = GradCheckResult{Input: i, Index: j, Analytic: an, Numeric: num, AbsErr: abs, Excess: excess}
			}
		}
	}
	if worst.Excess > 1 {
		return worst, fmt.Errorf("autograd.CheckGrad: gradient mismatch at %v", worst)
	}
	return worst, nil
}
