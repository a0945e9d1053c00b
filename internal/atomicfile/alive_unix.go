//go:build unix

package atomicfile

import (
	"errors"
	"syscall"
)

// alive reports whether a process with this pid exists. When in doubt it
// says yes, so that a temporary is never taken from a live writer.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return !errors.Is(err, syscall.ESRCH)
}
