package quant

import "github.com/shoshin-ml/shoshin/internal/cputime"

// cpuTime is the process's CPU time (0 where it cannot be read): on a
// shared machine it is steadier than the wall time a benchmark waited.
var cpuTime = cputime.Process
