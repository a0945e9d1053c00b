package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/tensor"
)

// GradCheckOptions tunes CheckGrad. Zero values select the defaults, which
// catch a systematic error of 0.5% in a gradient computed in float32.
type GradCheckOptions struct {
	// Eps is the finite-difference step for an element x, relative to
	// max(1, |x|) (default 1e-2). Each numeric derivative is the Richardson
	// extrapolation of central differences with steps Eps and Eps/2, whose
	// truncation error is O(Eps⁴), so the step can be large enough for
	// float32 rounding in f to stay small. When the two differences
	// disagree beyond their rounding noise, as they do when a kink of f
	// (ReLU at 0, a tie in a max) lies within the step, the step is
	// halved, up to ten times.
	Eps float64
	// ATol and RTol bound each element: it passes when |analytic − numeric|
	// ≤ ATol + RTol·|numeric| + noise, where noise bounds the float32
	// rounding of f's outputs divided by the step (defaults 1e-4 and 1e-2).
	// ATol is absolute: lower it to catch a wrong element of a gradient
	// whose elements are much smaller than 1e-2 (the directional check
	// below does not depend on the gradient's scale).
	ATol, RTol float64
	// DirTol bounds the directional derivatives: along each of Directions
	// unit directions u (in coordinates scaled by max(1, |x|)), the analytic
	// derivative ∑ₖ gₖ·uₖ must match the numeric one within DirTol·‖g‖₂,
	// where g is the input's scaled gradient (default 1e-3). The first
	// direction is g itself, so a gradient off by a factor 1+δ fails when
	// |δ| > DirTol; the others are random.
	DirTol float64
	// Directions is the number of directions per input (default 3; a
	// negative value turns the directional check off).
	Directions int
	// Seed fixes the random projection that reduces a non-scalar output to
	// a scalar and the random directions (default 1).
	Seed uint64
}

// GradCheckResult describes the worst element and the worst directional
// derivative CheckGrad found.
type GradCheckResult struct {
	Input    int     // which input holds the worst element
	Index    int     // flat element index within that input
	Analytic float64 // gradient from Backward
	Numeric  float64 // finite-difference estimate
	AbsErr   float64 // |Analytic − Numeric|
	// DirInput is the input with the worst directional derivative, and
	// DirErr its error relative to the input's scaled gradient norm.
	DirInput int
	DirErr   float64
	// Excess is the largest error relative to its tolerance, over every
	// element and direction; above 1 fails.
	Excess float64
}

// String formats the result for test failures.
func (r GradCheckResult) String() string {
	return fmt.Sprintf("input %d element %d: analytic %.7g, numeric %.7g (abs error %.3g); input %d directional error %.3g×‖grad‖; %.2f× the tolerance",
		r.Input, r.Index, r.Analytic, r.Numeric, r.AbsErr, r.DirInput, r.DirErr, r.Excess)
}

// maxHalvings limits how often richardson halves a step, to 2⁻¹⁰ of it.
const maxHalvings = 10

// f32Unit is the unit roundoff of float32.
const f32Unit = 1.0 / (1 << 24)

// CheckGrad compares the gradients Backward computes for f with finite
// differences. f maps Vars built from inputs (which CheckGrad creates with
// NewVar) to an output of any shape; a non-scalar output is reduced to a
// scalar by a fixed random projection so that every output element is
// checked, and the scalar is accumulated in float64. CheckGrad checks
// every element of every input's gradient (ATol, RTol), which catches
// local mistakes, and the derivative of f along a few directions per input
// (DirTol), which moves every element at once and so resolves small
// systematic errors far below float32 noise per element. It returns the
// worst match and a non-nil error when a check fails. The inputs are
// restored before returning. It evaluates f four times per input element
// (more near kinks) and twelve times per input.
func CheckGrad(f func(xs ...*Var) *Var, inputs []*tensor.Tensor, opts GradCheckOptions) (GradCheckResult, error) {
	opts = gradCheckDefaults(opts)
	vars := make([]*Var, len(inputs))
	for i, t := range inputs {
		vars[i] = NewVar(t)
	}
	out := f(vars...)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	proj := tensor.RandU(rng, 0.5, 1.5, out.value.Shape()...)
	loss := Sum(Mul(out, Constant(proj)), false)
	loss.Backward()
	c := &gradChecker{f: f, inputs: inputs, proj: proj.Data(), opts: opts, cs: make([]*Var, len(inputs))}
	c.f0 = c.eval()
	for k, v := range c.prev {
		c.mag0 += float64(c.proj[k]) * math.Abs(float64(v))
	}
	var worst GradCheckResult
	worst.Excess = -1
	for i, t := range inputs {
		an := make([]float64, t.Size())
		if g := vars[i].Grad(); g != nil {
			for j, v := range g.Data() {
				an[j] = float64(v)
			}
		}
		c.checkElements(i, an, &worst)
		c.checkDirections(i, an, rng, &worst)
	}
	if worst.Excess > 1 {
		return worst, fmt.Errorf("autograd.CheckGrad: gradient mismatch at %v", worst)
	}
	return worst, nil
}

func gradCheckDefaults(o GradCheckOptions) GradCheckOptions {
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.ATol == 0 {
		o.ATol = 1e-4
	}
	if o.RTol == 0 {
		o.RTol = 1e-2
	}
	if o.DirTol == 0 {
		o.DirTol = 1e-3
	}
	if o.Directions == 0 {
		o.Directions = 3
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// gradChecker evaluates f for CheckGrad.
type gradChecker struct {
	f      func(xs ...*Var) *Var
	inputs []*tensor.Tensor
	proj   []float32
	opts   GradCheckOptions
	cs     []*Var
	prev   []float32 // outputs of the previous eval
	f0     float64   // the projected output at the inputs
	mag0   float64   // ∑ₖ |projₖ·outputₖ| at the inputs
}

// eval returns the projected output of f at the current inputs; it keeps
// the outputs in c.prev.
func (c *gradChecker) eval() float64 {
	for i, t := range c.inputs {
		c.cs[i] = Constant(t)
	}
	o := c.f(c.cs...).value.Data()
	c.prev = append(c.prev[:0], o...)
	s := 0.0
	for j, p := range c.proj {
		s += float64(o[j]) * float64(p)
	}
	return s
}

// central returns, for the perturbation that set(+1) and set(-1) apply
// (set(0) restores the inputs) and its step h, the central difference
// (f₊ − f₋)/2h, the second difference f₊ − 2f₀ + f₋, and a bound on the
// part of the central difference that is float32 rounding of the outputs
// that changed (of all outputs, when none changed).
func (c *gradChecker) central(set func(sign float64), h float64) (slope, second, noise float64) {
	set(1)
	fp := c.eval()
	plus := append([]float32(nil), c.prev...)
	set(-1)
	fm := c.eval()
	set(0)
	var mag float64
	for k, v := range c.prev {
		if w := plus[k]; w != v {
			mag += float64(c.proj[k]) * max(math.Abs(float64(v)), math.Abs(float64(w)))
		}
	}
	if mag == 0 {
		// No output moved: either none depends on the inputs perturbed,
		// or every change was below the outputs' float32 resolution.
		mag = c.mag0
	}
	return (fp - fm) / (2 * h), fp - 2*c.f0 + fm, f32Unit * mag / h
}

// richardson extrapolates central differences with steps h and h/2 to
// remove their h² error term. It accepts the result when the two steps
// see f as smooth: the differences agree, and the second differences
// scale as h² (a kink within the step makes them scale as h, even when it
// lies so close to the input that both central differences straddle it
// alike). Otherwise it halves the step, up to maxHalvings times. It
// returns the estimate and a bound on its float32 noise, which grows as
// the step shrinks.
func (c *gradChecker) richardson(set func(h, sign float64), h float64, tol func(float64) float64) (float64, float64) {
	at := func(h float64) (float64, float64, float64) { return c.central(func(s float64) { set(h, s) }, h) }
	d1, s1, n1 := at(h)
	var num, noise float64
	for range maxHalvings + 1 {
		d2, s2, n2 := at(h / 2)
		// An output whose float32 value the smaller step leaves unchanged
		// still carries rounding error: the noise at least doubles.
		n2 = max(n2, 2*n1)
		num, noise = (4*d2-d1)/3, (4*n2+n1)/3
		slack := tol(d2)/2 + 4*(n1+n2)
		if math.Abs(d1-d2) <= slack && math.Abs(s1-4*s2)/(2*h) <= slack {
			break
		}
		d1, s1, n1, h = d2, s2, n2, h/2
	}
	return num, noise
}

// scaleOf is the step scale of an element.
func scaleOf(x float32) float64 { return max(1, math.Abs(float64(x))) }

func (c *gradChecker) checkElements(i int, an []float64, worst *GradCheckResult) {
	o := c.opts
	d := c.inputs[i].Data()
	for j := range d {
		orig := d[j]
		set := func(h, sign float64) { d[j] = float32(float64(orig) + sign*h) }
		num, noise := c.richardson(set, o.Eps*scaleOf(orig), func(v float64) float64 { return o.ATol + o.RTol*math.Abs(v) })
		abs := math.Abs(an[j] - num)
		excess := abs / (o.ATol + o.RTol*math.Abs(num) + noise)
		if math.IsNaN(abs) {
			excess = math.Inf(1)
		}
		if excess > worst.Excess {
			worst.Input, worst.Index, worst.Analytic, worst.Numeric, worst.AbsErr = i, j, an[j], num, abs
			worst.Excess = excess
		}
	}
}

func (c *gradChecker) checkDirections(i int, an []float64, rng *rand.Rand, worst *GradCheckResult) {
	o := c.opts
	d := c.inputs[i].Data()
	orig := append([]float32(nil), d...)
	// Scaled coordinates: element k moves by t·u[k]·scale[k].
	scale := make([]float64, len(d))
	g := make([]float64, len(d)) // the gradient in scaled coordinates
	var gNorm float64
	for k, x := range orig {
		scale[k] = scaleOf(x)
		g[k] = an[k] * scale[k]
		gNorm += g[k] * g[k]
	}
	gNorm = math.Sqrt(gNorm)
	u := make([]float64, len(d))
	for dir := range o.Directions {
		if dir == 0 && gNorm > 0 && !math.IsInf(gNorm, 0) {
			copy(u, g)
		} else {
			for k := range u {
				u[k] = rng.NormFloat64()
			}
		}
		var un, peak float64
		for _, v := range u {
			un += v * v
			peak = max(peak, math.Abs(v))
		}
		un = math.Sqrt(un)
		if un == 0 {
			continue
		}
		var want float64
		for k := range u {
			u[k] /= un
			want += g[k] * u[k]
		}
		set := func(t, sign float64) {
			for k, x := range orig {
				d[k] = float32(float64(x) + sign*t*u[k]*scale[k])
			}
		}
		// The largest element moves by Eps·scale, as in checkElements.
		tol := func(float64) float64 { return o.DirTol * gNorm }
		num, noise := c.richardson(set, o.Eps*un/peak, tol)
		abs := math.Abs(want - num)
		// Relative to the gradient's norm, not to ATol, so that gradients
		// of any scale are held to DirTol; a zero analytic gradient must
		// match a numeric one that is zero within its noise.
		excess := abs / (o.DirTol*max(gNorm, math.Abs(num)) + noise)
		if abs == 0 {
			excess = 0
		}
		rel := abs / gNorm
		if gNorm == 0 {
			rel = abs
		}
		if math.IsNaN(abs) {
			excess, rel = math.Inf(1), math.Inf(1)
		}
		if rel > worst.DirErr || (i == 0 && dir == 0) {
			worst.DirInput, worst.DirErr = i, rel
		}
		worst.Excess = max(worst.Excess, excess)
	}
}
