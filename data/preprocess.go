package data

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/tensor"
)

// ScaleTo01 maps the values of x from [lo, hi] to [0, 1] in place, e.g.
// ScaleTo01(pixels, 0, 255). It panics if hi <= lo.
func ScaleTo01(x *tensor.Tensor, lo, hi float32) {
	if !(hi > lo) {
		panic(fmt.Sprintf("data.ScaleTo01: range [%v, %v] is empty", lo, hi))
	}
	r := hi - lo
	d := x.Data()
	for i, v := range d {
		d[i] = (v - lo) / r
	}
}

// OneHot returns a [len(labels), k] tensor whose row i is 1 in column
// labels[i] and 0 elsewhere. It returns an error naming the first label
// outside [0, k).
func OneHot(labels []int, k int) (*tensor.Tensor, error) {
	if k < 1 {
		return nil, fmt.Errorf("data.OneHot: %d classes, want >= 1", k)
	}
	t := tensor.Zeros(len(labels), k)
	d := t.Data()
	for i, c := range labels {
		if c < 0 || c >= k {
			return nil, fmt.Errorf("data.OneHot: label %d at index %d outside [0, %d)", c, i, k)
		}
		d[i*k+c] = 1
	}
	return t, nil
}

// featureParams holds per-feature parameters (a pair of tensors of one
// shape) shared by the scalers and their (de)serialization.
type featureParams struct {
	names [2]string
	a, b  *tensor.Tensor
}

// columns validates x ([N, ...]) for fitting and returns the number of
// values per feature n, the number of features f (1 when global) and the
// parameter shape.
func columns(op string, x *tensor.Tensor, global bool) (n, f int, shape []int, err error) {
	if x == nil || x.Rank() < 1 || x.Shape()[0] == 0 {
		return 0, 0, nil, fmt.Errorf("%s: need data of shape [N, ...] with N >= 1", op)
	}
	for i, v := range x.Data() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, 0, nil, fmt.Errorf("%s: non-finite value %v at flat index %d (clean the data first)", op, v, i)
		}
	}
	if global {
		return x.Size(), 1, []int{1}, nil
	}
	n = x.Shape()[0]
	return n, x.Size() / n, append([]int(nil), x.Shape()[1:]...), nil
}

// check panics unless p is fitted and fits x's feature shape.
func (p *featureParams) check(op string, x *tensor.Tensor, global bool) {
	if p.a == nil {
		panic(op + ": not fitted")
	}
	if global {
		return
	}
	if x.Rank() < 1 || !tensor.EqualShape(x.Shape()[1:], p.a.Shape()) {
		panic(fmt.Sprintf("%s: data of shape %v does not fit parameters of feature shape %v", op, x.Shape(), p.a.Shape()))
	}
}

// apply computes v = (v - a) * b for every value of x in place, with a and
// b either per feature or scalars.
func (p *featureParams) apply(x *tensor.Tensor, global bool, mul []float32) {
	d := x.Data()
	a := p.a.Data()
	if global {
		s, m := a[0], mul[0]
		for i, v := range d {
			d[i] = (v - s) * m
		}
		return
	}
	f := len(a)
	a = a[:f]
	mul = mul[:f]
	for off := 0; off+f <= len(d); off += f {
		row := d[off : off+f]
		for j, v := range row {
			row[j] = (v - a[j]) * mul[j]
		}
	}
}

func (p *featureParams) state() map[string]*tensor.Tensor {
	if p.a == nil {
		return map[string]*tensor.Tensor{}
	}
	return map[string]*tensor.Tensor{p.names[0]: p.a.Clone(), p.names[1]: p.b.Clone()}
}

func (p *featureParams) setState(op string, m map[string]*tensor.Tensor) error {
	a, b := m[p.names[0]], m[p.names[1]]
	if a == nil || b == nil {
		return fmt.Errorf("%s: state needs tensors %q and %q", op, p.names[0], p.names[1])
	}
	if !tensor.SameShape(a, b) {
		return fmt.Errorf("%s: %q has shape %v but %q has shape %v", op, p.names[0], a.Shape(), p.names[1], b.Shape())
	}
	for _, t := range []*tensor.Tensor{a, b} {
		for i, v := range t.Data() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s: non-finite value %v at index %d of the state", op, v, i)
			}
		}
	}
	p.a, p.b = a.Clone(), b.Clone()
	return nil
}

// paramsJSON is the JSON form of the scalers.
type paramsJSON struct {
	Global bool                 `json:"global"`
	Shape  []int                `json:"shape"`
	Values map[string][]float32 `json:"values"`
}

func (p *featureParams) marshal(global bool) ([]byte, error) {
	j := paramsJSON{Global: global, Values: map[string][]float32{}}
	if p.a != nil {
		j.Shape = p.a.Shape()
		j.Values[p.names[0]] = p.a.Data()
		j.Values[p.names[1]] = p.b.Data()
	}
	return json.Marshal(j)
}

func (p *featureParams) unmarshal(op string, b []byte) (global bool, err error) {
	var j paramsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	if len(j.Values) == 0 {
		p.a, p.b = nil, nil
		return j.Global, nil
	}
	n := 1
	for _, d := range j.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return false, fmt.Errorf("%s: bad shape %v", op, j.Shape)
		}
		n *= d
	}
	m := map[string]*tensor.Tensor{}
	for _, name := range p.names {
		v := j.Values[name]
		if len(v) != n {
			return false, fmt.Errorf("%s: %q has %d values, shape %v needs %d", op, name, len(v), j.Shape, n)
		}
		m[name] = tensor.New(v, j.Shape...)
	}
	return j.Global, p.setState(op, m)
}

// Standardizer rescales features to zero mean and unit variance. Fit it on
// the training data only, then apply the same parameters to validation and
// test data, so no information leaks from them:
//
//	var s data.Standardizer
//	if err := s.Fit(trainX); err != nil { ... }
//	s.TransformInPlace(trainX)
//	s.TransformInPlace(testX)
//
// By default each feature (each position of an example, e.g. each pixel)
// gets its own mean and standard deviation; with Global set, one pair is
// computed over all values. A feature with zero variance is only centred.
// Its parameters travel with a model through State/SetState or JSON.
type Standardizer struct {
	// Global makes Fit compute one mean and standard deviation over all
	// values instead of one per feature.
	Global bool

	p   featureParams
	inv []float32
}

func (s *Standardizer) params() *featureParams {
	s.p.names = [2]string{"mean", "std"}
	return &s.p
}

// Fit computes the mean and (population) standard deviation of x
// ([N, ...]). It returns an error if x is empty or holds non-finite values.
func (s *Standardizer) Fit(x *tensor.Tensor) error {
	n, f, shape, err := columns("data.Standardizer.Fit", x, s.Global)
	if err != nil {
		return err
	}
	sum := make([]float64, f)
	sq := make([]float64, f)
	d := x.Data()
	for i, v := range d {
		j := i % f
		sum[j] += float64(v)
	}
	for j := range sum {
		sum[j] /= float64(n)
	}
	for i, v := range d {
		j := i % f
		dv := float64(v) - sum[j]
		sq[j] += dv * dv
	}
	mean := tensor.Zeros(shape...)
	std := tensor.Zeros(shape...)
	for j := range sum {
		mean.Data()[j] = float32(sum[j])
		sd := math.Sqrt(sq[j] / float64(n))
		if sd < 1e-12 {
			sd = 1
		}
		std.Data()[j] = float32(sd)
	}
	p := s.params()
	p.a, p.b = mean, std
	s.update()
	return nil
}

// Mean returns the fitted means (nil before Fit).
func (s *Standardizer) Mean() *tensor.Tensor { return s.p.a }

// Std returns the fitted standard deviations (nil before Fit).
func (s *Standardizer) Std() *tensor.Tensor { return s.p.b }

// update precomputes 1/std after the parameters change, so transforms
// only read shared state and may run on several goroutines.
func (s *Standardizer) update() {
	s.inv = nil
	if s.p.b == nil {
		return
	}
	sd := s.p.b.Data()
	s.inv = make([]float32, len(sd))
	for i, v := range sd {
		s.inv[i] = 1 / v
	}
}

// TransformInPlace standardizes x ([N, feature shape...]) in place. It
// panics if s is not fitted or x's feature shape differs from the fitted
// one.
func (s *Standardizer) TransformInPlace(x *tensor.Tensor) {
	s.p.check("data.Standardizer.Transform", x, s.Global)
	s.p.apply(x, s.Global, s.inv)
}

// Transform returns a standardized copy of x.
func (s *Standardizer) Transform(x *tensor.Tensor) *tensor.Tensor {
	y := x.Clone()
	s.TransformInPlace(y)
	return y
}

// Apply standardizes a batch's features in place, so a Standardizer can be
// given to a Loader with WithTransform. Call Fit before iterating; the
// Standardizer must not be refitted while a Loader uses it.
func (s *Standardizer) Apply(b *Batch, _ *rand.Rand) { s.TransformInPlace(b.X) }

// State returns copies of the fitted parameters as "mean" and "std"
// (empty before Fit), for saving next to a model's weights.
func (s *Standardizer) State() map[string]*tensor.Tensor { return s.params().state() }

// SetState restores parameters saved by State. It returns an error if a
// tensor is missing, the shapes differ or a value is not finite.
func (s *Standardizer) SetState(m map[string]*tensor.Tensor) error {
	defer s.update()
	return s.params().setState("data.Standardizer.SetState", m)
}

// MarshalJSON encodes the fitted parameters.
func (s *Standardizer) MarshalJSON() ([]byte, error) { return s.params().marshal(s.Global) }

// UnmarshalJSON decodes parameters written by MarshalJSON.
func (s *Standardizer) UnmarshalJSON(b []byte) error {
	defer s.update()
	g, err := s.params().unmarshal("data.Standardizer.UnmarshalJSON", b)
	if err == nil {
		s.Global = g
	}
	return err
}

// MinMaxScaler rescales features linearly so that the training minimum
// maps to 0 and the training maximum to 1. Like Standardizer, fit it on
// training data only and apply it everywhere; values outside the training
// range map outside [0, 1]. A constant feature maps to 0.
type MinMaxScaler struct {
	// Global makes Fit use one minimum and maximum over all values instead
	// of one per feature.
	Global bool

	p   featureParams
	inv []float32
}

func (s *MinMaxScaler) params() *featureParams {
	s.p.names = [2]string{"min", "max"}
	return &s.p
}

// Fit computes the minimum and maximum of x ([N, ...]). It returns an
// error if x is empty or holds non-finite values.
func (s *MinMaxScaler) Fit(x *tensor.Tensor) error {
	_, f, shape, err := columns("data.MinMaxScaler.Fit", x, s.Global)
	if err != nil {
		return err
	}
	lo := tensor.Full(float32(math.Inf(1)), shape...)
	hi := tensor.Full(float32(math.Inf(-1)), shape...)
	l, h := lo.Data(), hi.Data()
	for i, v := range x.Data() {
		j := i % f
		l[j] = min(l[j], v)
		h[j] = max(h[j], v)
	}
	p := s.params()
	p.a, p.b = lo, hi
	s.update()
	return nil
}

// Min returns the fitted minima (nil before Fit).
func (s *MinMaxScaler) Min() *tensor.Tensor { return s.p.a }

// Max returns the fitted maxima (nil before Fit).
func (s *MinMaxScaler) Max() *tensor.Tensor { return s.p.b }

// update precomputes 1/(max-min) after the parameters change.
func (s *MinMaxScaler) update() {
	s.inv = nil
	if s.p.a == nil {
		return
	}
	l, h := s.p.a.Data(), s.p.b.Data()
	s.inv = make([]float32, len(l))
	for i := range l {
		if r := h[i] - l[i]; r > 0 {
			s.inv[i] = 1 / r
		}
	}
}

// TransformInPlace rescales x ([N, feature shape...]) in place. It panics
// if s is not fitted or x's feature shape differs from the fitted one.
func (s *MinMaxScaler) TransformInPlace(x *tensor.Tensor) {
	s.p.check("data.MinMaxScaler.Transform", x, s.Global)
	s.p.apply(x, s.Global, s.inv)
}

// Transform returns a rescaled copy of x.
func (s *MinMaxScaler) Transform(x *tensor.Tensor) *tensor.Tensor {
	y := x.Clone()
	s.TransformInPlace(y)
	return y
}

// Apply rescales a batch's features in place (see Standardizer.Apply).
func (s *MinMaxScaler) Apply(b *Batch, _ *rand.Rand) { s.TransformInPlace(b.X) }

// State returns copies of the fitted parameters as "min" and "max".
func (s *MinMaxScaler) State() map[string]*tensor.Tensor { return s.params().state() }

// SetState restores parameters saved by State.
func (s *MinMaxScaler) SetState(m map[string]*tensor.Tensor) error {
	defer s.update()
	return s.params().setState("data.MinMaxScaler.SetState", m)
}

// MarshalJSON encodes the fitted parameters.
func (s *MinMaxScaler) MarshalJSON() ([]byte, error) { return s.params().marshal(s.Global) }

// UnmarshalJSON decodes parameters written by MarshalJSON.
func (s *MinMaxScaler) UnmarshalJSON(b []byte) error {
	defer s.update()
	g, err := s.params().unmarshal("data.MinMaxScaler.UnmarshalJSON", b)
	if err == nil {
		s.Global = g
	}
	return err
}
