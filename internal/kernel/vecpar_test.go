package kernel

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/internal/testalloc"
)

// TestVectorKernelsParallel runs the element-wise kernels on slices long
// enough to be split across two workers, checks every chunk against the
// portable kernels, and checks that, once the task pool is warm, handing
// a kernel to the workers allocates nothing.
func TestVectorKernelsParallel(t *testing.T) {
	prev := parallel.SetWorkers(2)
	defer parallel.SetWorkers(prev)
	const n = parallelElems*2 + 3
	rng := rand.New(rand.NewPCG(7, 8))
	x, y := randSlice(rng, n), randSlice(rng, n)
	got, want := make([]float32, n), make([]float32, n)
	check := func(name string, run, ref func()) {
		t.Helper()
		run()
		ref()
		require.InDeltaSlice(t, want, got, 1e-6, name) // Axpy may fuse its multiply-add
		if !raceEnabled {
			require.Zero(t, testalloc.PerRun(5, run), "%s allocations", name)
		}
	}
	check("Add", func() { Add(got, x, y) }, func() { addPortable(want, x, y) })
	check("Mul", func() { Mul(got, x, y) }, func() { mulPortable(want, x, y) })
	check("Relu", func() { Relu(got, x) }, func() { reluPortable(want, x) })
	check("Scale", func() { copy(got, x); Scale(-1.5, got) }, func() { copy(want, x); scalePortable(-1.5, want) })
	check("Axpy", func() { copy(got, y); Axpy(0.75, x, got) }, func() { copy(want, y); axpyPortable(0.75, x, want) })
	// Exp, GELU and GELUGrad are checked for their allocations only: their
	// accuracy against the portable twins is TestVectorKernelsMatchPortable's
	// and the GELU tests' business.
	for name, run := range map[string]func(){
		"Exp":      func() { Exp(got, x) },
		"GELU":     func() { GELU(got, x) },
		"GELUGrad": func() { GELUGrad(got, x, y) },
	} {
		run()
		for i := range got {
			require.False(t, got[i] != got[i] && x[i] == x[i], "%s: NaN at %d", name, i)
		}
		if !raceEnabled {
			require.Zero(t, testalloc.PerRun(5, run), "%s allocations", name)
		}
	}
}
