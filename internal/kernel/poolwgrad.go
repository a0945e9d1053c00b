package kernel

import "fmt"

// PoolTapGrad3x3 adds to acc[0:10] the weight and bias gradient of a 3×3
// convolution over one input channel at unit stride, without padding,
// whose output was rectified and pooled 2×2 at stride 2 (MaxPool2x2 with
// relu), summed over the pooled positions alone: the output's gradient is
// zero except at each window's winner. For the rows×cols windows q,
//
//	acc[3·ki + kj] += Σ_q v_q · x[in(q) + ki·w + kj]   (ki, kj < 3)
//	acc[9]         += Σ_q v_q
//
// where v_q is the pooled gradient gp[q] where the pooled value p[q]
// compares unequal to zero (NaN included) and +0 elsewhere, idx[q] the
// winner's offset in the convolution's output plane (rows of ow values, as
// MaxPool2x2 writes it: within window q) and in(q) the offset of the same
// position in the input plane x (rows of w = ow + 2 values or more). The
// sums run over q in order; the accelerated kernel fuses each multiply-add.
//
// PoolTapGrad3x3 panics when a slice is too short for rows×cols windows
// or w < ow + 2; idx must hold winners within their windows.
func PoolTapGrad3x3(acc, x, gp, p []float32, idx []int32, rows, cols, ow, w int) {
	n := rows * cols
	if rows < 0 || cols < 0 || 2*cols > ow || w < ow+2 || len(acc) < 10 || len(gp) < n || len(p) < n || len(idx) < n || (n > 0 && len(x) < (2*rows+2)*w) {
		panic(fmt.Sprintf("kernel.PoolTapGrad3x3: %d×%d windows (output width %d, input width %d) with acc %d, x %d, gp %d, p %d, idx %d",
			rows, cols, ow, w, len(acc), len(x), len(gp), len(p), len(idx)))
	}
	if n == 0 {
		return
	}
	if !poolTapGrad3x3Asm(acc, x, gp, p, idx, rows, cols, ow, w) {
		poolTapGrad3x3Portable(acc, x, gp, p, idx, rows, cols, ow, w)
	}
}

// poolTapGrad3x3Portable is the portable twin of PoolTapGrad3x3's kernel.
func poolTapGrad3x3Portable(acc, x, gp, p []float32, idx []int32, rows, cols, ow, w int) {
	var a0, a1, a2, a3, a4, a5, a6, a7, a8, ab float32
	skip := w - ow // input positions a row of winners skips
	for py := range rows {
		q0 := py * cols
		shift := 2 * py * skip
		second := int32((2*py + 1) * ow) // winners from here lie on the window's second row
		for q := q0; q < q0+cols; q++ {
			v := gp[q]
			if p[q] == 0 {
				v = 0
			}
			i := idx[q]
			base := int(i) + shift
			if i >= second {
				base += skip
			}
			r := x[base : base+2*w+3 : base+2*w+3]
			a0 += v * r[0]
			a1 += v * r[1]
			a2 += v * r[2]
			a3 += v * r[w]
			a4 += v * r[w+1]
			a5 += v * r[w+2]
			a6 += v * r[2*w]
			a7 += v * r[2*w+1]
			a8 += v * r[2*w+2]
			ab += v
		}
	}
	acc = acc[:10]
	acc[0] += a0
	acc[1] += a1
	acc[2] += a2
	acc[3] += a3
	acc[4] += a4
	acc[5] += a5
	acc[6] += a6
	acc[7] += a7
	acc[8] += a8
	acc[9] += ab
}
