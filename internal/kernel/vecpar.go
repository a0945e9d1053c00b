package kernel

import (
	"sync"

	"github.com/shoshin-ml/shoshin/internal/parallel"
)

// vecTask is an element-wise kernel handed to the worker pool, with the
// closure the pool calls bound to it once, when it is first made: the
// kernels of a training step then hand their loops on without allocating.
type vecTask struct {
	f         func(alpha float32, dst, a, b []float32)
	alpha     float32
	dst, a, b []float32
	fn        func(lo, hi int)
}

var vecTasks = sync.Pool{New: func() any {
	t := new(vecTask)
	t.fn = func(lo, hi int) { t.f(t.alpha, t.dst[lo:hi], part(t.a, lo, hi), part(t.b, lo, hi)) }
	return t
}}

// part returns s[lo:hi], or nil for an unused operand.
func part(s []float32, lo, hi int) []float32 {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}

// parallelVec runs f(alpha, dst[lo:hi], a[lo:hi], b[lo:hi]) over chunks
// of at least grain elements that cover dst, on the worker pool. a and b
// are at least as long as dst, or nil when f does not read them; f must
// be a function literal that captures nothing, so that it costs no
// allocation.
func parallelVec(grain int, f func(alpha float32, dst, a, b []float32), alpha float32, dst, a, b []float32) {
	t := vecTasks.Get().(*vecTask)
	t.f, t.alpha, t.dst, t.a, t.b = f, alpha, dst, a, b
	parallel.For(len(dst), grain, t.fn)
	t.f, t.dst, t.a, t.b = nil, nil, nil, nil // keep nothing of the caller's alive
	vecTasks.Put(t)
}
