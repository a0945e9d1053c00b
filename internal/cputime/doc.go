// Package cputime reads the CPU time a process or a thread has used, for
// benchmarks that run on machines shared with other work: there the CPU
// time a benchmark spends is far steadier than its wall time, which also
// counts the slices given to other processes. Where the time cannot be
// read, the functions say so and benchmarks report wall time only.
package cputime
