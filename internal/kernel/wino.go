package kernel

import "fmt"

// The transforms of Winograd's F(2×2, 3×3) convolution (Lavin and Gray,
// 2015), each applied to n independent lanes at once: lane k of every
// operand is element k of a vector, so that a caller lays its tiles out
// with channels innermost and one call transforms a tile for all of them.
// With the matrices
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//	Aᵀ = [1 1 1 0; 0 1 −1 −1]
//
// a 4×4 input block d becomes V = Bᵀ·d·B, the 16 products M give the
// 2×2 output Aᵀ·M·A, and the backward passes are their transposes:
// dM = A·dY·Aᵀ and dd = B·dV·Bᵀ. Position ξ = 4r + c of a transformed
// block is row r, column c. Every transform first combines along the
// columns of each row, then along the rows; the assembly kernels keep that
// order, so that they and the portable twins agree bit for bit (the
// transforms only add and subtract).

// WinoIn writes the input transform V = Bᵀ·d·B of the blocks
// d[i][j] = src[i·rs + j·cs + k] to dst[ξ·ds + k], for lanes k < n.
func WinoIn(dst []float32, ds int, src []float32, rs, cs, n int) {
	if n <= 0 {
		return
	}
	if rs < 0 || cs < 0 || ds < 0 || len(src) <= 3*rs+3*cs+n-1 || len(dst) <= 15*ds+n-1 {
		panic(fmt.Sprintf("kernel.WinoIn: %d lanes, strides %d, %d, %d, src %d, dst %d", n, rs, cs, ds, len(src), len(dst)))
	}
	k := winoInAsm(dst, ds, src, rs, cs, n)
	if k < n {
		winoInPortable(dst[k:], ds, src[k:], rs, cs, n-k)
	}
}

// WinoOut writes the output transform Y = Aᵀ·M·A of the products
// M[ξ] = src[ξ·ss + k] to dst[(2i + j)·os + k], for lanes k < n.
func WinoOut(dst []float32, os int, src []float32, ss, n int) {
	if n <= 0 {
		return
	}
	if ss < 0 || os < 0 || len(src) <= 15*ss+n-1 || len(dst) <= 3*os+n-1 {
		panic(fmt.Sprintf("kernel.WinoOut: %d lanes, strides %d, %d, src %d, dst %d", n, ss, os, len(src), len(dst)))
	}
	k := winoOutAsm(dst, os, src, ss, n)
	if k < n {
		winoOutPortable(dst[k:], os, src[k:], ss, n-k)
	}
}

// WinoOutGrad writes the gradient of the products, dM = A·dY·Aᵀ, of the
// output gradients dY[i][j] = src[(2i + j)·ss + k] to dst[ξ·ds + k], for
// lanes k < n.
func WinoOutGrad(dst []float32, ds int, src []float32, ss, n int) {
	if n <= 0 {
		return
	}
	if ss < 0 || ds < 0 || len(src) <= 3*ss+n-1 || len(dst) <= 15*ds+n-1 {
		panic(fmt.Sprintf("kernel.WinoOutGrad: %d lanes, strides %d, %d, src %d, dst %d", n, ss, ds, len(src), len(dst)))
	}
	k := winoOutGradAsm(dst, ds, src, ss, n)
	if k < n {
		winoOutGradPortable(dst[k:], ds, src[k:], ss, n-k)
	}
}

// WinoInGradAdd adds the gradient of the input block, dd = B·dV·Bᵀ, of
// the transformed gradients dV[ξ] = src[ξ·ss + k] onto
// dst[i·rs + j·cs + k], for lanes k < n. Blocks of neighbouring tiles
// overlap: calls for them add up.
func WinoInGradAdd(dst []float32, rs, cs int, src []float32, ss, n int) {
	if n <= 0 {
		return
	}
	if rs < 0 || cs < 0 || ss < 0 || len(src) <= 15*ss+n-1 || len(dst) <= 3*rs+3*cs+n-1 {
		panic(fmt.Sprintf("kernel.WinoInGradAdd: %d lanes, strides %d, %d, %d, src %d, dst %d", n, rs, cs, ss, len(src), len(dst)))
	}
	k := winoInGradAddAsm(dst, rs, cs, src, ss, n)
	if k < n {
		winoInGradAddPortable(dst[k:], rs, cs, src[k:], ss, n-k)
	}
}

func winoInPortable(dst []float32, ds int, src []float32, rs, cs, n int) {
	for k := range n {
		var e [4][4]float32
		for i := range 4 {
			r := src[i*rs+k:]
			d0, d1, d2, d3 := r[0], r[cs], r[2*cs], r[3*cs]
			e[i] = [4]float32{d0 - d2, d1 + d2, d2 - d1, d1 - d3}
		}
		for c := range 4 {
			e0, e1, e2, e3 := e[0][c], e[1][c], e[2][c], e[3][c]
			dst[c*ds+k] = e0 - e2
			dst[(4+c)*ds+k] = e1 + e2
			dst[(8+c)*ds+k] = e2 - e1
			dst[(12+c)*ds+k] = e1 - e3
		}
	}
}

func winoOutPortable(dst []float32, os int, src []float32, ss, n int) {
	for k := range n {
		var q [4][2]float32
		for r := range 4 {
			m := src[4*r*ss+k:]
			m0, m1, m2, m3 := m[0], m[ss], m[2*ss], m[3*ss]
			q[r] = [2]float32{m0 + m1 + m2, m1 - m2 - m3}
		}
		for j := range 2 {
			q0, q1, q2, q3 := q[0][j], q[1][j], q[2][j], q[3][j]
			dst[j*os+k] = q0 + q1 + q2
			dst[(2+j)*os+k] = q1 - q2 - q3
		}
	}
}

func winoOutGradPortable(dst []float32, ds int, src []float32, ss, n int) {
	for k := range n {
		var h [2][4]float32
		for i := range 2 {
			y0, y1 := src[2*i*ss+k], src[(2*i+1)*ss+k]
			h[i] = [4]float32{y0, y0 + y1, y0 - y1, -y1}
		}
		for c := range 4 {
			h0, h1 := h[0][c], h[1][c]
			dst[c*ds+k] = h0
			dst[(4+c)*ds+k] = h0 + h1
			dst[(8+c)*ds+k] = h0 - h1
			dst[(12+c)*ds+k] = -h1
		}
	}
}

func winoInGradAddPortable(dst []float32, rs, cs int, src []float32, ss, n int) {
	for k := range n {
		var f [4][4]float32
		for r := range 4 {
			v := src[4*r*ss+k:]
			v0, v1, v2, v3 := v[0], v[ss], v[2*ss], v[3*ss]
			f[r] = [4]float32{v0, v1 - v2 + v3, v1 + v2 - v0, -v3}
		}
		for j := range 4 {
			f0, f1, f2, f3 := f[0][j], f[1][j], f[2][j], f[3][j]
			d := dst[j*cs+k:]
			d[0] += f0
			d[rs] += f1 - f2 + f3
			d[2*rs] += f1 + f2 - f0
			d[3*rs] -= f3
		}
	}
}

// WinoPool pools the 2×2 output tiles of a Winograd pass whose tiles are
// the windows of a 2×2 max-pooling followed by a ReLU. For each lane
// o < len(dst), the window's outputs in row-major order are
// q[c·qs + o] + b[o] (c = 0…3; without the bias when b is nil); dst[o]
// receives the first maximal one, or the first NaN, rectified (NaN kept,
// −0 made +0), as kernel.MaxPool2x2 with relu does, and win[o] the
// winner's position c, or −1 when the result is +0 (the window passes no
// gradient; see WinoPoolGrad).
func WinoPool(dst []float32, win []int32, q []float32, qs int, b []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	if len(win) < n || qs < n || len(q) < 3*qs+n || (b != nil && len(b) < n) {
		panic(fmt.Sprintf("kernel.WinoPool: %d lanes, stride %d, win %d, q %d, b %d", n, qs, len(win), len(q), len(b)))
	}
	k := winoPoolAsm(dst, win, q, qs, b)
	if k < n {
		var bk []float32
		if b != nil {
			bk = b[k:n]
		}
		winoPoolPortable(dst[k:], win[k:n], q[k:], qs, bk)
	}
}

func winoPoolPortable(dst []float32, win []int32, q []float32, qs int, b []float32) {
	for o := range dst {
		v := [4]float32{q[o], q[qs+o], q[2*qs+o], q[3*qs+o]}
		if b != nil {
			bo := b[o]
			v = [4]float32{v[0] + bo, v[1] + bo, v[2] + bo, v[3] + bo}
		}
		best, k := v[0], int32(0)
		for c := 1; c < 4; c++ {
			if best == best && !(v[c] <= best) {
				best, k = v[c], int32(c)
			}
		}
		if !(best > 0) && best == best {
			best, k = 0, -1
		}
		dst[o], win[o] = best, k
	}
}

// WinoPoolGrad writes the output gradient of the 2×2 tiles that WinoPool
// pooled, from the pooled gradient g and the winners win: for each lane
// o < len(g), dy[c·ds + o] is g[o] at the winner (c = win[o]) and +0 at
// the other positions, all four +0 when win[o] is −1. When gb is not nil,
// the passed gradient (or +0) is added to gb[o], the bias gradient.
func WinoPoolGrad(dy []float32, ds int, g []float32, win []int32, gb []float32) {
	n := len(g)
	if n == 0 {
		return
	}
	if len(win) < n || ds < n || len(dy) < 3*ds+n || (gb != nil && len(gb) < n) {
		panic(fmt.Sprintf("kernel.WinoPoolGrad: %d lanes, stride %d, win %d, dy %d, gb %d", n, ds, len(win), len(dy), len(gb)))
	}
	k := winoPoolGradAsm(dy, ds, g, win, gb)
	if k < n {
		var gbk []float32
		if gb != nil {
			gbk = gb[k:n]
		}
		winoPoolGradPortable(dy[k:], ds, g[k:n], win[k:n], gbk)
	}
}

func winoPoolGradPortable(dy []float32, ds int, g []float32, win []int32, gb []float32) {
	for o, v := range g {
		k := win[o]
		for c := range int32(4) {
			d := v
			if k != c {
				d = 0
			}
			dy[int(c)*ds+o] = d
		}
		if gb != nil {
			if k < 0 {
				v = 0
			}
			gb[o] += v
		}
	}
}
