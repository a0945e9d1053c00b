package autograd

import "github.com/shoshin-ml/shoshin/internal/kernel"

// rowLinearMax is the most rows RowLinear computes as matrix–vector
// products; beyond it a blocked GEMM wins.
const rowLinearMax = 2

// RowLinear is Linear (x·wᵀ + b) specialised for an inference-mode x of
// at most two rows, the shape of one decoding step at batch 1: each row is
// a matrix–vector product that reads w in place, four of its rows at a
// time (kernel.DotRows), instead of a general GEMM. Any other input —
// more rows, or an x that records gradients — goes to Linear, so RowLinear
// can stand wherever Linear does.
func RowLinear(x, w, b *Var) *Var {
	xs, ws := x.value.Shape(), w.value.Shape()
	if !x.inference || len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] || xs[0] > rowLinearMax ||
		b != nil && (b.value.Rank() != 1 || b.value.Dim(0) != ws[0]) {
		return Linear(x, w, b)
	}
	m, k, n := xs[0], xs[1], ws[0]
	out := wrap(alloc([]int{m, n}, x, w), x, w)
	od, xd, wd := out.value.Data(), x.value.Data(), w.value.Data()
	for i := 0; i < m; i++ {
		row := od[i*n : (i+1)*n]
		kernel.DotRows(row, xd[i*k:(i+1)*k], wd, k, 0)
		if b != nil {
			kernel.Add(row, row, b.value.Data())
		}
	}
	return out
}
