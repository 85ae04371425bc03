//go:build !race

package channels

// This file is a data race on purpose: the SyncPlain variant of the litmus
// tests reads and writes ordinary fields from two goroutines with nothing
// ordering them, to show what the hardware does with such code. The race
// detector would (correctly) report it, so the file is left out of -race
// builds; Syncs then omits SyncPlain and Litmus rejects it.

const plainBuilt = true

func plainVariant(l LitmusTest) (variant, bool) {
	if l == LitmusSB {
		return variant{t0: sbPlain0, t1: sbPlain1, reset: resetXY}, true
	}
	return variant{t0: mpPlain0, t1: mpPlain1, reset: resetXY}, true
}

func sbPlain0(s *slot) uint8 {
	s.x = 1
	return uint8(s.y)
}

func sbPlain1(s *slot) uint8 {
	s.y = 1
	return uint8(s.x)
}

func mpPlain0(s *slot) uint8 {
	s.x = 1
	s.y = 1
	return 0
}

func mpPlain1(s *slot) uint8 {
	if s.y == 1 {
		return 2 | uint8(s.x)
	}
	return 0
}
