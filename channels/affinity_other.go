//go:build !linux

package channels

import "runtime"

// pinThread locks the calling goroutine to its OS thread; binding the
// thread to a CPU is done only on Linux, so it reports false.
func pinThread(int) bool {
	runtime.LockOSThread()
	return false
}
