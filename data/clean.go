package data

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/shoshin-ml/shoshin/tensor"
)

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// DropNonFinite returns copies of x ([N, ...]) and y ([N] or [N, k], may be
// nil) without the rows that hold a missing (NaN) or infinite value in
// either, and the number of rows dropped. ReadCSV stores missing cells as
// NaN, so this is the "drop" way of cleaning a table; Imputer is the
// "fill" way. It panics if x and y have different numbers of rows.
func DropNonFinite(x, y *tensor.Tensor) (cx, cy *tensor.Tensor, dropped int) {
	n := x.Shape()[0]
	if y != nil && y.Shape()[0] != n {
		panic(fmt.Sprintf("data.DropNonFinite: x of shape %v and y of shape %v differ in rows", x.Shape(), y.Shape()))
	}
	fs := 0
	if n > 0 {
		fs = x.Size() / n
	}
	ts := 0
	if y != nil && n > 0 {
		ts = y.Size() / n
	}
	keep := make([]int, 0, n)
	for i := range n {
		ok := true
		for _, v := range x.Data()[i*fs : (i+1)*fs] {
			ok = ok && finite(v)
		}
		if y != nil {
			for _, v := range y.Data()[i*ts : (i+1)*ts] {
				ok = ok && finite(v)
			}
		}
		if ok {
			keep = append(keep, i)
		}
	}
	cx = gatherRows(x, keep, fs)
	if y != nil {
		cy = gatherRows(y, keep, ts)
	}
	return cx, cy, n - len(keep)
}

func gatherRows(t *tensor.Tensor, rows []int, rs int) *tensor.Tensor {
	shape := append([]int{len(rows)}, t.Shape()[1:]...)
	out := tensor.Zeros(shape...)
	d, s := out.Data(), t.Data()
	for k, i := range rows {
		copy(d[k*rs:(k+1)*rs], s[i*rs:(i+1)*rs])
	}
	return out
}

// ImputeStrategy chooses the value an Imputer fills in.
type ImputeStrategy int

const (
	// ImputeMean fills a column's missing values with the mean of its
	// finite training values.
	ImputeMean ImputeStrategy = iota
	// ImputeMedian fills with the median of the finite training values.
	ImputeMedian
)

// Imputer replaces missing (NaN) and infinite values of tabular data
// ([N, F]) with a per-column value learned from training data. Fit it on
// the training rows only and apply it to every split.
type Imputer struct {
	// Strategy chooses mean (the default) or median.
	Strategy ImputeStrategy

	fill *tensor.Tensor
}

// Fit learns the fill value of each column of x ([N, F]) from its finite
// values. It returns an error if x is not 2-D or a column has no finite
// value.
func (m *Imputer) Fit(x *tensor.Tensor) error {
	if x == nil || x.Rank() != 2 {
		return fmt.Errorf("data.Imputer.Fit: need a table of shape [N, F]")
	}
	n, f := x.Shape()[0], x.Shape()[1]
	fill := tensor.Zeros(f)
	col := make([]float32, 0, n)
	d := x.Data()
	for j := range f {
		col = col[:0]
		for i := range n {
			if v := d[i*f+j]; finite(v) {
				col = append(col, v)
			}
		}
		if len(col) == 0 {
			return fmt.Errorf("data.Imputer.Fit: column %d has no finite value", j)
		}
		var v float64
		if m.Strategy == ImputeMedian {
			slices.Sort(col)
			k := len(col) / 2
			v = float64(col[k])
			if len(col)%2 == 0 {
				v = (float64(col[k-1]) + v) / 2
			}
		} else {
			for _, c := range col {
				v += float64(c)
			}
			v /= float64(len(col))
		}
		fill.Data()[j] = float32(v)
	}
	m.fill = fill
	return nil
}

// Fill returns the learned fill values, one per column (nil before Fit).
func (m *Imputer) Fill() *tensor.Tensor { return m.fill }

// TransformInPlace replaces the non-finite values of x ([N, F]) and
// returns how many it replaced. It panics if m is not fitted or x has a
// different number of columns.
func (m *Imputer) TransformInPlace(x *tensor.Tensor) (replaced int) {
	if m.fill == nil {
		panic("data.Imputer.Transform: not fitted")
	}
	f := m.fill.Size()
	if x.Rank() != 2 || x.Shape()[1] != f {
		panic(fmt.Sprintf("data.Imputer.Transform: data of shape %v does not fit %d columns", x.Shape(), f))
	}
	fill := m.fill.Data()
	d := x.Data()
	for i, v := range d {
		if !finite(v) {
			d[i] = fill[i%f]
			replaced++
		}
	}
	return replaced
}

// State returns a copy of the fill values as "fill".
func (m *Imputer) State() map[string]*tensor.Tensor {
	if m.fill == nil {
		return map[string]*tensor.Tensor{}
	}
	return map[string]*tensor.Tensor{"fill": m.fill.Clone()}
}

// SetState restores fill values saved by State.
func (m *Imputer) SetState(s map[string]*tensor.Tensor) error {
	f := s["fill"]
	if f == nil || f.Rank() != 1 {
		return fmt.Errorf("data.Imputer.SetState: need a 1-D tensor \"fill\"")
	}
	for i, v := range f.Data() {
		if !finite(v) {
			return fmt.Errorf("data.Imputer.SetState: non-finite fill value %v at column %d", v, i)
		}
	}
	m.fill = f.Clone()
	return nil
}

type imputerJSON struct {
	Strategy string    `json:"strategy"`
	Fill     []float32 `json:"fill"`
}

// MarshalJSON encodes the strategy and fill values.
func (m *Imputer) MarshalJSON() ([]byte, error) {
	j := imputerJSON{Strategy: "mean"}
	if m.Strategy == ImputeMedian {
		j.Strategy = "median"
	}
	if m.fill != nil {
		j.Fill = m.fill.Data()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (m *Imputer) UnmarshalJSON(b []byte) error {
	var j imputerJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("data.Imputer.UnmarshalJSON: %w", err)
	}
	switch j.Strategy {
	case "mean", "":
		m.Strategy = ImputeMean
	case "median":
		m.Strategy = ImputeMedian
	default:
		return fmt.Errorf("data.Imputer.UnmarshalJSON: unknown strategy %q", j.Strategy)
	}
	if j.Fill == nil {
		m.fill = nil
		return nil
	}
	return m.SetState(map[string]*tensor.Tensor{"fill": tensor.New(j.Fill, len(j.Fill))})
}
