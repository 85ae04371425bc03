//go:build !unix

package stack

import "errors"

func mapShared(path string, size int) ([]byte, error) {
	return nil, errors.New("stack: MaxDepth with ModelGo needs mmap, which this system does not offer through package syscall")
}
