//go:build windows

package atomicfile

import (
	"errors"
	"os"
	"syscall"
)

// alive reports whether a process with this pid exists. When in doubt it
// says yes, so that a temporary is never taken from a live writer.
func alive(pid int) bool {
	p, err := os.FindProcess(pid) // opens the process
	if err != nil {
		// OpenProcess fails with ERROR_INVALID_PARAMETER when no such
		// process exists; any other failure (access denied) is doubt.
		return !errors.Is(err, syscall.Errno(87))
	}
	_ = p.Release()
	return true
}
