package channels

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// pinThread locks the calling goroutine to its OS thread and binds that
// thread to the i-th CPU this process may run on, and reports whether it
// could. The goroutine must then exit without unlocking: the runtime ends a
// thread whose goroutine exits locked, so the narrowed affinity never
// reaches other goroutines.
func pinThread(i int) bool {
	runtime.LockOSThread()
	var allowed unix.CPUSet
	if unix.SchedGetaffinity(0, &allowed) != nil || allowed.Count() < 2 {
		return false
	}
	for cpu, seen := 0, 0; cpu < len(allowed)*64; cpu++ {
		if !allowed.IsSet(cpu) {
			continue
		}
		if seen == i {
			var one unix.CPUSet
			one.Set(cpu)
			return unix.SchedSetaffinity(0, &one) == nil
		}
		seen++
	}
	return false
}
