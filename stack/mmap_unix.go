//go:build unix

package stack

import (
	"fmt"
	"os"
	"syscall"
)

// mapShared maps size bytes of the file at path into memory, shared with the
// file: stores land in the page cache, where they outlive the process.
func mapShared(path string, size int) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return mem, nil
}
