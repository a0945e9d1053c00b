package autograd

import (
	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// Winograd F(2×2, 3×3) convolution for 3×3 kernels with unit stride and
// dilation and a single group (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2015). Each 2×2 block of the output (a
// tile) is computed from the 4×4 block of the input under it:
//
//	Y = Aᵀ·[Σ_c (G·g_c·Gᵀ) ⊙ (Bᵀ·d_c·B)]·A
//
// where g_c is the 3×3 filter of input channel c and d_c the input block.
// Summing over channels is, for each of the 16 positions of the
// transformed block, one GEMM [outC × C]·[C × tiles], so that the 9
// multiply-adds per output of the direct convolution become 4 (plus the
// cheap additions of the transforms). The transforms are exact in real
// arithmetic; in float32 the results differ from the direct product by
// rounding only (the transforms multiply by 0, ±½ and ±1).

// winoMinChannels is the number of input and output channels from which a
// 3×3 layer takes the Winograd path in inference, and winoMinTiles the
// number of output tiles (samples × tiles per sample) it needs, there and
// in training: below them the 16 small GEMMs cost as much as the one
// im2col GEMM. Measured on one Zen 4 core (BenchmarkWinograd): 64→64
// channels on 28×28 planes gain 15–25 %, on 13×13 planes about 10 %;
// 32→64 on 13×13 is level at batch 64 and loses at batch 1. Training
// takes the Winograd passes from fewer channels (winoTrainMinChannels,
// conv_wino_train.go), whose transforms run over channel vectors. Tests
// lower both to exercise small shapes.
var (
	winoMinChannels = 64
	winoMinTiles    = 128
)

// winoPassBytes is about how much memory the transformed input and the
// products of one pass of the 16 GEMMs take (16·(C+outC) values per
// tile); whole samples are grouped up to it.
const winoPassBytes = 2 << 20

// winograd reports whether the Winograd path computes this convolution.
func (g *convGeom) winograd() bool {
	if g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 || g.groups != 1 ||
		g.c < winoMinChannels || g.oc < winoMinChannels {
		return false
	}
	th, tw := g.winoTiles()
	return g.n*th*tw >= winoMinTiles
}

// winoPass returns how many samples one pass of the 16 GEMMs covers.
func (g *convGeom) winoPass() int {
	th, tw := g.winoTiles()
	return max(1, winoPassBytes/(64*(g.c+g.oc)*th*tw))
}

// winoTiles returns the tile rows and columns of one output plane.
func (g *convGeom) winoTiles() (th, tw int) { return (g.oh + 1) / 2, (g.ow + 1) / 2 }

// winoWeights writes the transformed filters of w [outC, C, 3, 3] into u,
// laid out [16][outC][C]: u[xi·outC·C + o·C + c] is position xi of
// G·g·Gᵀ for filter (o, c).
func winoWeights(u, w []float32, oc, c int) {
	winoWeightsRange(u, w, oc*c, 0, oc*c)
}

// winoWeightsRange is winoWeights for the filters [lo, hi) of the plane
// outC·C.
func winoWeightsRange(u, w []float32, plane, lo, hi int) {
	u = u[:16*plane]
	w = w[:plane*9]
	// Row i of G·g (rows of G: [1 0 0], [½ ½ ½], [½ −½ ½], [0 0 1]) times
	// Gᵀ gives positions 4i…4i+3. One pass per row keeps the writes to
	// four planes at a time: sixteen streams a power of two apart would
	// fall into the same cache sets.
	for i := 0; i < 4; i++ {
		u0 := u[(4*i)*plane+lo : (4*i)*plane+hi]
		u1 := u[(4*i+1)*plane+lo : (4*i+1)*plane+hi]
		u2 := u[(4*i+2)*plane+lo : (4*i+2)*plane+hi]
		u3 := u[(4*i+3)*plane+lo : (4*i+3)*plane+hi]
		for j := range u0 {
			at := lo + j
			f := w[at*9 : at*9+9 : at*9+9]
			var r0, r1, r2 float32
			switch i {
			case 0:
				r0, r1, r2 = f[0], f[1], f[2]
			case 1, 2:
				s0, s1, s2 := 0.5*(f[0]+f[6]), 0.5*(f[1]+f[7]), 0.5*(f[2]+f[8])
				h0, h1, h2 := 0.5*f[3], 0.5*f[4], 0.5*f[5]
				if i == 1 {
					r0, r1, r2 = s0+h0, s1+h1, s2+h2
				} else {
					r0, r1, r2 = s0-h0, s1-h1, s2-h2
				}
			default:
				r0, r1, r2 = f[6], f[7], f[8]
			}
			s, h := 0.5*(r0+r2), 0.5*r1
			u0[j], u1[j], u2[j], u3[j] = r0, s+h, s-h, r2
		}
	}
}

// winoForward computes the convolution of every sample with the Winograd
// path; the arguments are those of forward (b may be nil; with a pooling
// window y receives the pooled, rectified values and idx the winners).
func (g *convGeom) winoForward(y, x, w, b []float32, pool poolGeom, idx []int32) {
	ub := getScratch(16 * g.oc * g.c)
	defer scratch.Put(ub)
	winoWeights(*ub, w, g.oc, g.c)
	per := g.winoPass()
	if g.n <= per || parallel.Workers() == 1 {
		g.winoRange(0, g.n, per, y, x, *ub, b, pool, idx)
		return
	}
	gg, u := *g, *ub
	parallel.For(g.n, per, func(lo, hi int) { gg.winoRange(lo, hi, per, y, x, u, b, pool, idx) })
}

// winoRange computes samples [lo, hi), per samples at a time, with the
// transformed filters u.
func (g *convGeom) winoRange(lo, hi, per int, y, x, u, b []float32, pool poolGeom, idx []int32) {
	th, tw := g.winoTiles()
	tpi := th * tw
	maxT := min(per, hi-lo) * tpi
	vb := getScratch(16 * g.c * maxT)
	defer scratch.Put(vb)
	mb := getScratch(16 * g.oc * maxT)
	defer scratch.Put(mb)
	var zb *[]float32
	ySz := g.outSz
	if pool.kh > 0 {
		zb = getScratch(g.outSz)
		defer scratch.Put(zb)
		ySz = g.oc * pool.oh * pool.ow
	}
	rb := getScratch(max(8*(2*tw+2), 9*tw+2))
	defer scratch.Put(rb)
	v, m := *vb, *mb
	for s0 := lo; s0 < hi; s0 += per {
		s1 := min(s0+per, hi)
		nt := (s1 - s0) * tpi
		for s := s0; s < s1; s++ {
			g.winoInput(v, nt, (s-s0)*tpi, x[s*g.inSize:(s+1)*g.inSize], *rb)
		}
		for xi := 0; xi < 16; xi++ {
			kernel.Gemm(false, false, g.oc, nt, g.c, 1, u[xi*g.oc*g.c:], g.c,
				v[xi*g.c*nt:], nt, 0, m[xi*g.oc*nt:], nt)
		}
		for s := s0; s < s1; s++ {
			ys := y[s*ySz : (s+1)*ySz]
			if pool.kh == 0 {
				g.winoOutput(ys, m, nt, (s-s0)*tpi, b, g.relu, *rb)
				continue
			}
			zs := *zb
			g.winoOutput(zs, m, nt, (s-s0)*tpi, b, false, *rb)
			var ids []int32
			if idx != nil {
				ids = idx[s*ySz : (s+1)*ySz]
			}
			if pool.is2x2() {
				pool.maxReLU2x2(0, g.oc, ys, zs, ids)
			} else {
				pool.maxRange(0, g.oc, ys, zs, ids)
				kernel.Relu(ys, ys) // max and ReLU commute
			}
		}
	}
}

// winoInput writes the transformed input tiles Bᵀ·d·B of one sample xs
// [C, H, W] into v, laid out [16][C][nt], at tile columns t0, t0+1, ….
// Parts of a 4×4 block outside the (padded) input read as zeros. rb is
// scratch of 8·(2·tiles across + 2) values.
//
// Each row of tiles is done a whole row at a time: the four input rows
// under it, zero-padded, are combined by Bᵀ (the vertical pass, shared by
// neighbouring tiles), then each combined row by B within each tile.
func (g *convGeom) winoInput(v []float32, nt, t0 int, xs, rb []float32) {
	th, tw := g.winoTiles()
	h, wd, c := g.h, g.w, g.c
	plane := c * nt
	_ = v[16*plane-1]
	L := 2*tw + 2
	var d, e [4][]float32
	for i := range d {
		d[i] = rb[i*L : (i+1)*L]
		e[i] = rb[(4+i)*L : (5+i)*L]
	}
	n := min(wd, L-g.pw) // input columns that fall inside a padded row
	for ci := 0; ci < c; ci++ {
		src := xs[ci*h*wd : (ci+1)*h*wd]
		for ti := 0; ti < th; ti++ {
			for i := range d {
				di := d[i]
				if r := 2*ti - g.ph + i; r >= 0 && r < h {
					for j := 0; j < g.pw; j++ {
						di[j] = 0
					}
					copySmall(di[g.pw:g.pw+n], src[r*wd:r*wd+n])
					for j := g.pw + n; j < L; j++ {
						di[j] = 0
					}
				} else {
					for j := range di {
						di[j] = 0
					}
				}
			}
			// Rows of Bᵀ: [1 0 −1 0], [0 1 1 0], [0 −1 1 0], [0 1 0 −1].
			winoColIn(e[0], e[1], e[2], e[3], d[0], d[1], d[2], d[3])
			base := ci*nt + t0 + ti*tw
			for i := 0; i < 4; i++ {
				o := (4 * i) * plane
				winoRowIn(v[o+base:o+base+tw], v[o+plane+base:o+plane+base+tw],
					v[o+2*plane+base:o+2*plane+base+tw], v[o+3*plane+base:o+3*plane+base+tw], e[i])
			}
		}
	}
}

// winoColIn applies Bᵀ down the columns of the rows d0…d3 into e0…e3.
func winoColIn(e0, e1, e2, e3, d0, d1, d2, d3 []float32) {
	n := len(e0)
	e1, e2, e3 = e1[:n], e2[:n], e3[:n]
	d0, d1, d2, d3 = d0[:n], d1[:n], d2[:n], d3[:n]
	for j := range e0 {
		a0, a1, a2, a3 := d0[j], d1[j], d2[j], d3[j]
		e0[j] = a0 - a2
		e1[j] = a1 + a2
		e2[j] = a2 - a1
		e3[j] = a1 - a3
	}
}

// winoRowIn applies B within each 4-wide window (step 2) of e, writing
// the four results of window t to o0[t]…o3[t].
func winoRowIn(o0, o1, o2, o3, e []float32) {
	n := len(o0)
	o1, o2, o3 = o1[:n], o2[:n], o3[:n]
	e = e[:2*n+2]
	for t := range o0 {
		w := e[2*t : 2*t+4 : 2*t+4]
		a0, a1, a2, a3 := w[0], w[1], w[2], w[3]
		o0[t] = a0 - a2
		o1[t] = a1 + a2
		o2[t] = a2 - a1
		o3[t] = a1 - a3
	}
}

// winoOutput writes one sample's output ys [outC, oh, ow] from the
// products m, laid out [16][outC][nt] with the sample's tiles at columns
// t0, t0+1, …: Aᵀ·M·A for each tile, plus the bias b (when not nil), then
// the ReLU when relu is set. Rows and columns of a tile past the output's
// edge are dropped. qb is scratch of 9·(tiles across) values.
func (g *convGeom) winoOutput(ys, m []float32, nt, t0 int, b []float32, relu bool, qb []float32) {
	th, tw := g.winoTiles()
	oh, ow := g.oh, g.ow
	plane := g.oc * nt
	_ = m[16*plane-1]
	var q0, q1 [4][]float32
	for j := range q0 {
		q0[j] = qb[j*tw : (j+1)*tw]
		q1[j] = qb[(4+j)*tw : (5+j)*tw]
	}
	spare := qb[8*tw : 9*tw+2] // receives a tile's second row past the bottom edge
	for o := 0; o < g.oc; o++ {
		var bias float32
		if b != nil {
			bias = b[o]
		}
		dst := ys[o*oh*ow : (o+1)*oh*ow]
		for ti := 0; ti < th; ti++ {
			base := o*nt + t0 + ti*tw
			// Rows of Aᵀ: [1 1 1 0], [0 1 −1 −1], first down the columns…
			for j := 0; j < 4; j++ {
				a := j*plane + base
				winoColOut(q0[j], q1[j], m[a:a+tw], m[a+4*plane:a+4*plane+tw],
					m[a+8*plane:a+8*plane+tw], m[a+12*plane:a+12*plane+tw])
			}
			// …then along the rows.
			r := 2 * ti
			winoRowOut(dst[r*ow:(r+1)*ow], q0[0], q0[1], q0[2], q0[3], bias)
			if r+1 < oh {
				winoRowOut(dst[(r+1)*ow:(r+2)*ow], q1[0], q1[1], q1[2], q1[3], bias)
			} else {
				winoRowOut(spare[:ow], q1[0], q1[1], q1[2], q1[3], bias)
			}
		}
		if relu {
			kernel.Relu(dst, dst)
		}
	}
}

// winoColOut sets q0 = m0+m1+m2 and q1 = m1−m2−m3.
func winoColOut(q0, q1, m0, m1, m2, m3 []float32) {
	n := len(q0)
	q1, m0, m1, m2, m3 = q1[:n], m0[:n], m1[:n], m2[:n], m3[:n]
	for t := range q0 {
		a1, a2 := m1[t], m2[t]
		q0[t] = m0[t] + a1 + a2
		q1[t] = a1 - a2 - m3[t]
	}
}

// winoRowOut writes the two outputs of each tile t, p0+p1+p2 and
// p1−p2−p3 (plus bias), to row[2t] and row[2t+1], dropping the second
// past the end of row.
func winoRowOut(row, p0, p1, p2, p3 []float32, bias float32) {
	n := len(p0)
	p1, p2, p3 = p1[:n], p2[:n], p3[:n]
	full := len(row) / 2
	for t := 0; t < full; t++ {
		a1, a2 := p1[t], p2[t]
		r := row[2*t : 2*t+2 : 2*t+2]
		r[0] = p0[t] + a1 + a2 + bias
		r[1] = a1 - a2 - p3[t] + bias
	}
	if full < n {
		row[2*full] = p0[full] + p1[full] + p2[full] + bias
	}
}
