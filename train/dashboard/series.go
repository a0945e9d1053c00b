package dashboard

import "math"

// point is one sample of a run's curves: where it lies in optimizer steps
// counted from the start of epoch 0 (X), when in seconds since the run
// began (T), and the values logged there (V). N is the number of recorded
// points it stands for once a series has been downsampled (omitted when
// 1).
type point struct {
	X float64            `json:"x"`
	T float64            `json:"t"`
	V map[string]float64 `json:"v"`
	N int                `json:"n,omitempty"`
}

func (p point) weight() float64 {
	if p.N <= 1 {
		return 1
	}
	return float64(p.N)
}

// series holds at most max points. When a new point would pass the
// bound, neighbouring pairs merge into their weighted means, so a long
// run keeps the shape of its curve in fixed memory, with early points
// coarser than late ones. The page does the same to the points it
// receives live, so a reload shows what the open page shows.
type series struct {
	pts []point
	max int
}

func (s *series) add(p point) {
	s.pts = append(s.pts, p)
	if len(s.pts) > s.max {
		s.halve()
	}
}

// halve merges points 2i and 2i+1; an odd last point stays as it is.
func (s *series) halve() {
	out := s.pts[:0]
	for i := 0; i < len(s.pts); i += 2 {
		if i+1 == len(s.pts) {
			out = append(out, s.pts[i])
			break
		}
		out = append(out, merge(s.pts[i], s.pts[i+1]))
	}
	clear(s.pts[len(out):])
	s.pts = out
}

// merge returns the weighted mean of a and b; a value logged in only one
// of them is kept as it is.
func merge(a, b point) point {
	wa, wb := a.weight(), b.weight()
	w := wa + wb
	m := point{
		X: (a.X*wa + b.X*wb) / w,
		T: (a.T*wa + b.T*wb) / w,
		V: make(map[string]float64, len(a.V)),
		N: int(w),
	}
	for k, va := range a.V {
		if vb, ok := b.V[k]; ok {
			m.V[k] = (va*wa + vb*wb) / w
		} else {
			m.V[k] = va
		}
	}
	for k, vb := range b.V {
		if _, ok := a.V[k]; !ok {
			m.V[k] = vb
		}
	}
	return m
}

// finiteCopy copies the finite values of logs into dst (JSON has no NaN
// or infinity).
func finiteCopy(dst map[string]float64, logs map[string]float64) {
	for k, v := range logs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			dst[k] = v
		}
	}
}

// clone returns a copy of the slice of points; their maps are shared,
// which is safe because a point's map is never changed once made.
func (s *series) clone() []point {
	return append([]point(nil), s.pts...)
}
