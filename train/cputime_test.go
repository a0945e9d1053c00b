package train

import (
	"time"

	"github.com/shoshin-ml/shoshin/internal/cputime"
)

// processCPU returns the process's CPU time, all threads together, or false
// where it cannot be read: on a shared machine it is steadier than wall time.
func processCPU() (time.Duration, bool) {
	d := cputime.Process()
	return d, d > 0
}
