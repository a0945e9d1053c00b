// Package parallel runs loops across a persistent pool of worker goroutines.
package parallel

import (
	"runtime"
	"sync"
)

// For calls fn on disjoint chunks [lo, hi) that cover [0, n). Chunks hold at
// least grain iterations; when n is not larger than grain, fn runs once on
// the caller's goroutine. For returns after every chunk has finished.
func For(n, grain int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if grain < 1 {
		grain = 1
	}
	if n <= grain || workers == 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	chunks := min(workers, (n+grain-1)/grain)
	size := (n + chunks - 1) / chunks
	var wg sync.WaitGroup
	for lo := size; lo < n; lo += size {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+size, n))
	}
	fn(0, min(size, n))
	wg.Wait()
}
