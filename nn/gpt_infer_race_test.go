//go:build race

package nn

// raceDetector is set when the tests run with -race, under which
// sync.Pool drops items at random and allocation counts mean nothing.
const raceDetector = true
