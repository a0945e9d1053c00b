package kernel

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkGELUBiasDeriv times the biased GELU with its derivative over
// rows of 512 (a GPT block's MLP, 4·128 wide) of pre-activations drawn
// from N(0, 2²), on the caller's goroutine, from data that fits in L2. Beside the wall time it
// reports the thread's CPU time per element (cpu-ns/elem), steadier on a
// shared machine.
func BenchmarkGELUBiasDeriv(b *testing.B) {
	const rows, w = 64, 512
	rng := rand.New(rand.NewPCG(1, 2))
	pre, bias := make([]float32, rows*w), make([]float32, w)
	for i := range pre {
		pre[i] = float32(rng.NormFloat64() * 2)
	}
	dst, der := make([]float32, rows*w), make([]float32, rows*w)
	b.SetBytes(rows * w * 4)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, ok := threadCPU()
	for b.Loop() {
		for r := 0; r < rows*w; r += w {
			geluBiasDeriv(dst[r:r+w], der[r:r+w], pre[r:r+w], bias)
		}
	}
	if t1, ok1 := threadCPU(); ok && ok1 {
		b.ReportMetric(float64(t1-t0)/float64(b.N*rows*w), "cpu-ns/elem")
	}
}
