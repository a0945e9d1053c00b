// Package testalloc measures allocations in tests without the garbage
// collector in the way.
//
// testing.AllocsPerRun counts every allocation made while f runs. When a
// collection happens in the middle, it empties the sync.Pools that kernels,
// arenas and Predict keep their scratch in, and refilling them is counted
// as if f had allocated: a test that expects zero then fails now and then.
// PerRun switches the collector off for the measurement, so it counts only
// what f itself allocates.
package testalloc

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// PerRun is testing.AllocsPerRun(runs, f) with the garbage collector off
// while it runs (and back to its previous setting afterwards). It collects
// once first, so the heap does not grow from garbage left by earlier tests.
func PerRun(runs int, f func()) float64 {
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	return testing.AllocsPerRun(runs, f)
}
