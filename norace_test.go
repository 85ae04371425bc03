//go:build !race

package rtlab

const raceEnabled = false
