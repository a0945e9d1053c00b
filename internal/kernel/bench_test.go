package kernel

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// matMulShapes are the benchmarked m×k·k×n products, named m x k x n.
var matMulShapes = []struct {
	name           string
	m, k, n        int
	transA, transB bool
}{
	{"128x128x128", 128, 128, 128, false, false},
	{"256x256x256", 256, 256, 256, false, false},
	{"512x512x512", 512, 512, 512, false, false},
	{"1024x1024x1024", 1024, 1024, 1024, false, false},
	{"64x784x128", 64, 784, 128, false, false}, // MLP forward, first layer
	{"64x128x10", 64, 128, 10, false, false},   // MLP forward, last layer
	{"784x64x128", 784, 64, 128, true, false},  // weight gradient: Xᵀ·dY
	{"64x128x784", 64, 128, 784, false, true},  // input gradient: dY·Wᵀ
	{"1x784x128", 1, 784, 128, false, false},   // batch-1 inference
	{"1x128x784T", 1, 128, 784, false, true},   // batch-1 with [out,in] weight
	// The flagship MLP's step as autograd.Linear runs it (W is [out, in]).
	{"64x784x128T", 64, 784, 128, false, true},  // forward, first layer: X·W1ᵀ
	{"128x64x784TA", 128, 64, 784, true, false}, // weight gradient: dYᵀ·X
	{"64x128x10T", 64, 128, 10, false, true},    // forward, last layer: H·W2ᵀ
	{"10x64x128TA", 10, 64, 128, true, false},   // weight gradient of the last layer
	{"64x10x128", 64, 10, 128, false, false},    // input gradient of the last layer: dY·W2
	{"128x64x10TA", 128, 64, 10, true, false},   // weight gradient, W2 as [in, out]: Hᵀ·dY
	{"64x10x128T", 64, 10, 128, false, true},    // input gradient, W2 as [in, out]: dY·W2ᵀ
	// Every transpose combination at N = 512 and 1024 (TN: op(A) = Aᵀ).
	{"512TN", 512, 512, 512, true, false},
	{"512NT", 512, 512, 512, false, true},
	{"512TT", 512, 512, 512, true, true},
	{"1024TN", 1024, 1024, 1024, true, false},
	{"1024NT", 1024, 1024, 1024, false, true},
	{"1024TT", 1024, 1024, 1024, true, true},
}

func BenchmarkMatMul(b *testing.B) {
	b.Logf("GEMM kernel %s", GemmImpl()) // bench/run.sh reports the path
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range matMulShapes {
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		a := randSlice(rng, s.m*s.k)
		bm := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			// With one worker GEMM runs on this goroutine, locked to its
			// thread, so the thread's CPU time is the work's (cpuGFLOP/s:
			// steady on a shared machine, where wall time is not).
			single := parallel.Workers() == 1
			if single {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			cpu0, cpuOK := threadCPU()
			proc0 := cpuTime()
			for b.Loop() {
				Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
			}
			cpu1, _ := threadCPU()
			proc1 := cpuTime()
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if single && cpuOK && cpu1 > cpu0 {
				b.ReportMetric(flops*float64(b.N)/(cpu1-cpu0).Seconds()/1e9, "cpuGFLOP/s")
			}
			if !single && proc1 > proc0 {
				// The whole process's CPU time: against one worker's
				// cpuGFLOP/s, what the other workers cost (packing done
				// twice, waiting, spinning), which wall time on a
				// shared machine hides.
				b.ReportMetric(flops*float64(b.N)/(proc1-proc0).Seconds()/1e9, "procGFLOP/s")
			}
		})
	}
}

var vecSizes = []int{64, 1024, 65536}

func benchVec(b *testing.B, name string, fn func(dst, x, y []float32)) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range vecSizes {
		x, y, dst := randSlice(rng, n), randSlice(rng, n), make([]float32, n)
		b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(4 * n))
			for b.Loop() {
				fn(dst, x, y)
			}
		})
	}
}

var sink float32

func BenchmarkVec(b *testing.B) {
	benchVec(b, "Axpy", func(dst, x, y []float32) { Axpy(0.5, x, dst) })
	benchVec(b, "Scale", func(dst, x, y []float32) { Scale(1.0001, dst) })
	benchVec(b, "Dot", func(dst, x, y []float32) { sink = Dot(x, y) })
	benchVec(b, "Sum", func(dst, x, y []float32) { sink = Sum(x) })
	benchVec(b, "Max", func(dst, x, y []float32) { sink = Max(x) })
	benchVec(b, "Add", func(dst, x, y []float32) { Add(dst, x, y) })
	benchVec(b, "Mul", func(dst, x, y []float32) { Mul(dst, x, y) })
	benchVec(b, "Relu", func(dst, x, y []float32) { Relu(dst, x) })
	benchVec(b, "Exp", func(dst, x, y []float32) { Exp(dst, x) })
	benchVec(b, "ExpPortable", func(dst, x, y []float32) { expPortable(dst, x) })
}

// BenchmarkMatMulPacking compares the packing policies on each shape.
func BenchmarkMatMulPacking(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	defer func() { packMode = packAuto }()
	for _, s := range matMulShapes {
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		a := randSlice(rng, s.m*s.k)
		bm := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		for _, mode := range []int{packNever, packAlways, packOnlyA, packOnlyB} {
			b.Run(fmt.Sprintf("%s/pack%d", s.name, mode), func(b *testing.B) {
				packMode = mode
				for b.Loop() {
					Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// lmShapes are the products of a language model's training step at 4096
// tokens (and at 2048, one share of a batch split in two), model width 128 (attention's QKV 384 wide, the MLP's 512): the
// forward products X·W, the input gradients dY·Wᵀ and the weight
// gradients Xᵀ·dY over all tokens.
var lmShapes = []struct {
	name           string
	m, k, n        int
	transA, transB bool
}{
	{"4096x128x384", 4096, 128, 384, false, false},
	{"4096x128x128", 4096, 128, 128, false, false},
	{"4096x128x512", 4096, 128, 512, false, false},
	{"4096x512x128", 4096, 512, 128, false, false},
	{"4096x384x128T", 4096, 384, 128, false, true},
	{"4096x512x128T", 4096, 512, 128, false, true},
	{"4096x128x512T", 4096, 128, 512, false, true},
	{"128x4096x384TA", 128, 4096, 384, true, false},
	{"128x4096x512TA", 128, 4096, 512, true, false},
	{"512x4096x128TA", 512, 4096, 128, true, false},
	// One share of a batch split in two (2048 tokens each).
	{"2048x128x384", 2048, 128, 384, false, false},
	{"2048x128x128", 2048, 128, 128, false, false},
	{"2048x128x512", 2048, 128, 512, false, false},
	{"2048x512x128", 2048, 512, 128, false, false},
	{"2048x384x128T", 2048, 384, 128, false, true},
	{"2048x512x128T", 2048, 512, 128, false, true},
	{"2048x128x512T", 2048, 128, 512, false, true},
	{"128x2048x384TA", 128, 2048, 384, true, false},
	{"128x2048x512TA", 128, 2048, 512, true, false},
	{"512x2048x128TA", 512, 2048, 128, true, false},
	{"128x2048x128TA", 128, 2048, 128, true, false},
	{"384x2048x128TA", 384, 2048, 128, true, false},
}

// BenchmarkMatMulLM reports, beside wall time, the process CPU time per
// product (cpu-ns/op): with -cpu 1,2 their ratio is the CPU the second
// worker costs (packing done twice, waiting, spinning), which wall time on
// a shared machine hides.
func BenchmarkMatMulLM(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range lmShapes {
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		a := randSlice(rng, s.m*s.k)
		bm := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		b.Run(s.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
			}
			cpu1 := cpuTime()
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if cpu1 > cpu0 {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// BenchmarkSmallGemmAttn times SmallGemmBand on the products of one
// causal self-attention head of 128 queries and keys, 32 wide, in row
// blocks of 32 (as autograd computes them): the scores q·kᵀ of each
// block's two halves over the keys they see, and P·V over them with the
// causal band. It reports process CPU time per head (cpu-ns/op).
func BenchmarkSmallGemmAttn(b *testing.B) {
	const t, d, blk, ld = 128, 32, 32, 128 + 16
	rng := rand.New(rand.NewPCG(1, 2))
	q, kt, v := randSlice(rng, t*d), randSlice(rng, d*ld), randSlice(rng, t*d)
	sc, o := make([]float32, t*ld), make([]float32, t*d)
	b.Run("scores", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			for i0 := 0; i0 < t; i0 += blk {
				kn := i0 + blk
				SmallGemm(blk/2, kn-blk/2, d, 1, q[i0*d:], d, 1, kt, ld, 0, sc[i0*ld:], ld)
				SmallGemm(blk/2, kn, d, 1, q[(i0+blk/2)*d:], d, 1, kt, ld, 0, sc[(i0+blk/2)*ld:], ld)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	})
	b.Run("pv", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			for i0 := 0; i0 < t; i0 += blk {
				kn := i0 + blk
				SmallGemmBand(blk, d, kn, -blk, i0+1, 1, sc[i0*ld:], ld, 1, v, d, 0, o[i0*d:], d)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	})
}
