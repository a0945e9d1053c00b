// Package parallel runs loops across one persistent pool of worker
// goroutines, sized by GOMAXPROCS unless SetWorkers fixes it.
//
// For splits [0, n) into chunks and runs them on the pool with the caller
// taking part. Small loops, nested calls and calls made while the pool is
// busy run on the caller's goroutine, so For never deadlocks and is safe to
// call from many goroutines at once. An idle worker polls for the next
// job for a short while (spinWait, 50µs) before it blocks, so that loops
// that follow each other closely do not each wait for a worker to wake:
//
//	parallel.For(len(x), 4096, func(lo, hi int) {
//		for i := lo; i < hi; i++ {
//			x[i] *= 2
//		}
//	})
package parallel
