package testalloc

import (
	"runtime/debug"
	"testing"
)

var sink []byte

// TestPerRunCollectorOff checks the point of PerRun: while f runs the
// collector is off (so no collection can empty a pool mid-measurement),
// and afterwards it is back to its previous setting.
func TestPerRunCollectorOff(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	var during []int
	PerRun(3, func() {
		during = append(during, debug.SetGCPercent(-1)) // reads the setting, keeps it off
	})
	for i, g := range during {
		if g != -1 {
			t.Fatalf("run %d: GOGC was %d while f ran, want -1 (off)", i, g)
		}
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("PerRun left GOGC at %d, want it restored to 100", got)
	}
}

// TestPerRunCounts checks that PerRun still counts what f allocates.
func TestPerRunCounts(t *testing.T) {
	if got := PerRun(50, func() { sink = make([]byte, 64) }); got != 1 {
		t.Fatalf("PerRun = %v, want 1", got)
	}
}
