package autograd

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// leadingView returns the slab [lo, hi) along axis 0 of a, reshaped to
// shape, as a Var that shares a's data (no copy). Its backward places the
// gradient into a zero tensor shaped like a. The fused recurrent ops return
// their several results as views of one packed output this way, so that
// the tape, which records one output per op, sees a single node.
func leadingView(a *Var, lo, hi int, shape ...int) *Var {
	as := a.value.Shape()
	inner := 1
	for _, d := range as[1:] {
		inner *= d
	}
	if lo < 0 || hi > as[0] || lo > hi {
		panic(fmt.Sprintf("autograd.leadingView: rows [%d, %d) outside shape %v", lo, hi, as))
	}
	out := wrap(tensor.New(a.value.Data()[lo*inner:hi*inner], shape...), a)
	if !out.requiresGrad {
		return out
	}
	return out.record("RecurrentView", func(g *tensor.Tensor) []*tensor.Tensor {
		ga := tensor.Zeros(as...)
		copy(ga.Data()[lo*inner:], g.Data())
		return []*tensor.Tensor{ga}
	}, a)
}

// The gate activations below take their exponentials from one vector call
// over a whole step (kernel.Exp), then finish element by element. With
// e = exp(−|v|), sigmoid(v) is 1/(1+e) for v ≥ 0 and e/(1+e) otherwise;
// with e = exp(−2|v|), tanh(v) = sign(v)·(1−e)/(1+e). Neither overflows.

// negAbs writes dst[i] = −s·|x[i]|.
func negAbs(dst, x []float32, s float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v < 0 {
			v = -v
		}
		dst[i] = -s * v
	}
}

// sigmoidFromExp writes dst[i] = sigmoid(x[i]) given e[i] = exp(−|x[i]|).
func sigmoidFromExp(dst, x, e []float32) {
	x, e = x[:len(dst)], e[:len(dst)]
	for i, v := range x {
		ei := e[i]
		if v >= 0 {
			dst[i] = 1 / (1 + ei)
		} else {
			dst[i] = ei / (1 + ei)
		}
	}
}

// tanhFromExp writes dst[i] = tanh(x[i]) given e[i] = exp(−2|x[i]|).
func tanhFromExp(dst, x, e []float32) {
	x, e = x[:len(dst)], e[:len(dst)]
	for i, v := range x {
		t := (1 - e[i]) / (1 + e[i])
		if v < 0 {
			t = -t
		}
		dst[i] = t
	}
}

// tanhInPlace replaces x by tanh(x), using scratch (len ≥ len(x)).
func tanhInPlace(x, scratch []float32) {
	e := scratch[:len(x)]
	negAbs(e, x, 2)
	kernel.Exp(e, e)
	tanhFromExp(x, x, e)
}

// sigmoidInPlace replaces x by sigmoid(x), using scratch (len ≥ len(x)).
func sigmoidInPlace(x, scratch []float32) {
	e := scratch[:len(x)]
	negAbs(e, x, 1)
	kernel.Exp(e, e)
	sigmoidFromExp(x, x, e)
}

// colSumAcc adds the column sums of the rows×cols matrix m to dst.
func colSumAcc(dst, m []float32, rows, cols int) {
	dst = dst[:cols]
	for r := 0; r < rows; r++ {
		kernel.Axpy(1, m[r*cols:(r+1)*cols], dst)
	}
}
