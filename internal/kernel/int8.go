package kernel

import (
	"fmt"
	"math"
	"sync"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// MaxU8Activation is the largest activation GemmU8I8 accepts. The AVX2
// kernel adds adjacent u8·s8 products into int16 with VPMADDUBSW, which
// saturates at ±32767: with activations at most 127 a pair is at most
// 2·127·128 = 32512 in magnitude, so every sum stays exact (PyTorch's
// "reduce_range" makes the same choice on x86).
const MaxU8Activation = 127

// Panel geometry of packed int8 weights (see PackI8).
const (
	i8Panel = 16 // columns per panel
	i8Group = 4  // k bytes per column per group
	i8MR    = 6  // rows of the tallest micro-kernel tile
)

// i8Kernel computes an mr×(16·nv) tile of C from kg groups of k: see
// gen/int8.go for the exact contract.
type i8Kernel func(kg int, a *uint8, lda int, w *int8, ps int, c *int32, ldc int)

// int8Impl is one implementation of the packed int8 micro-kernels.
// kern[mr−1][nv−1] computes mr rows by nv panels; a nil kern means the
// portable Go loops.
type int8Impl struct {
	name string
	nv   int // panels of the widest tile
	kern [i8MR][]i8Kernel
}

// int8Portable is the pure-Go implementation.
var int8Portable = &int8Impl{name: "go", nv: 2}

// int8Active is the implementation GemmU8I8 uses.
var int8Active = int8Impls()[0]

// Int8Impl returns the name of the int8 kernel GemmU8I8 uses on this
// machine: "vnni" (AVX-512 VPDPBUSD), "avx2" (VPMADDUBSW) or "go".
func Int8Impl() string { return int8Active.name }

// int8ParallelWork is the m·n·k below which the int8 products stay on the
// caller's goroutine.
const int8ParallelWork = 1 << 20

// PackedI8 is an int8 weight matrix W [N, K] packed once for
// GemmU8I8Packed: panels of 16 columns (rows of W), each holding, per
// group of four k, the 16 columns' four bytes side by side, zero-padded
// to whole panels and whole groups. Packing is the same on every machine.
type PackedI8 struct {
	N, K int
	kp   int    // K rounded up to a whole group
	data []int8 // ⌈N/16⌉ panels of kp·16 bytes
}

// PackI8 packs the n×k int8 matrix w (row j at w[j·ldw:]), as a Dense layer
// stores its [out, in] weight, for GemmU8I8Packed. It panics when a
// dimension is negative, the stride is too small or w is too short.
func PackI8(n, k int, w []int8, ldw int) *PackedI8 {
	if n < 0 || k < 0 {
		panic(fmt.Sprintf("kernel.PackI8: negative dimension n=%d k=%d", n, k))
	}
	checkLen("kernel.PackI8", "W", len(w), n, k, ldw)
	p := &PackedI8{N: n, K: k, kp: (k + i8Group - 1) &^ (i8Group - 1)}
	panels := (n + i8Panel - 1) / i8Panel
	p.data = make([]int8, panels*p.kp*i8Panel)
	for j := range n * min(k, 1) {
		dst := p.data[(j/i8Panel)*p.kp*i8Panel+(j%i8Panel)*i8Group:]
		row := w[j*ldw : j*ldw+k]
		q := 0
		for o := 0; q+i8Group <= k; q, o = q+i8Group, o+i8Panel*i8Group {
			d, s := dst[o:o+4:o+4], row[q:q+4:q+4]
			d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
		}
		for ; q < k; q++ {
			dst[(q/i8Group)*i8Panel*i8Group+q%i8Group] = row[q]
		}
	}
	return p
}

// RowLen returns the bytes of each activation row that GemmU8I8Packed
// reads: K rounded up to a multiple of 4. The bytes past K may hold
// anything (they meet zero weights).
func (p *PackedI8) RowLen() int { return p.kp }

// GemmU8I8 computes C = A·Wᵀ exactly in int32: C[i·ldc+j] = Σ_p
// A[i·lda+p]·W[j·ldw+p] for i < m, j < n, p < k, overwriting C. A holds m
// rows of k unsigned activations, each at most MaxU8Activation (larger
// values may saturate on AVX2 and give machine-dependent sums); W holds n
// rows of k signed weights, any int8 including −128, as a Dense layer
// stores its [out, in] weight. Every implementation returns the same
// sums, bit for bit. GemmU8I8 panics when a dimension is negative, a
// stride is too small or a slice is too short.
//
// GemmU8I8 packs W on every call; a layer whose weights do not change
// packs them once with PackI8 and calls GemmU8I8Packed.
func GemmU8I8(m, n, k int, a []uint8, lda int, w []int8, ldw int, c []int32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernel.GemmU8I8: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	checkLen("kernel.GemmU8I8", "A", len(a), m, k, lda)
	checkLen("kernel.GemmU8I8", "W", len(w), n, k, ldw)
	checkLen("kernel.GemmU8I8", "C", len(c), m, n, ldc)
	p := PackI8(n, k, w, ldw)
	if m > 0 && (m-1)*lda+p.kp > len(a) {
		// The kernels read whole groups: give the last row its padding.
		pa := make([]uint8, m*p.kp)
		for i := range m {
			copy(pa[i*p.kp:i*p.kp+k], a[i*lda:i*lda+k])
		}
		a, lda = pa, p.kp
	}
	gemmPacked(m, a, lda, p, c, ldc)
}

// GemmU8I8Packed computes C = A·Wᵀ exactly in int32 for the packed W
// (PackI8): C[i·ldc+j] = Σ_{p<K} A[i·lda+p]·W[j, p] for i < m, j < N,
// overwriting C, with the activations' contract of GemmU8I8. Each row of A
// must hold RowLen() readable bytes (lda ≥ K, and the last row RowLen()
// long); bytes from K on are ignored. It panics when a stride is too small
// or a slice too short.
func GemmU8I8Packed(m int, a []uint8, lda int, p *PackedI8, c []int32, ldc int) {
	if m < 0 {
		panic(fmt.Sprintf("kernel.GemmU8I8Packed: negative dimension m=%d", m))
	}
	checkLen("kernel.GemmU8I8Packed", "C", len(c), m, p.N, ldc)
	if lda < max(p.K, 1) || (m > 0 && len(a) < (m-1)*lda+p.kp) {
		panic(fmt.Sprintf("kernel.GemmU8I8Packed: A holds %d bytes with stride %d, need %d rows of %d (K=%d rounded up to 4) with stride ≥ %d", len(a), lda, m, p.kp, p.K, p.K))
	}
	gemmPacked(m, a, lda, p, c, ldc)
}

func checkLen(op, name string, have, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("%s: ld%s = %d is smaller than the %d columns of %s", op, name, ld, cols, name))
	}
	if rows > 0 && cols > 0 && have < (rows-1)*ld+cols {
		panic(fmt.Sprintf("%s: %s holds %d elements, need %d for %d×%d with stride %d", op, name, have, (rows-1)*ld+cols, rows, cols, ld))
	}
}

// gemmPacked runs the tiles of C: row blocks of i8MR rows by column groups
// of im.nv panels, in row-major order so that a block of A stays in cache
// while the panels stream past it, split across workers when large.
func gemmPacked(m int, a []uint8, lda int, p *PackedI8, c []int32, ldc int) {
	n := p.N
	if m == 0 || n == 0 {
		return
	}
	im := int8Active
	if p.K == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	panels := (n + i8Panel - 1) / i8Panel
	rb, cb := (m+i8MR-1)/i8MR, (panels+im.nv-1)/im.nv
	j := i8Job{im: im, m: m, a: a, lda: lda, p: p, c: c, ldc: ldc, panels: panels, cb: cb}
	if m*n*p.K < int8ParallelWork {
		j.tiles(0, rb*cb) // j stays on the stack: no allocation at small sizes
		return
	}
	grain := max(1, int8ParallelWork/(i8MR*i8Panel*im.nv*p.kp))
	jp := j // the method value escapes to the workers; only this copy moves to the heap
	parallel.For(rb*cb, grain, jp.tiles)
}

// i8Job is one packed int8 product, split into tiles of i8MR rows by
// im.nv panels.
type i8Job struct {
	im         *int8Impl
	m, lda     int
	a          []uint8
	p          *PackedI8
	c          []int32
	ldc        int
	panels, cb int
}

// tiles computes tiles [lo, hi), in row-major order.
func (j *i8Job) tiles(lo, hi int) {
	tmp := i8Scratch.Get().(*i8Tile)
	defer i8Scratch.Put(tmp)
	for t := lo; t < hi; t++ {
		i, pj := (t/j.cb)*i8MR, (t%j.cb)*j.im.nv
		gemmTile(j.im, min(i8MR, j.m-i), min(j.im.nv, j.panels-pj), j.a[i*j.lda:], j.lda, j.p, pj, j.c[i*j.ldc:], j.ldc, tmp)
	}
}

// i8Tile is scratch for a tile that overhangs the last column. It comes
// from a pool because the kernels, called through function values, make
// their arguments escape.
type i8Tile [i8MR * 4 * i8Panel]int32

var i8Scratch = sync.Pool{New: func() any { return new(i8Tile) }}

// gemmTile computes rows [0, mr) of C (from c) by panels [pj, pj+nv).
// Columns past N go to the scratch tile tmp and are dropped.
func gemmTile(im *int8Impl, mr, nv int, a []uint8, lda int, p *PackedI8, pj int, c []int32, ldc int, tmp *i8Tile) {
	ps := p.kp * i8Panel
	w := p.data[pj*ps:]
	col0 := pj * i8Panel
	width := min(nv*i8Panel, p.N-col0)
	dst, ldd := c[col0:], ldc
	if width < nv*i8Panel {
		dst, ldd = tmp[:], nv*i8Panel
	}
	if k := im.kern[mr-1]; k != nil {
		k[nv-1](p.kp/i8Group, &a[0], lda, &w[0], ps, &dst[0], ldd)
	} else {
		tilePortable(mr, nv, p.kp/i8Group, a, lda, w, ps, dst, ldd)
	}
	if width < nv*i8Panel {
		for i := range mr {
			copy(c[i*ldc+col0:i*ldc+col0+width], tmp[i*ldd:i*ldd+width])
		}
	}
}

// tilePortable is the portable twin of the micro-kernels: an mr×(16·nv)
// tile over kg groups, exact in int32.
func tilePortable(mr, nv, kg int, a []uint8, lda int, w []int8, ps int, c []int32, ldc int) {
	for i := range mr {
		ar := a[i*lda : i*lda+kg*i8Group]
		for j := range nv {
			var acc [i8Panel]int32
			pw := w[j*ps : j*ps+kg*i8Group*i8Panel]
			for g := range kg {
				a0, a1, a2, a3 := int32(ar[4*g]), int32(ar[4*g+1]), int32(ar[4*g+2]), int32(ar[4*g+3])
				blk := pw[g*64 : g*64+64]
				for x := range acc {
					acc[x] += a0*int32(blk[4*x]) + a1*int32(blk[4*x+1]) + a2*int32(blk[4*x+2]) + a3*int32(blk[4*x+3])
				}
			}
			copy(c[i*ldc+j*i8Panel:i*ldc+(j+1)*i8Panel], acc[:])
		}
	}
}

// QuantizeU8Row quantises one row of activations x into dst (len(dst) ≥
// len(x)) as 7-bit unsigned integers for GemmU8I8: lo = min(0, min x), hi
// = max(0, max x), scale = (hi−lo)/127, zp = round(−lo/scale) (half away
// from zero) and dst[i] = clamp(⌊float32(x[i]·(1/scale)) + zp + ½⌋, 0, 127),
// so ties round up and x[i] ≈ scale·(dst[i] − zp) within scale/2. A zero
// row gives scale 0 and zeros; a row holding NaN or ±Inf gives a NaN
// scale (and zeros), so that what is computed from it is NaN. The AVX2
// path and the portable twin give the same bytes.
func QuantizeU8Row(dst []uint8, x []float32) (scale float32, zp int32) {
	dst = dst[:len(x)]
	lo, hi, finite := minMaxRow(x)
	s := (hi - lo) / MaxU8Activation
	if s == 0 || !finite || math.IsInf(float64(s), 0) {
		clear(dst)
		if !finite || s != 0 {
			return float32(math.NaN()), 0
		}
		return 0, 0
	}
	inv := 1 / s
	z := float32(math.Round(float64(-lo * inv)))
	quantU8Row(dst, x, inv, z+0.5)
	return s, int32(z)
}

// QuantizeU8Rows quantises rows × cols activations x (row r at
// x[r·cols:]) with QuantizeU8Row, row by row: row r into q[r·ldq:], its
// scale and zero point into scale[r] and zp[r]. Rows, scales and zero
// points are the same, bit for bit, as QuantizeU8Row's; on AVX2 the rows
// run in one assembly call. It panics when a dimension is negative,
// ldq < cols or a slice is too short.
func QuantizeU8Rows(q []uint8, ldq int, x []float32, rows, cols int, scale []float32, zp []int32) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("kernel.QuantizeU8Rows: negative dimension rows=%d cols=%d", rows, cols))
	}
	checkLen("kernel.QuantizeU8Rows", "Q", len(q), rows, cols, ldq)
	if len(x) < rows*cols || len(scale) < rows || len(zp) < rows {
		panic(fmt.Sprintf("kernel.QuantizeU8Rows: %d×%d rows need %d values (have %d), %d scales (have %d) and zero points (have %d)", rows, cols, rows*cols, len(x), rows, len(scale), len(zp)))
	}
	quantRows(q, ldq, x, rows, cols, scale, zp)
}

// quantRowsGo is QuantizeU8Rows one QuantizeU8Row call at a time.
func quantRowsGo(q []uint8, ldq int, x []float32, rows, cols int, scale []float32, zp []int32) {
	for r := range rows {
		scale[r], zp[r] = QuantizeU8Row(q[r*ldq:r*ldq+cols], x[r*cols:(r+1)*cols])
	}
}

// minMaxPortable returns min(0, x...), max(0, x...) and whether every x
// is finite (no NaN, no infinity); lo and hi mean nothing when it is not.
func minMaxPortable(x []float32) (lo, hi float32, finite bool) {
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
		if ^math.Float32bits(v)&0x7f800000 == 0 { // exponent all ones

			return lo, hi, false
		}
	}
	return lo, hi, true
}

// quantU8Portable writes dst[i] = clamp(int32(float32(x[i]·inv) + off),
// 0, 127); the conversion keeps the multiply and the add rounded apart.
func quantU8Portable(dst []uint8, x []float32, inv, off float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		t := int32(float32(v*inv) + off)
		if t > MaxU8Activation {
			t = MaxU8Activation
		}
		if t < 0 {
			t = 0
		}
		dst[i] = uint8(t)
	}
}

// DequantI32Rows turns rows×n GemmU8I8 sums back into float32: y[r·ldy
// + j] = float32(c[r·ldc + j] − zp[r]·wsum[j])·(sa[r]·sw[j]), plus b[j]
// when b is not nil, then 0 in place of a negative result when relu is
// set (NaN and −0 pass unchanged), for r < rows and j < n. Here zp[r] and
// sa[r] are row r's zero point and scale (QuantizeU8Rows), wsum[j] the
// sum of weight row j and sw[j] its scale. The int32 product and
// difference wrap; the multiplies and the add round separately, never
// fused, so that every implementation gives the same bits. It panics
// when a dimension is negative, a stride is too small or a slice too
// short.
func DequantI32Rows(y []float32, ldy int, c []int32, ldc int, rows, n int, zp []int32, sa []float32, wsum []int32, sw, b []float32, relu bool) {
	if rows < 0 || n < 0 {
		panic(fmt.Sprintf("kernel.DequantI32Rows: negative dimension rows=%d n=%d", rows, n))
	}
	checkLen("kernel.DequantI32Rows", "Y", len(y), rows, n, ldy)
	checkLen("kernel.DequantI32Rows", "C", len(c), rows, n, ldc)
	if len(zp) < rows || len(sa) < rows || len(wsum) < n || len(sw) < n || (b != nil && len(b) < n) {
		panic(fmt.Sprintf("kernel.DequantI32Rows: %d rows of %d need %d zero points (have %d) and scales (have %d), %d weight sums (have %d), scales (have %d) and biases (have %d)", rows, n, rows, len(zp), len(sa), n, len(wsum), len(sw), len(b)))
	}
	if rows == 0 || n == 0 {
		return
	}
	if b != nil {
		b = b[:n]
	}
	dequantRows(y, ldy, c, ldc, rows, n, zp, sa, wsum[:n], sw[:n], b, relu)
}

// dequantRowsGo is DequantI32Rows one dequantPortable row at a time.
func dequantRowsGo(y []float32, ldy int, c []int32, ldc int, rows, n int, zp []int32, sa []float32, wsum []int32, sw, b []float32, relu bool) {
	for r := range rows {
		dequantPortable(y[r*ldy:r*ldy+n], c[r*ldc:r*ldc+n], wsum, zp[r], sa[r], sw, b, relu)
	}
}

// dequantPortable is the portable twin of one row of DequantI32Rows.
func dequantPortable(y []float32, c, wsum []int32, zp int32, sa float32, sw, b []float32, relu bool) {
	c, wsum, sw = c[:len(y)], wsum[:len(y)], sw[:len(y)]
	for j := range y {
		v := float32(float32(c[j]-zp*wsum[j]) * (sa * sw[j]))
		if b != nil {
			v += b[j]
		}
		if relu && v < 0 {
			v = 0
		}
		y[j] = v
	}
}
