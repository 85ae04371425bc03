//go:build race

package stack

// raceEnabled: the race detector makes frames larger and a 512 MiB stack
// costly in shadow memory, so the largest recursion is skipped under it.
const raceEnabled = true
