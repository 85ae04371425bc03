//go:build !linux

package procmem

func read(int) (Stats, error) { return Stats{}, ErrUnsupported }

func fdLimit() int { return -1 }
