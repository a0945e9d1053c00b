//go:build race

package parallel

// raceEnabled skips allocation counts, which the race detector inflates.
const raceEnabled = true
