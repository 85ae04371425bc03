//go:build race

package alloc

// raceEnabled: the race detector turns off tiny-block packing and makes
// sync.Pool drop objects at random.
const raceEnabled = true
