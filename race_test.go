//go:build race

package rtlab

// raceEnabled: this test binary is built with the race detector.
const raceEnabled = true
