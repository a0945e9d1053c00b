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

// int8Impl is one implementation of the int8 dot-product block kernels.
// k1, k2 and k4 compute a 1×4, 2×4 and 4×4 block over a multiple of
// step bytes; k4 may be nil.
type int8Impl struct {
	name       string
	step       int
	k1, k2, k4 func(k int, a *uint8, lda int, w *int8, ldw int, c *int32, ldc int)
}

// int8Portable is the pure-Go implementation: whole rows, no kernels.
var int8Portable = &int8Impl{name: "go"}

// int8Active is the implementation GemmU8I8 uses.
var int8Active = int8Impls()[0]

// Int8Impl returns the name of the int8 kernel GemmU8I8 uses on this
// machine: "vnni" (AVX-512 VPDPBUSD), "avx2" (VPMADDUBSW) or "go".
func Int8Impl() string { return int8Active.name }

// int8ParallelWork is the m·n·k below which GemmU8I8 stays on the
// caller's goroutine.
const int8ParallelWork = 1 << 20

// GemmU8I8 computes C = A·Wᵀ exactly in int32: C[i·ldc+j] = Σ_p
// A[i·lda+p]·W[j·ldw+p] for i < m, j < n, p < k, overwriting C. A holds m
// rows of k unsigned activations, each at most MaxU8Activation (larger
// values may saturate on AVX2 and give machine-dependent sums); W holds n
// rows of k signed weights, any int8 including −128, as a Dense layer
// stores its [out, in] weight. Every implementation returns the same
// sums, bit for bit. GemmU8I8 panics when a dimension is negative, a
// stride is too small or a slice is too short.
func GemmU8I8(m, n, k int, a []uint8, lda int, w []int8, ldw int, c []int32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernel.GemmU8I8: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	checkLen("A", len(a), m, k, lda)
	checkLen("W", len(w), n, k, ldw)
	checkLen("C", len(c), m, n, ldc)
	if m == 0 || n == 0 {
		return
	}
	im := int8Active
	if m*n*k < int8ParallelWork {
		gemmU8I8Rows(im, 0, m, n, k, a, lda, w, ldw, c, ldc)
		return
	}
	// Split rows in groups of four (the tallest kernel) across workers.
	groups := (m + 3) / 4
	grain := max(1, int8ParallelWork/(4*n*k+1))
	parallel.For(groups, grain, func(lo, hi int) {
		gemmU8I8Rows(im, 4*lo, min(4*hi, m), n, k, a, lda, w, ldw, c, ldc)
	})
}

func checkLen(name string, have, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("kernel.GemmU8I8: ld%s = %d is smaller than the %d columns of %s", name, ld, cols, name))
	}
	if rows > 0 && cols > 0 && have < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernel.GemmU8I8: %s holds %d elements, need %d for %d×%d with stride %d", name, have, (rows-1)*ld+cols, rows, cols, ld))
	}
}

// gemmU8I8Rows computes rows [i0, i1) of C with im. The kernels take
// blocks of 4 (when the implementation has them), 2 or 1 rows by 4 columns over the multiple-of-step prefix of
// k, reading A and W in place. What does not fill a whole block is copied
// into zero-padded scratch first: the k tail (padded to one step) and the
// last n mod 4 rows of W (padded to four rows). A zero byte adds nothing,
// so the sums stay exact.
func gemmU8I8Rows(im *int8Impl, i0, i1, n, k int, a []uint8, lda int, w []int8, ldw int, c []int32, ldc int) {
	if im.step == 0 {
		for i := i0; i < i1; i++ {
			ar := a[i*lda : i*lda+k]
			for j := range n {
				c[i*ldc+j] = dotU8I8(ar, w[j*ldw:j*ldw+k])
			}
		}
		return
	}
	step := im.step
	kk := k / step * step
	tail := k - kk
	nb := (n + 3) / 4 // column blocks
	// wTail holds, per column block, four rows of step bytes: the k tail
	// of each W row, zero-padded.
	sc := int8Scratch.Get().(*int8Buf)
	defer int8Scratch.Put(sc)
	var wTail []int8
	if tail > 0 {
		wTail = sc.i8(&sc.wTail, nb*4*step)
		for j := range n {
			copy(wTail[j*step:j*step+tail], w[j*ldw+kk:j*ldw+k])
		}
	}
	// wEdge holds the last n mod 4 rows of W's prefix, padded to four.
	var wEdge []int8
	if n%4 != 0 && kk > 0 {
		wEdge = sc.i8(&sc.wEdge, 4*kk)
		for j := n &^ 3; j < n; j++ {
			r := j - n&^3
			copy(wEdge[r*kk:(r+1)*kk], w[j*ldw:j*ldw+kk])
		}
	}
	var aTail []uint8
	if tail > 0 {
		aTail = make([]uint8, 4*step) // small: stays on the stack
	}
	var blk, blk2 [16]int32
	for i := i0; i < i1; {
		rows, kern := 1, im.k1
		switch {
		case i1-i >= 4 && im.k4 != nil:
			rows, kern = 4, im.k4
		case i1-i >= 2:
			rows, kern = 2, im.k2
		}
		if tail > 0 {
			for r := range rows {
				copy(aTail[r*step:r*step+tail], a[(i+r)*lda+kk:(i+r)*lda+k])
			}
		}
		for jb := range nb {
			j := 4 * jb
			cols := min(4, n-j)
			blk = [16]int32{}
			if kk > 0 {
				if cols == 4 {
					kern(kk, &a[i*lda], lda, &w[j*ldw], ldw, &blk[0], 4)
				} else {
					kern(kk, &a[i*lda], lda, &wEdge[0], kk, &blk[0], 4)
				}
			}
			if tail > 0 {
				kern(step, &aTail[0], step, &wTail[jb*4*step], step, &blk2[0], 4)
				for x := range blk {
					blk[x] += blk2[x]
				}
			}
			for r := range rows {
				copy(c[(i+r)*ldc+j:(i+r)*ldc+j+cols], blk[4*r:4*r+cols])
			}
		}
		i += rows
	}
}

// int8Buf is reusable scratch for gemmU8I8Rows.
type int8Buf struct{ wTail, wEdge []int8 }

var int8Scratch = sync.Pool{New: func() any { return new(int8Buf) }}

// i8 returns *b resized to n zeroed bytes, reallocating only to grow.
func (*int8Buf) i8(b *[]int8, n int) []int8 {
	if cap(*b) < n {
		*b = make([]int8, n)
	}
	*b = (*b)[:n]
	clear(*b)
	return *b
}

// dotU8I8 is the portable twin of the kernels: Σ a[p]·w[p] in int32.
func dotU8I8(a []uint8, w []int8) int32 {
	w = w[:len(a)]
	var s0, s1, s2, s3 int32
	p := 0
	for ; p+4 <= len(a); p += 4 {
		s0 += int32(a[p]) * int32(w[p])
		s1 += int32(a[p+1]) * int32(w[p+1])
		s2 += int32(a[p+2]) * int32(w[p+2])
		s3 += int32(a[p+3]) * int32(w[p+3])
	}
	for ; p < len(a); p++ {
		s0 += int32(a[p]) * int32(w[p])
	}
	return s0 + s1 + s2 + s3
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
	lo, hi, nan := minMaxRow(x)
	s := (hi - lo) / MaxU8Activation
	if s == 0 || nan != 0 || math.IsInf(float64(s), 0) {
		clear(dst)
		if nan != 0 || s != 0 {
			return float32(math.NaN()), 0
		}
		return 0, 0
	}
	inv := 1 / s
	z := float32(math.Round(float64(-lo * inv)))
	quantU8Row(dst, x, inv, z+0.5)
	return s, int32(z)
}

// minMaxPortable returns min(0, x...), max(0, x...) and Σ(x−x), which is
// NaN when x holds a NaN or an infinity.
func minMaxPortable(x []float32) (lo, hi, nan float32) {
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
		nan += v - v
	}
	return lo, hi, nan
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
