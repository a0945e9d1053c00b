package autograd

import "github.com/shoshin-ml/shoshin/internal/kernel"

// The Winograd F(2×2, 3×3) form of ConvCache's fast path, for a 3×3
// convolution with 8 input channels or more followed by 2×2 pooling (the
// second layer of an MNIST convnet). Each 2×2 block of the convolution's
// output is one pooling window, so that every pooled output is one
// Winograd tile: the 4×4 input block d under it is transformed to Bᵀ·d·B
// (16 values per channel), the 16 positions are 16 products
// [tiles, C]·[C, outC] with the filters transformed once to G·g·Gᵀ, and
// Aᵀ·M·A gives the window's four outputs, whose maximum (plus the bias,
// rectified) is the result. Only tiles under a pooling window are
// computed: a last odd output row or column, which the pooling leaves
// out, costs nothing. The products take 4 multiply-adds per output where
// the direct form takes 9; the results differ from it by rounding only
// (the transforms multiply by 0, ±½ and ±1). See winograd.go for the
// training path's form of the same algorithm.

// winoInfer enables the Winograd form; tests and benchmarks turn it off
// to reach the direct form.
var winoInfer = true

// packWino returns the filters w [outC, C, 3, 3] transformed and packed
// as the right operands of the 16 products: for each position xi of the
// 4×4 transformed block and each panel of nr output channels, C rows of
// nr values. The transform is computed in float64.
func packWino(w []float32, oc, c, nr, panels int) []float32 {
	u := kernel.AlignedFloats(16 * panels * c * nr)
	for o := range oc {
		q, j := o/nr, o%nr
		for ci := range c {
			g := w[(o*c+ci)*9 : (o*c+ci+1)*9]
			// t = G·g (4×3), then u = t·Gᵀ (4×4).
			var t [4][3]float64
			for k := range 3 {
				g0, g1, g2 := float64(g[k]), float64(g[3+k]), float64(g[6+k])
				t[0][k], t[1][k], t[2][k], t[3][k] = g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
			}
			for r := range 4 {
				t0, t1, t2 := t[r][0], t[r][1], t[r][2]
				row := [4]float64{t0, (t0 + t1 + t2) / 2, (t0 - t1 + t2) / 2, t2}
				for k, v := range row {
					xi := 4*r + k
					u[((xi*panels+q)*c+ci)*nr+j] = float32(v)
				}
			}
		}
	}
	return u
}

// winoPlan is the layout of one sample's Winograd pass: nt tiles (one
// per pooled output), padded to ntp rows of the tile, and the products'
// row stride ldm.
type winoPlan struct {
	tile         kernel.Tile
	nt, ntp, ldm int
	vSize, mSize int
	tilesAcross  int
	tilesDown    int
	panels       int
}

func (f *convFilters) winoPlan(g *convGeom, pool *poolGeom) winoPlan {
	var wp winoPlan
	wp.tilesDown, wp.tilesAcross = pool.oh, pool.ow
	wp.nt = wp.tilesDown * wp.tilesAcross
	// Any tile with the packed filters' panel width will do: choose the
	// one that pads the tiles least.
	wp.tile = kernel.TileFor(wp.nt, f.oc)
	if wp.tile.NR() != f.tile.NR() {
		wp.tile = f.tile
	}
	mr, nr := wp.tile.MR(), wp.tile.NR()
	wp.ntp = (wp.nt + mr - 1) / mr * mr
	wp.panels = f.panels
	wp.ldm = f.panels * nr
	wp.vSize = 16 * f.c * wp.ntp
	wp.mSize = 16 * wp.ntp * wp.ldm
	return wp
}

// winoInput writes the transformed blocks Bᵀ·d·B of the padded sample xp
// into v, laid out [16][C][ntp] (tile t of channel c at position xi is
// v[(xi·C + c)·ntp + t]). The vertical pass is shared by the tiles of a
// row and leaves even and odd columns apart, so that the horizontal pass
// reads every operand at unit stride; e is scratch of 8·(tiles across +
// 1) values.
func (f *convFilters) winoInput(v, xp, e []float32, p *inferPlan, wp *winoPlan) {
	ta, ntp, cs := wp.tilesAcross, wp.ntp, f.c*wp.ntp
	h := ta + 1
	var ev, od [4][]float32
	for k := range 4 {
		ev[k], od[k] = e[2*k*h:(2*k+1)*h], e[(2*k+1)*h:(2*k+2)*h]
	}
	n := 2 * h
	for c := range f.c {
		plane := xp[c*p.plane:]
		for ty := range wp.tilesDown {
			r := plane[2*ty*p.wp:]
			d0, d1, d2, d3 := r[:n], r[p.wp:p.wp+n], r[2*p.wp:2*p.wp+n], r[3*p.wp:3*p.wp+n]
			e0, e1, e2, e3 := ev[0][:h], ev[1][:h], ev[2][:h], ev[3][:h]
			o0, o1, o2, o3 := od[0][:h], od[1][:h], od[2][:h], od[3][:h]
			for i := range e0 {
				a0, a1, a2, a3 := d0[2*i], d1[2*i], d2[2*i], d3[2*i]
				b0, b1, b2, b3 := d0[2*i+1], d1[2*i+1], d2[2*i+1], d3[2*i+1]
				e0[i], e1[i], e2[i], e3[i] = a0-a2, a1+a2, a2-a1, a1-a3
				o0[i], o1[i], o2[i], o3[i] = b0-b2, b1+b2, b2-b1, b1-b3
			}
			base := c*ntp + ty*ta
			for k := range 4 {
				out := v[4*k*cs+base:]
				x0, x1, x2, x3 := out[:ta], out[cs:cs+ta], out[2*cs:2*cs+ta], out[3*cs:3*cs+ta]
				// Window tx covers columns 2tx … 2tx+3: even tx, odd tx,
				// even tx+1, odd tx+1.
				ea, eb, oa, ob := ev[k][:ta], ev[k][1:h], od[k][:ta], od[k][1:h]
				for tx := range x0 {
					w0, w1, w2, w3 := ea[tx], oa[tx], eb[tx], ob[tx]
					x0[tx] = w0 - w2
					x1[tx] = w1 + w2
					x2[tx] = w2 - w1
					x3[tx] = w1 - w3
				}
			}
		}
	}
}

// winoProducts computes the 16 products M[xi] = V[xi]·U[xi] into m,
// laid out [16][ntp][ldm].
func (f *convFilters) winoProducts(m, v []float32, wp *winoPlan) {
	t := wp.tile
	mr, nr := t.MR(), t.NR()
	taps := [1]kernel.Tap{{K: f.c}}
	for xi := range 16 {
		for i := 0; i < wp.ntp; i += mr {
			a := v[xi*f.c*wp.ntp+i:]
			for q := range wp.panels {
				t.SumTaps(taps[:], a, 1, wp.ntp, f.wino[(xi*wp.panels+q)*f.c*nr:], nr, nil, m[(xi*wp.ntp+i)*wp.ldm+q*nr:], wp.ldm)
			}
		}
	}
}

// winoOutput writes the pooled output ys [outC, tiles down, tiles across]
// from the products m: for each tile, Aᵀ·M·A gives the window's four
// convolution outputs; their maximum plus the bias, rectified, is the
// result (the bias after the maximum, as in epilogueChannels). The
// transform runs in passes over whole rows of output channels, which the
// compiler keeps in registers better than one channel at a time; sc is
// scratch of 8·outC values.
func (f *convFilters) winoOutput(ys, m, b, sc []float32, oc int, wp *winoPlan) {
	ld, nt := wp.ldm, wp.nt
	rs := wp.ntp * ld // between positions xi
	sc = sc[:8*oc]
	for t := range nt {
		mt := m[t*ld:]
		// s = Aᵀ·M: row 0 (sk) and row 1 (uk) of column k.
		for k := range 4 {
			m0, m1 := mt[k*rs:k*rs+oc], mt[(4+k)*rs:(4+k)*rs+oc]
			m2, m3 := mt[(8+k)*rs:(8+k)*rs+oc], mt[(12+k)*rs:(12+k)*rs+oc]
			sk, uk := sc[k*oc:(k+1)*oc], sc[(4+k)*oc:(5+k)*oc]
			for o, v := range m1 {
				w := m2[o]
				sk[o] = m0[o] + v + w
				uk[o] = v - w - m3[o]
			}
		}
		// y = s·A, the window's maximum, the bias and the ReLU.
		for h := range 2 {
			s0, s1 := sc[4*h*oc:(4*h+1)*oc], sc[(4*h+1)*oc:(4*h+2)*oc]
			s2, s3 := sc[(4*h+2)*oc:(4*h+3)*oc], sc[(4*h+3)*oc:(4*h+4)*oc]
			dst := sc[4*h*oc : (4*h+1)*oc] // s0, overwritten in place
			for o, v := range s1 {
				w := s2[o]
				dst[o] = max(s0[o]+v+w, v-w-s3[o])
			}
		}
		y0, y1 := sc[:oc], sc[4*oc:5*oc]
		dst := ys[t:]
		if b != nil {
			b = b[:oc]
			for o, v := range y0 {
				dst[o*nt] = max(max(v, y1[o])+b[o], 0)
			}
			continue
		}
		for o, v := range y0 {
			dst[o*nt] = max(v, y1[o], 0)
		}
	}
}
