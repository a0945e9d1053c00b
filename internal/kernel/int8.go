package kernel

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// MaxU8Activation is the largest activation GemmU8I8 accepts. The AVX2
// kernel adds adjacent u8·s8 products into int16 with VPMADDUBSW, which
// saturates at ±32767: with activations at most 127 a pair is at most
// 2·127·128 = 32512 in magnitude, so every sum stays exact (PyTorch's
// "reduce_range" makes the same choice on x86).
const MaxU8Activation = 127

// int8Impl is one implementation of the int8 dot-product block kernels.
// k1 and k2 compute a 1×4 and a 2×4 block over a multiple of step bytes.
type int8Impl struct {
	name   string
	step   int
	k1, k2 func(k int, a *uint8, lda int, w *int8, ldw int, c *int32, ldc int)
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
	// Split rows in pairs (the 2-row kernel) across workers.
	pairs := (m + 1) / 2
	grain := max(1, int8ParallelWork/(2*n*k+1))
	parallel.For(pairs, grain, func(lo, hi int) {
		gemmU8I8Rows(im, 2*lo, min(2*hi, m), n, k, a, lda, w, ldw, c, ldc)
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

// gemmU8I8Rows computes rows [i0, i1) of C with im. The kernels take the
// 4-column blocks over the multiple-of-step prefix of k; the portable twin
// adds the k tail and computes the last n mod 4 columns.
func gemmU8I8Rows(im *int8Impl, i0, i1, n, k int, a []uint8, lda int, w []int8, ldw int, c []int32, ldc int) {
	kk, nn := 0, 0
	if im.step > 0 {
		kk, nn = k/im.step*im.step, n&^3
	}
	if kk == 0 {
		nn = 0
	}
	i := i0
	for ; i < i1; i += 2 {
		rows := min(2, i1-i)
		for j := 0; j < nn; j += 4 {
			if rows == 2 {
				im.k2(kk, &a[i*lda], lda, &w[j*ldw], ldw, &c[i*ldc+j], ldc)
			} else {
				im.k1(kk, &a[i*lda], lda, &w[j*ldw], ldw, &c[i*ldc+j], ldc)
			}
		}
		for r := i; r < i+rows; r++ {
			ar := a[r*lda : r*lda+k]
			cr := c[r*ldc : r*ldc+n]
			for j := 0; j < nn; j++ {
				cr[j] += dotU8I8(ar[kk:], w[j*ldw+kk:j*ldw+k])
			}
			for j := nn; j < n; j++ {
				cr[j] = dotU8I8(ar, w[j*ldw:j*ldw+k])
			}
		}
	}
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
