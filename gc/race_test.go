//go:build race

package gc

// raceEnabled: the race detector keeps shadow memory beside the heap, which
// moves the process's RSS.
const raceEnabled = true
