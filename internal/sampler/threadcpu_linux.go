package sampler

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time (user + system) of the calling OS thread.
// The caller must be locked to its thread (runtime.LockOSThread) for the
// figure to mean anything.
func threadCPU() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD, Linux 2.6.26+
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
