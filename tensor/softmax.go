package tensor

import (
	"fmt"

	"github.com/chewxy/math32"
	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// Softmax returns exp(t) normalised to sum to 1 along axis (negative axes
// count from the end), computed stably by subtracting each slice's maximum.
func Softmax(t *Tensor, axis int) *Tensor {
	out := Zeros(t.shape...)
	softmaxTo("Softmax", out, t, axis, false)
	return out
}

// SoftmaxTo stores Softmax(t, axis) into dst, which must have t's shape and
// may be t.
func SoftmaxTo(dst, t *Tensor, axis int) { softmaxTo("SoftmaxTo", dst, t, axis, false) }

// LogSoftmax returns t - LogSumExp(t, axis, true): the logarithm of
// Softmax, computed without forming it, so it stays finite for very
// negative scores.
func LogSoftmax(t *Tensor, axis int) *Tensor {
	out := Zeros(t.shape...)
	softmaxTo("LogSoftmax", out, t, axis, true)
	return out
}

// LogSoftmaxTo stores LogSoftmax(t, axis) into dst, which must have t's
// shape and may be t.
func LogSoftmaxTo(dst, t *Tensor, axis int) { softmaxTo("LogSoftmaxTo", dst, t, axis, true) }

// LogSumExp returns log(Σ exp(t)) along axis, computed stably as
// m + log(Σ exp(t - m)) with m the slice maximum. A slice of -Inf gives
// -Inf.
func LogSumExp(t *Tensor, axis int, keepDims bool) *Tensor {
	ax := normAxis("LogSumExp", axis, len(t.shape))
	outer, n, inner := splitAt(t.shape, ax)
	shape := make([]int, 0, len(t.shape))
	for i, d := range t.shape {
		switch {
		case i != ax:
			shape = append(shape, d)
		case keepDims:
			shape = append(shape, 1)
		}
	}
	out := Zeros(shape...)
	buf := make([]float32, n)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			if inner == 1 {
				copy(buf, t.data[base:base+n])
			} else {
				for j := range buf {
					buf[j] = t.data[base+j*inner]
				}
			}
			out.data[o*inner+in] = logSumExpRow(buf)
		}
	}
	return out
}

// logSumExpRow returns log Σ exp(x) and overwrites x with exp(x - max).
func logSumExpRow(x []float32) float32 {
	if len(x) == 0 {
		return math32.Inf(-1)
	}
	m := kernel.Max(x)
	if math32.IsInf(m, 0) {
		// All -Inf (result -Inf) or some +Inf (result +Inf).
		return m
	}
	for j := range x {
		x[j] -= m
	}
	kernel.Exp(x, x)
	return m + math32.Log(kernel.Sum(x))
}

func softmaxTo(name string, dst, t *Tensor, axis int, logOut bool) {
	if !SameShape(dst, t) {
		panic(fmt.Sprintf("tensor.%s: dst shape %v does not match input shape %v", name, dst.shape, t.shape))
	}
	ax := normAxis(name, axis, len(t.shape))
	outer, n, inner := splitAt(t.shape, ax)
	if len(t.data) == 0 {
		return
	}
	if inner == 1 {
		// The common case: contiguous rows.
		if len(t.data) <= grainHeavy {
			softmaxRows(dst.data, t.data, n, 0, outer, logOut)
			return
		}
		parallel.For(outer, max(1, grainHeavy/n), func(lo, hi int) {
			softmaxRows(dst.data, t.data, n, lo, hi, logOut)
		})
		return
	}
	buf := make([]float32, n)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			for j := range buf {
				buf[j] = t.data[base+j*inner]
			}
			softmaxRow(buf, buf, logOut)
			for j, v := range buf {
				dst.data[base+j*inner] = v
			}
		}
	}
}

// softmaxRows writes the softmax (or log-softmax) of rows [lo, hi) of n
// elements of src into dst. Rows are handled in blocks so that one
// exponential call covers a whole block: short rows (such as 10 class
// scores) then still fill the vector units.
func softmaxRows(dst, src []float32, n, lo, hi int, logOut bool) {
	if n == 0 {
		return
	}
	if logOut && &dst[0] == &src[0] {
		// In place log-softmax needs the shifted scores after the
		// exponential; take the row-at-a-time path.
		for r := lo; r < hi; r++ {
			softmaxRow(dst[r*n:(r+1)*n], src[r*n:(r+1)*n], true)
		}
		return
	}
	const block = 64
	var maxes [block]float32
	for r0 := lo; r0 < hi; r0 += block {
		r1 := min(r0+block, hi)
		for r := r0; r < r1; r++ {
			x, d := src[r*n:(r+1)*n], dst[r*n:(r+1)*n]
			m := kernel.Max(x)
			maxes[r-r0] = m
			if math32.IsInf(m, -1) {
				clear(d) // no mass anywhere; fixed up below
				continue
			}
			for j, v := range x {
				d[j] = v - m
			}
		}
		kernel.Exp(dst[r0*n:r1*n], dst[r0*n:r1*n])
		for r := r0; r < r1; r++ {
			d := dst[r*n : (r+1)*n]
			m := maxes[r-r0]
			if math32.IsInf(m, -1) {
				fill(d, math32.NaN())
				continue
			}
			s := kernel.Sum(d)
			if !logOut {
				kernel.Scale(1/s, d)
				continue
			}
			ls := m + math32.Log(s)
			for j, v := range src[r*n : (r+1)*n] {
				d[j] = v - ls
			}
		}
	}
}

// softmaxRow writes the softmax (or log-softmax) of x into dst; dst may be
// x.
func softmaxRow(dst, x []float32, logOut bool) {
	m := kernel.Max(x)
	if math32.IsInf(m, -1) {
		// Every score is -Inf: no mass anywhere.
		fill(dst, math32.NaN())
		return
	}
	if !logOut {
		for j, v := range x {
			dst[j] = v - m
		}
		kernel.Exp(dst, dst)
		kernel.Scale(1/kernel.Sum(dst), dst)
		return
	}
	// log-softmax: x - m - log Σ exp(x - m).
	for j, v := range x {
		dst[j] = v - m
	}
	var s float32
	if len(x) > 0 && &dst[0] != &x[0] {
		kernel.Exp(dst, dst)
		s = kernel.Sum(dst)
		ls := m + math32.Log(s)
		for j, v := range x {
			dst[j] = v - ls
		}
		return
	}
	// dst is x: exponentiate one at a time to keep the shifted scores.
	for _, v := range dst {
		s += math32.Exp(v)
	}
	ls := math32.Log(s)
	for j := range dst {
		dst[j] -= ls
	}
}
