package cputime

import "testing"

// Loop runs step in b's loop (testing.B.Loop) and, where the process's CPU
// time can be read, reports it per iteration as the metric cpu-ns/op
// (user and system time of all threads: with -cpu 1, the step's own CPU
// cost, which a loaded machine disturbs less than its wall time).
func Loop(b *testing.B, step func()) {
	c0 := Process()
	for b.Loop() {
		step()
	}
	if c1 := Process(); c1 > c0 {
		b.ReportMetric(float64((c1-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
