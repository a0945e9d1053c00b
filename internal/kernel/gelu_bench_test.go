package kernel

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkGELUBiasDeriv times the biased GELU with its derivative over
// rows of 512 (a GPT block's MLP, 4·128 wide), in place over pre, on the
// caller's goroutine, from data that fits in L2.
func BenchmarkGELUBiasDeriv(b *testing.B) {
	const rows, w = 64, 512
	rng := rand.New(rand.NewPCG(1, 2))
	pre, bias := randSlice(rng, rows*w), randSlice(rng, w)
	dst := make([]float32, rows*w)
	b.SetBytes(rows * w * 4)
	for b.Loop() {
		for r := 0; r < rows*w; r += w {
			geluBiasDeriv(dst[r:r+w], pre[r:r+w], pre[r:r+w], bias)
		}
		copy(pre, dst) // keep the inputs in GELU's range
	}
}
