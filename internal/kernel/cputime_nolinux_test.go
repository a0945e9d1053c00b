//go:build !linux

package kernel

import "time"

// threadCPU cannot read a thread's CPU time here: benchmarks report wall
// time only.
func threadCPU() (time.Duration, bool) { return 0, false }
