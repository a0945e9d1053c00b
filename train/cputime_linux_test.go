//go:build linux

package train

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU returns the CPU time the process has used, all threads
// together, or false where it cannot be read. On a machine shared with
// other work it is far steadier than wall time, which counts the slices
// given to other processes.
func processCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
