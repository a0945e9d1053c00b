//go:build !linux

package cputime

import "time"

// Thread returns false: a thread's CPU time is not read on this platform.
func Thread() (time.Duration, bool) { return 0, false }
