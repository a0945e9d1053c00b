package autograd

import (
	"math"

	"github.com/shoshin-ml/shoshin/internal/kernel"
)

// The weight gradient of Conv2DReLUMaxPool from the winners. The gradient
// of the convolution's output is zero except at each window's winner, so
// that a filter tap's gradient is a sum over the pooled positions alone:
//
//	gw[o, c, ki, kj] = Σ_samples Σ_q gp'[o, q] · x[c, oy(q)·sh + ki·dh, ox(q)·sw + kj·dw]
//
// where gp' is the pooled gradient of channel o, zeroed where the pooled
// (rectified) value is +0, and (oy, ox) is the winner of window q. For a
// first layer (one input channel, a few taps) this is a quarter of the
// multiply-adds of the dense product (with 2×2 windows) and skips
// scattering the pooled gradient onto the output planes, unfolding the
// input again and packing both for the GEMM. It serves a convolution whose
// input gradient is not wanted, without padding or groups, with at most
// poolWgradMaxTaps unfolded rows; wider filters are faster through the
// GEMM.

// poolWgradMaxTaps is the largest number of unfolded rows (cg·kh·kw) for
// which the weight gradient is summed over the winners.
const poolWgradMaxTaps = 9

// poolWgrad reports whether backward computes the weight and bias
// gradients of a Conv2DReLUMaxPool from the winners (poolWeightGrad): no
// input gradient is wanted (gx nil), and the geometry is one poolWgrad
// serves.
func (g *convGeom) poolWgrad(gx []float32, pool *poolGeom) bool {
	return gx == nil && pool != nil && g.poolWgradGeom()
}

// poolWgradGeom reports whether the geometry is one that poolWeightGrad
// serves: one group, no padding, few unfolded rows.
func (g *convGeom) poolWgradGeom() bool {
	return g.groups == 1 && g.ph == 0 && g.pw == 0 && g.ckk <= poolWgradMaxTaps
}

// poolWeightGrad accumulates the weight gradient gw and bias gradient gb
// (either may be nil) of a Conv2DReLUMaxPool from its pooled gradient
// (src.gy, src.p, src.idx, src.pool) and input x.
//
// The samples are cut into groups that depend on the batch size alone;
// each group sums into its own partial gradient, and the partials are
// added in group order, so that results depend neither on the number of
// workers nor on their scheduling.
func (g *convGeom) poolWeightGrad(gw, gb []float32, src *convGrad, x []float32) {
	if gw == nil && gb == nil {
		return
	}
	rows := g.ckk + 1 // the taps, then the bias
	size := g.oc * rows
	groups := chunkGroups(g.n)
	pb := getScratch(groups * size)
	defer scratch.Put(pb)
	parts := *pb
	gg, s := *g, *src
	runGroups(groups, func(gi int) {
		part := parts[gi*size : (gi+1)*size]
		clear(part)
		var offs [poolWgradMaxTaps]int
		gg.tapOffsets(offs[:gg.ckk])
		n0, n1 := groupSpan(gi, groups, gg.n)
		for n := n0; n < n1; n++ {
			gg.poolWgradSample(part, rows, &s, x, n, offs[:gg.ckk])
		}
	})
	for gi := range groups {
		part := parts[gi*size : (gi+1)*size]
		for o := range g.oc {
			acc := part[o*rows : (o+1)*rows]
			if gw != nil {
				dst := gw[o*g.ckk : (o+1)*g.ckk]
				for t, v := range acc[:g.ckk] {
					dst[t] += v
				}
			}
			if gb != nil {
				gb[o] += acc[g.ckk]
			}
		}
	}
}

// tapOffsets writes into offs (cg·kh·kw values) the offset of each filter
// tap in a sample's input from the tap (0, 0, 0).
func (g *convGeom) tapOffsets(offs []int) {
	hw := g.h * g.w
	for c := range g.cg {
		for ki := range g.kh {
			for kj := range g.kw {
				offs[(c*g.kh+ki)*g.kw+kj] = c*hw + ki*g.dh*g.w + kj*g.dw
			}
		}
	}
}

// poolWgradSample adds sample s's contribution to part (per output
// channel, rows values: the taps, then the bias).
func (g *convGeom) poolWgradSample(part []float32, rows int, src *convGrad, x []float32, s int, offs []int) {
	pg := src.pool
	op := pg.oh * pg.ow
	xs := x[s*g.inSize : (s+1)*g.inSize]
	fast := g.c == 1 && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && pg.is2x2()
	for o := range g.oc {
		at := (s*g.oc + o) * op
		gp, p, idx := src.gy[at:at+op], src.p[at:at+op], src.idx[at:at+op]
		acc := part[o*rows : (o+1)*rows]
		if fast {
			kernel.PoolTapGrad3x3(acc, xs, gp, p, idx, pg.oh, pg.ow, g.ow, g.w)
			continue
		}
		for q, gv := range gp {
			v := math.Float32frombits(math.Float32bits(gv) & mask(math.Float32bits(p[q]) != 0))
			pos := int(idx[q])
			oy, ox := pos/g.ow, pos%g.ow
			r := xs[oy*g.sh*g.w+ox*g.sw:]
			for t, off := range offs {
				acc[t] += v * r[off]
			}
			acc[g.ckk] += v
		}
	}
}
