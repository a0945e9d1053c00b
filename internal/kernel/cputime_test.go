package kernel

import "github.com/shoshin-ml/shoshin/internal/cputime"

// cpuTime is the process's CPU time (0 where it cannot be read): on a
// shared machine it is steadier than the wall time a benchmark waited.
var cpuTime = cputime.Process

// threadCPU is the calling thread's CPU time, or false where it cannot be
// read.
var threadCPU = cputime.Thread
