//go:build race

package kernel

// raceEnabled trims the slowest tests under the race detector.
const raceEnabled = true
