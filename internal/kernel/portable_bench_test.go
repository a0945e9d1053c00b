package kernel

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// oldPortableImpl is the portable GEMM before the 1×6 kernel: a 4×4 tile
// whose sixteen accumulators spill on amd64, with B read in place. It is
// kept as the reference that BenchmarkMatMulPortable compares against.
var oldPortableImpl = &gemmImpl{name: "go4x4-old", mr: 4, nr: 4, kern: kernGo4x4Old, kc: 256, mc: 64, nc: 1024}

// BenchmarkMatMulPortable runs the portable GEMM and its predecessor on the
// same shapes in the same process, so that their ratio survives a noisy
// machine better than figures taken in separate runs.
func BenchmarkMatMulPortable(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range matMulShapes[:5] {
		a := randSlice(rng, s.m*s.k)
		bm := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		for _, im := range []*gemmImpl{oldPortableImpl, portableImpl} {
			b.Run(s.name+"/"+im.name, func(b *testing.B) {
				for b.Loop() {
					gemmWith(im, false, false, s.m, s.n, s.k, 1, a, s.k, bm, s.n, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestOldPortableKernel keeps the reference kernel honest: a benchmark
// against a wrong kernel would mean nothing.
func TestOldPortableKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	g := newGemmCase(rng, false, true, 37, 29, 70, 1, 1, 0.5)
	g.check(t, oldPortableImpl.name, func(c []float32) {
		gemmWith(oldPortableImpl, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
	})
}

// kernGo4x4Old is the former portable micro-kernel.
func kernGo4x4Old(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	pa, pb := unsafe.Pointer(a), unsafe.Pointer(b)
	ra := uintptr(rsA) * 4
	for p := 0; p < k; p++ {
		ap := unsafe.Add(pa, p*csA*4)
		bv := (*[4]float32)(unsafe.Add(pb, p*csB*4))
		a0 := *(*float32)(ap)
		a1 := *(*float32)(unsafe.Add(ap, ra))
		a2 := *(*float32)(unsafe.Add(ap, 2*ra))
		a3 := *(*float32)(unsafe.Add(ap, 3*ra))
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	rows := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	pc := unsafe.Pointer(c)
	for r := range rows {
		cr := (*[4]float32)(unsafe.Add(pc, r*ldc*4))
		if beta == 0 {
			for j := range cr {
				cr[j] = alpha * rows[r][j]
			}
		} else {
			for j := range cr {
				cr[j] = alpha*rows[r][j] + beta*cr[j]
			}
		}
	}
}
