package cputime

import (
	"runtime"
	"testing"
	"time"
)

// spin burns CPU on the calling goroutine for about d of wall time.
func spin(d time.Duration) {
	x := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := range 1000 {
			x += i
		}
	}
	runtime.KeepAlive(x)
}

// TestCountsWork checks that both clocks move forward over a stretch of
// busy work (a clock that returned a constant, or wall time at rest,
// would not), where the platform can read them.
func TestCountsWork(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0 := Process()
	t0, ok := Thread()
	spin(20 * time.Millisecond)
	if p1 := Process(); p0 != 0 && p1 <= p0 {
		t.Errorf("process CPU time did not move over busy work: %v then %v", p0, p1)
	}
	if t1, ok1 := Thread(); ok && ok1 && t1 <= t0 {
		t.Errorf("thread CPU time did not move over busy work: %v then %v", t0, t1)
	}
}

// TestLoopReportsCPU checks that Loop runs its step once per iteration of
// the benchmark's final run and reports the CPU time as cpu-ns/op where
// the process's time can be read (a Loop that dropped the metric, or
// called the step outside b.Loop, would fail).
func TestLoopReportsCPU(t *testing.T) {
	var calls int
	r := testing.Benchmark(func(b *testing.B) {
		calls = 0
		Loop(b, func() {
			calls++
			spin(200 * time.Microsecond)
		})
	})
	if calls != r.N {
		t.Errorf("step ran %d times in a run of %d iterations", calls, r.N)
	}
	cpu, ok := r.Extra["cpu-ns/op"]
	if Process() == 0 {
		if ok {
			t.Errorf("cpu-ns/op reported (%v) where the process time cannot be read", cpu)
		}
		return
	}
	if !ok || cpu <= 0 {
		t.Errorf("cpu-ns/op = %v (reported %v) for a step that spins", cpu, ok)
	}
}
