package parallel

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/stretchr/testify/require"
)

// cover runs For and checks that every index is visited exactly once.
func cover(t *testing.T, n, grain int) {
	t.Helper()
	hits := make([]int32, n)
	For(n, grain, func(lo, hi int) {
		require.LessOrEqual(t, 0, lo)
		require.Less(t, lo, hi)
		require.LessOrEqual(t, hi, n)
		for i := lo; i < hi; i++ {
			atomic.AddInt32(&hits[i], 1)
		}
	})
	for i, h := range hits {
		require.Equal(t, int32(1), h, "index %d of %d (grain %d)", i, n, grain)
	}
}

func TestForCovers(t *testing.T) {
	defer SetWorkers(SetWorkers(4))
	for _, tc := range []struct{ n, grain int }{{0, 1}, {1, 1}, {2, 1}, {7, 2}, {100, 1}, {100, 0}, {100, 99}, {1000, 7}, {5, 10}} {
		t.Run(fmt.Sprintf("n=%d/grain=%d", tc.n, tc.grain), func(t *testing.T) { cover(t, tc.n, tc.grain) })
	}
}

func TestForNestedAndConcurrent(t *testing.T) {
	defer SetWorkers(SetWorkers(3))
	var wg sync.WaitGroup
	var total atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				For(10, 1, func(lo, hi int) {
					For(10, 1, func(lo2, hi2 int) { // runs inline: pool busy
						total.Add(int64((hi - lo) * (hi2 - lo2)))
					})
				})
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("For deadlocked")
	}
	require.Equal(t, int64(8*20*100), total.Load())
}

func TestForPanicReachesCaller(t *testing.T) {
	defer SetWorkers(SetWorkers(2))
	require.PanicsWithValue(t, "boom", func() {
		For(100, 1, func(lo, hi int) {
			if lo > 0 {
				panic("boom")
			}
		})
	})
	cover(t, 50, 1) // the pool still works afterwards
}

func TestSetWorkersNoLeak(t *testing.T) {
	prev := SetWorkers(0)
	defer SetWorkers(prev)
	base := runtime.NumGoroutine()
	for _, w := range []int{1, 4, 2, 8, 3} {
		SetWorkers(w)
		require.Equal(t, w, Workers())
		cover(t, 64, 1)
	}
	SetWorkers(1)
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= base },
		5*time.Second, 10*time.Millisecond, "worker goroutines left running")
	SetWorkers(0)
	require.Equal(t, runtime.GOMAXPROCS(0), Workers())
}

func ExampleFor() {
	x := make([]float64, 10000)
	For(len(x), 1024, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x[i] = float64(i) * 2
		}
	})
	fmt.Println(x[9999])
	// Output: 19998
}

// TestForAllocatesNothing guards the training step's budget: a For call
// that spreads over the pool reuses the pool's job record.
func TestForAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	defer SetWorkers(SetWorkers(2))
	var total atomic.Int64
	fn := func(lo, hi int) { total.Add(int64(hi - lo)) }
	For(64, 1, fn) // start the pool
	allocs := testalloc.PerRun(100, func() { For(64, 1, fn) })
	require.Zero(t, allocs)
	require.Equal(t, int64(64*102), total.Load())
}

// TestForFollowsGOMAXPROCS checks that a change of GOMAXPROCS after
// start-up (go test -cpu 1) resizes the pool at the next call: with one
// processor the whole range is one call on the caller's goroutine.
func TestForFollowsGOMAXPROCS(t *testing.T) {
	defer SetWorkers(SetWorkers(0))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{2, 1, 3} {
		runtime.GOMAXPROCS(procs)
		require.Equal(t, procs, Workers())
		var calls atomic.Int32
		For(300, 1, func(lo, hi int) { calls.Add(1) })
		require.Equal(t, int32(procs), calls.Load(), "GOMAXPROCS %d", procs)
	}
}
