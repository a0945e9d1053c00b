//go:build race

package quant

// raceEnabled is set under the race detector, whose sync.Pool drops items at
// random: allocation counts are not meaningful there.
const raceEnabled = true
