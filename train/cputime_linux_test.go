//go:build linux

package train

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time the calling thread has used, or false
// where it cannot be read. On a machine shared with other work, the CPU
// time a single-threaded benchmark spends is far steadier than its wall
// time, which counts the slices given to other processes.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
