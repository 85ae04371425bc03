//go:build !linux

package procmem

func read(int) (Stats, error) { return Stats{}, ErrUnsupported }
