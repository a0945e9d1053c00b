//go:build unix

package train

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used, or
// false where it cannot be read. On a shared machine an epoch's CPU time
// is far steadier than its wall time, which counts other processes' slices.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
